"""derms's own settings, read from the environment with embedded defaults
(docs/configuration.md). The platform composes them with every other part's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

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

    #: The file stores DERMS owns: its content server (NET-LOC exports, model acks out) and
    #: the store its network model exports arrive in.
    stores: ClassVar[tuple[str, ...]] = ("derms-content", "derms-model")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DermsSettings:
        notify = env.get("DERLINK_NETWORK_NOTIFY_TO")
        return cls(
            netloc_export_interval_s=number(
                env, "DERLINK_NETLOC_EXPORT_INTERVAL_S", cls.netloc_export_interval_s
            ),
            network_intake_interval_s=number(
                env, "DERLINK_NETWORK_INTAKE_INTERVAL_S", cls.network_intake_interval_s
            ),
            network_notify_to=(
                tuple(a.strip() for a in notify.split(",") if a.strip())
                if notify
                else cls.network_notify_to
            ),
        )
