"""The hub's own settings, read from the environment with embedded defaults
(docs/configuration.md). The platform composes them with every other part's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

from derlink.common.errors import ConfigurationError
from derlink.platform.settings import number

CpmMode = Literal["collection", "single"]


@dataclass(frozen=True)
class HubSettings:
    #: Retry policy for remote faults: attempts and first interval in seconds.
    retry_attempts: int = 5
    retry_interval_s: float = 1.0
    retry_backoff: float = 2.0
    #: How long a step waits for a database of the platform that cannot serve (seconds).
    database_patience_s: float = 300.0
    #: How often the hub looks for accepted work that no run will finish (seconds; 0: never).
    sweep_interval_s: float = 60.0
    #: When the hub reconciles cpm with DERMS: cron with seconds first, UTC (daily, 02:00).
    reconcile_cron: str = "0 0 2 * * *"
    #: When the file flows list their sources: cron with seconds first, UTC (every minute).
    file_cron: str = "0 * * * * *"
    #: How the hub calls cpm: "collection" (derlink's cpm, many records a call) or "single"
    #: (one call per record, for a CPM that only offers single-record services).
    cpm_mode: CpmMode = "collection"

    #: The hub owns no file store: its file flows reach the parts'.
    stores: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HubSettings:
        return cls(
            retry_attempts=number(env, "DERLINK_RETRY_ATTEMPTS", cls.retry_attempts),
            retry_interval_s=number(env, "DERLINK_RETRY_INTERVAL_S", cls.retry_interval_s),
            database_patience_s=number(
                env, "DERLINK_DATABASE_PATIENCE_S", cls.database_patience_s, at_least=0
            ),
            sweep_interval_s=number(env, "DERLINK_SWEEP_INTERVAL_S", cls.sweep_interval_s),
            reconcile_cron=env.get("DERLINK_RECONCILE_CRON", cls.reconcile_cron),
            file_cron=env.get("DERLINK_FILE_CRON", cls.file_cron),
            cpm_mode=_cpm_mode(env.get("DERLINK_CPM_MODE", cls.cpm_mode)),
        )


def _cpm_mode(value: str) -> CpmMode:
    if value == "collection":
        return "collection"
    if value == "single":
        return "single"
    raise ConfigurationError(f"DERLINK_CPM_MODE must be collection or single, not {value!r}")
