"""Settings, read once from the environment by the composition root.

Every setting has an embedded default, so ``derlink up`` works on a fresh machine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

PARTS = ("cpm", "derms", "analytics", "hub")


@dataclass(frozen=True)
class Settings:
    home: Path = Path(".derlink")
    host: str = "127.0.0.1"
    port: int = 8400
    #: One URL for every part (PostgreSQL: one schema per part), or None for SQLite files.
    database_url: str | None = None
    #: Per-part overrides, e.g. ``{"cpm": "postgresql://..."}``.
    part_database_urls: Mapping[str, str] = field(default_factory=dict)
    #: Where the hub finds each part; defaults to this process's own server.
    part_base_urls: Mapping[str, str] = field(default_factory=dict)
    smtp_url: str | None = None
    max_body_bytes: int = 8 * 1024 * 1024
    log_level: str = "INFO"
    #: Retry policy for remote faults (SPEC §2.2): attempts and first interval in seconds.
    retry_attempts: int = 5
    retry_interval_s: float = 1.0
    retry_backoff: float = 2.0
    #: Outbox publishers: the largest batch one call carries, and the idle poll interval.
    publish_batch: int = 500
    publish_interval_s: float = 0.05
    load_sample: bool = True
    #: When the hub reconciles cpm with DERMS: cron with seconds first, UTC (daily, 02:00).
    reconcile_cron: str = "0 0 2 * * *"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        base = cls()
        parts_db = {
            p: env[f"DERLINK_{p.upper()}_DATABASE_URL"]
            for p in PARTS
            if env.get(f"DERLINK_{p.upper()}_DATABASE_URL")
        }
        parts_url = {
            p: env[f"DERLINK_{p.upper()}_URL"].rstrip("/")
            for p in PARTS
            if env.get(f"DERLINK_{p.upper()}_URL")
        }
        return replace(
            base,
            home=Path(env.get("DERLINK_HOME", str(base.home))),
            host=env.get("DERLINK_HOST", base.host),
            port=int(env.get("DERLINK_PORT", base.port)),
            database_url=env.get("DERLINK_DATABASE_URL") or None,
            part_database_urls=parts_db,
            part_base_urls=parts_url,
            smtp_url=env.get("DERLINK_SMTP_URL") or None,
            max_body_bytes=int(env.get("DERLINK_MAX_BODY_BYTES", base.max_body_bytes)),
            log_level=env.get("DERLINK_LOG_LEVEL", base.log_level),
            retry_attempts=int(env.get("DERLINK_RETRY_ATTEMPTS", base.retry_attempts)),
            retry_interval_s=float(env.get("DERLINK_RETRY_INTERVAL_S", base.retry_interval_s)),
            load_sample=env.get("DERLINK_LOAD_SAMPLE", "1") not in ("0", "false", "no"),
            reconcile_cron=env.get("DERLINK_RECONCILE_CRON", base.reconcile_cron),
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def part_url(self, part: str) -> str:
        """The base URL of a part's API, as the hub's connection to it."""
        return self.part_base_urls.get(part, f"{self.base_url}/{part}")

    def database_for(self, part: str) -> str:
        """The database URL of one part: its own SQLite file unless PostgreSQL is configured."""
        if part in self.part_database_urls:
            return self.part_database_urls[part]
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / f'{part}.sqlite').resolve()}"
