"""derms's own settings, read from the environment with embedded defaults
(docs/configuration.md). The platform composes them with every other part's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from derlink.common.errors import ConfigurationError
from derlink.platform.settings import number


@dataclass(frozen=True)
class DermsSettings:
    #: Seconds between NET-LOC exports to the content server (0: never; the API and the CLI
    #: still write one on demand).
    netloc_export_interval_s: float = 86_400.0
    #: How often DERMS looks for network model exports in its model store, in seconds (0:
    #: never; the API and the CLI still run the intake on demand).
    network_intake_interval_s: float = 5.0
    #: Who hears of an entry of the model store the intake cannot take: the technical
    #: recipients.
    network_notify_to: tuple[str, ...] = ("integration-ops@utility.example",)
    #: The summed expected reduction, in MW, of the open events the balance authority checks
    #: above which an event needs its approval too.
    ba_threshold_mw: float = 100.0
    #: Who hears of an event that awaits the balance authority's approval.
    ba_notify_to: tuple[str, ...] = ("balance-authority@utility.example",)
    #: How often DERMS moves the stages whose start or end has come, and writes and sends the
    #: reservation files of the stages Scheduled since, in seconds.
    stage_interval_s: float = 5.0
    #: How far below its target (a share) a Scheduled stage's expected reduction may fall after
    #: opt-outs before DERMS raises an alert and, where the strategy allows, backfills it.
    stage_shortfall_tolerance: float = 0.05
    #: How long after a stage's end its outcomes stay open to reports, in minutes; then the
    #: devices without one are D1ND and the outcomes go to cpm and analytics.
    outcome_window_min: float = 60.0
    #: How often DERMS looks for head-end outcome files in its head-end store, in seconds (0:
    #: never; the API still runs the intake on demand).
    outcome_intake_interval_s: float = 5.0

    #: The file stores DERMS owns: its content server (NET-LOC exports, reservation and
    #: outcome files, acks out), the store its network model exports arrive in, and the store
    #: the head-end systems put their outcome files in.
    stores: ClassVar[tuple[str, ...]] = ("derms-content", "derms-model", "derms-headend")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DermsSettings:
        tolerance = number(
            env, "DERLINK_STAGE_SHORTFALL_TOLERANCE", cls.stage_shortfall_tolerance, at_least=0
        )
        if tolerance >= 1:
            raise ConfigurationError(
                f"DERLINK_STAGE_SHORTFALL_TOLERANCE must be a share below 1 (0.05 is 5 %), not "
                f"{env['DERLINK_STAGE_SHORTFALL_TOLERANCE']!r}"
            )
        return cls(
            netloc_export_interval_s=number(
                env, "DERLINK_NETLOC_EXPORT_INTERVAL_S", cls.netloc_export_interval_s
            ),
            network_intake_interval_s=number(
                env, "DERLINK_NETWORK_INTAKE_INTERVAL_S", cls.network_intake_interval_s
            ),
            network_notify_to=_addresses(env, "DERLINK_NETWORK_NOTIFY_TO", cls.network_notify_to),
            ba_threshold_mw=number(env, "DERLINK_BA_THRESHOLD_MW", cls.ba_threshold_mw),
            ba_notify_to=_addresses(env, "DERLINK_BA_NOTIFY_TO", cls.ba_notify_to),
            stage_interval_s=number(env, "DERLINK_STAGE_INTERVAL_S", cls.stage_interval_s),
            stage_shortfall_tolerance=tolerance,
            outcome_window_min=number(
                env, "DERLINK_OUTCOME_WINDOW_MIN", cls.outcome_window_min, at_least=0
            ),
            outcome_intake_interval_s=number(
                env,
                "DERLINK_OUTCOME_INTAKE_INTERVAL_S",
                cls.outcome_intake_interval_s,
                at_least=0,
            ),
        )


def _addresses(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of e-mail addresses; ``default`` when unset or blank."""
    found = tuple(a.strip() for a in env.get(name, "").split(",") if a.strip())
    return found or default
