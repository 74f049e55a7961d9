"""Settings, read once from the environment by the composition root.

Every setting has an embedded default, so ``derlink up`` works on a fresh machine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

PARTS = ("cpm", "derms", "analytics", "hub")

#: The file stores of the file flows (SPEC §2.4), by name: ``DERLINK_<NAME>_URL`` with the
#: dashes as underscores (e.g. ``DERLINK_CPM_CONTENT_URL``). Each defaults to a local folder
#: under ``<home>/files/<name>``; see platform/files.py for the URL forms.
FILE_STORES = ("cpm-content", "analytics-storage", "analytics-content")


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
    #: How the hub calls cpm: "collection" (derlink's cpm, many records a call) or "single"
    #: (one call per record, for a CPM that only offers single-record services).
    cpm_mode: str = "collection"
    #: File stores by name (FILE_STORES); an absent one is a local folder under the home.
    file_store_urls: Mapping[str, str] = field(default_factory=dict)
    #: When the file flows list their sources: cron with seconds first, UTC (every minute).
    file_cron: str = "0 * * * * *"
    #: A file larger than this is refused whole (renamed Error-, reported).
    max_file_bytes: int = 2 * 1024 * 1024 * 1024
    #: cpm's incremental enrollment extract: seconds between runs, 0 for never (CLI/API only).
    extract_interval_s: float = 0.0
    #: How often analytics looks for enrollment files in its object storage, in seconds.
    intake_interval_s: float = 5.0

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
            cpm_mode=env.get("DERLINK_CPM_MODE", base.cpm_mode),
            file_store_urls={
                name: env[_store_variable(name)]
                for name in FILE_STORES
                if env.get(_store_variable(name))
            },
            file_cron=env.get("DERLINK_FILE_CRON", base.file_cron),
            max_file_bytes=int(env.get("DERLINK_MAX_FILE_BYTES", base.max_file_bytes)),
            extract_interval_s=float(
                env.get("DERLINK_EXTRACT_INTERVAL_S", base.extract_interval_s)
            ),
            intake_interval_s=float(env.get("DERLINK_INTAKE_INTERVAL_S", base.intake_interval_s)),
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def part_url(self, part: str) -> str:
        """The base URL of a part's API, as the hub's connection to it."""
        return self.part_base_urls.get(part, f"{self.base_url}/{part}")

    def store_url(self, name: str) -> str:
        """The URL of a named file store (FILE_STORES): configured, or a folder under home."""
        if name not in FILE_STORES:
            raise KeyError(f"no file store {name!r}; known: {', '.join(FILE_STORES)}")
        return self.file_store_urls.get(name) or f"file://{(self.home / 'files' / name).resolve()}"

    def database_for(self, part: str) -> str:
        """The database URL of one part: its own SQLite file unless PostgreSQL is configured."""
        if part in self.part_database_urls:
            return self.part_database_urls[part]
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / f'{part}.sqlite').resolve()}"


def _store_variable(name: str) -> str:
    return f"DERLINK_{name.upper().replace('-', '_')}_URL"
