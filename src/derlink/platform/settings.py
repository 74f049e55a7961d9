"""Settings, read once from the environment by the composition root.

Every setting has an embedded default, so ``derlink up`` works on a fresh machine. What every
part shares (the data directory, the server, the databases, the file stores' URLs, the outbox
and file limits) is here; each part's own settings are a class in the part's ``settings.py``
(:class:`PartSettings`), read by :meth:`Settings.from_env` for the parts the composition root
names and found again with :meth:`Settings.part`. A new setting of a part edits that part only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar, Protocol, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from derlink.common.errors import ConfigurationError
from derlink.platform.auth import AttemptLimits

PARTS = ("cpm", "derms", "analytics", "hub")


class PartSettings(Protocol):
    """A part's own settings: a frozen dataclass whose defaults are the embedded ones."""

    #: The file stores the part owns, by name: ``DERLINK_<NAME>_URL`` with the dashes as
    #: underscores (e.g. ``DERLINK_CPM_CONTENT_URL``); see :meth:`Settings.store_url`.
    stores: ClassVar[tuple[str, ...]]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Self:
        """The part's settings from the environment, each absent one at its default."""
        ...


P = TypeVar("P")


@dataclass(frozen=True)
class Settings:
    home: Path = Path(".derlink")
    host: str = "127.0.0.1"
    port: int = 8400
    #: The utility's time zone (IANA), in which the CLI and the console show times.
    time_zone: str = "UTC"
    #: Where people open the operations console (the e-mails link into it); None: this
    #: process's own server, ``<base_url>/console``.
    console_url: str | None = None
    #: One URL for every part (PostgreSQL: one schema per part), or None for SQLite files.
    database_url: str | None = None
    #: Per-part overrides, e.g. ``{"cpm": "postgresql://..."}``.
    part_database_urls: Mapping[str, str] = field(default_factory=dict)
    #: Where the hub finds each part; defaults to this process's own server.
    part_base_urls: Mapping[str, str] = field(default_factory=dict)
    smtp_url: str | None = None
    max_body_bytes: int = 8 * 1024 * 1024
    log_level: str = "INFO"
    #: Outbox publishers: the largest batch one call carries, and the idle poll interval.
    publish_batch: int = 500
    publish_interval_s: float = 0.05
    load_sample: bool = True
    #: File stores by name (the parts' ``stores``); an absent one is a local folder under home.
    file_store_urls: Mapping[str, str] = field(default_factory=dict)
    #: A file larger than this is refused whole (renamed Error-, reported).
    max_file_bytes: int = 2 * 1024 * 1024 * 1024
    #: Each part's own settings, by class; a part absent here has its class's defaults.
    parts: Mapping[type, object] = field(default_factory=dict)
    #: Failed authentications allowed per client id and per address in a window (auth.py).
    attempt_limits: AttemptLimits = field(default_factory=AttemptLimits)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, parts: Sequence[type[PartSettings]] = ()
    ) -> Settings:
        """The settings from the environment, with the own settings of ``parts``."""
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
        stores = [name for part in parts for name in part.stores]
        limits = base.attempt_limits
        return replace(
            base,
            home=Path(env.get("DERLINK_HOME", str(base.home))),
            host=env.get("DERLINK_HOST", base.host),
            port=_port(env),
            time_zone=_zone(env.get("DERLINK_TIME_ZONE", base.time_zone)),
            console_url=_console_url(env.get("DERLINK_CONSOLE_URL")),
            database_url=env.get("DERLINK_DATABASE_URL") or None,
            part_database_urls=parts_db,
            part_base_urls=parts_url,
            smtp_url=env.get("DERLINK_SMTP_URL") or None,
            max_body_bytes=number(env, "DERLINK_MAX_BODY_BYTES", base.max_body_bytes),
            log_level=env.get("DERLINK_LOG_LEVEL", base.log_level),
            load_sample=env.get("DERLINK_LOAD_SAMPLE", "1") not in ("0", "false", "no"),
            file_store_urls={
                name: env[store_variable(name)] for name in stores if env.get(store_variable(name))
            },
            max_file_bytes=number(env, "DERLINK_MAX_FILE_BYTES", base.max_file_bytes),
            parts={part: part.from_env(env) for part in parts},
            attempt_limits=AttemptLimits(
                per_client=number(env, "DERLINK_AUTH_MAX_FAILURES", limits.per_client),
                per_address=number(
                    env, "DERLINK_AUTH_MAX_FAILURES_PER_ADDRESS", limits.per_address
                ),
                window_s=float(number(env, "DERLINK_AUTH_WINDOW_S", limits.window_s)),
            ),
        )

    def part(self, kind: type[P]) -> P:
        """A part's own settings: as read or given, else its class's defaults."""
        found = self.parts.get(kind)
        return found if isinstance(found, kind) else kind()

    def with_part(self, settings: object) -> Settings:
        """These settings, with one part's own settings replaced."""
        return replace(self, parts={**self.parts, type(settings): settings})

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def console_address(self) -> str:
        """The console's address, as the e-mails link to it."""
        return self.console_url or f"{self.base_url}/console"

    def part_url(self, part: str) -> str:
        """The base URL of a part's API, as the hub's connection to it."""
        return self.part_base_urls.get(part, f"{self.base_url}/{part}")

    def store_url(self, name: str) -> str:
        """The URL of a named file store (a part's ``stores``): configured, or a folder under
        home. See platform/files.py for the URL forms."""
        return self.file_store_urls.get(name) or f"file://{(self.home / 'files' / name).resolve()}"

    def database_for(self, part: str) -> str:
        """The database URL of one part: its own SQLite file unless PostgreSQL is configured."""
        if part in self.part_database_urls:
            return self.part_database_urls[part]
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / f'{part}.sqlite').resolve()}"


N = TypeVar("N", int, float)


def number(env: Mapping[str, str], name: str, default: N, *, at_least: float | None = None) -> N:
    """A number from ``env[name]``, of the default's type, above zero (or at least
    ``at_least``, when that is given: ``at_least=0`` takes 0), or the default when unset."""
    text = env.get(name)
    if not text:
        return default
    kind = "a whole number" if isinstance(default, int) else "a number"
    try:
        value = type(default)(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be {kind}, not {text!r}") from None
    if (value <= 0) if at_least is None else (value < at_least):
        bound = "above zero" if at_least is None else f"at least {at_least:g}"
        raise ConfigurationError(f"{name} must be {bound}, not {text!r}")
    return value


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"DERLINK_TIME_ZONE must be an IANA time zone such as America/Chicago, not {name!r}"
        ) from None
    return name


def _console_url(value: str | None) -> str | None:
    if not value:
        return None
    if not value.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"DERLINK_CONSOLE_URL must be an http:// or https:// address, not {value!r}"
        )
    return value.rstrip("/")


def _port(env: Mapping[str, str]) -> int:
    port = number(env, "DERLINK_PORT", Settings.port)
    if port > 65535:
        raise ConfigurationError(f"DERLINK_PORT must be a port from 1 to 65535, not {port}")
    return port


def store_variable(name: str) -> str:
    """The environment variable of a file store's URL: ``cpm-content`` → DERLINK_CPM_CONTENT_URL."""
    return f"DERLINK_{name.upper().replace('-', '_')}_URL"
