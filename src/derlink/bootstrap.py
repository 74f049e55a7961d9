"""The composition root: settings → parts, adapters and runtime. Nothing else builds them.

The API server, the workers, the CLI and the tests all start here. In the embedded default
every part runs in this process, mounted under its own prefix on one server; with
``parts=`` a process runs only some of them and reaches the others at their configured URLs
(``DERLINK_<PART>_URL``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# Light on purpose: the CLI reads the settings through this module, and a command's help must
# not wait for the web stack, the database drivers or the analytics kernels. ``build`` imports
# the parts themselves.
from derlink.analytics import scopes as analytics_scopes
from derlink.analytics.settings import AnalyticsSettings
from derlink.common.clock import Clock, SystemClock
from derlink.cpm import scopes as cpm_scopes
from derlink.cpm.settings import CpmSettings
from derlink.derms import scopes as derms_scopes
from derlink.derms.settings import DermsSettings
from derlink.hub import scopes as hub_scopes
from derlink.hub.settings import HubSettings
from derlink.platform.auth import CredentialStore, compose_clients
from derlink.platform.settings import PartSettings, Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from derlink.hub.runtime.port import Runtime
    from derlink.platform.http import HttpClient
    from derlink.platform.mail import Mailer
    from derlink.platform.part import Part

log = logging.getLogger("derlink")

ALL_PARTS = ("hub", "cpm", "derms", "analytics")

#: Every part's own settings, read from the environment with the platform's.
PART_SETTINGS: tuple[type[PartSettings], ...] = (
    CpmSettings,
    DermsSettings,
    AnalyticsSettings,
    HubSettings,
)

#: The clients an embedded start creates, and what each may do: every part's grants.
DEFAULT_CLIENTS = compose_clients(
    cpm_scopes.GRANTS, derms_scopes.GRANTS, analytics_scopes.GRANTS, hub_scopes.GRANTS
)


def settings_from_env(env: Mapping[str, str] | None = None) -> Settings:
    """The platform's settings and every part's own, from the environment."""
    return Settings.from_env(env, parts=PART_SETTINGS)


@dataclass
class Platform:
    settings: Settings
    credentials: CredentialStore
    parts: dict[str, Part]
    app: FastAPI
    runtime: Runtime | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def runtime_database_url(settings: Settings) -> str:
    """Where DBOS keeps its state: beside the hub's database."""
    from derlink.platform.database import driver_url, is_sqlite

    url = settings.database_for("hub")
    if is_sqlite(url):
        return f"sqlite:///{(settings.home / 'hub-runtime.sqlite').resolve()}"
    return driver_url(url)


def _client_to(
    settings: Settings, part: str, credentials: CredentialStore, as_client: str
) -> HttpClient:
    from derlink.platform.http import Connection, HttpClient

    client = credentials.client(as_client)
    return HttpClient(
        Connection(
            name=part,
            base_url=settings.part_url(part),
            auth="bearer",
            username=client.client_id,
            secret=client.secret,
        )
    )


def build(
    settings: Settings,
    *,
    parts: Sequence[str] = ALL_PARTS,
    clock: Clock | None = None,
    runtime: Runtime | None = None,
    mailer: Mailer | None = None,
) -> Platform:
    from fastapi import FastAPI

    from derlink.analytics import app as analytics_app
    from derlink.cpm import app as cpm_app
    from derlink.derms import app as derms_app
    from derlink.hub import app as hub_app
    from derlink.hub.connections import Targets
    from derlink.hub.runtime.port import RetryPolicy
    from derlink.platform.database import Database, create_sqlite_file, is_sqlite
    from derlink.platform.files import open_store
    from derlink.platform.mail import default_mailer
    from derlink.platform.private import secure_home
    from derlink.platform.web import NO_TELEMETRY, root_index

    # The data directory is the running user's alone (platform/private.py).
    secure_home(settings.home)
    credentials = CredentialStore.load_or_create(
        settings.home / "credentials.json", DEFAULT_CLIENTS, limits=settings.attempt_limits
    )
    clock = clock or SystemClock()
    mailer = mailer or default_mailer(settings.smtp_url, settings.home)
    built: dict[str, Part] = {}

    if "hub" in parts:
        from derlink.hub.runtime.dbos_engine import DbosRuntime, DbosSettings

        hub = settings.part(HubSettings)
        if runtime is None:
            runtime_url = runtime_database_url(settings)
            if is_sqlite(runtime_url):
                create_sqlite_file(runtime_url)  # DBOS's own database, 0600 like the parts'
            runtime = DbosRuntime(
                DbosSettings(system_database_url=runtime_url),
                retry=RetryPolicy(
                    max_attempts=hub.retry_attempts,
                    interval_s=hub.retry_interval_s,
                    backoff=hub.retry_backoff,
                    database_patience_s=hub.database_patience_s,
                ),
            )
        targets = Targets(
            cpm=_client_to(settings, "cpm", credentials, "hub"),
            derms=_client_to(settings, "derms", credentials, "hub"),
            # Only its health is read (the console's dashboard), where analytics runs: in this
            # process, or at its own address.
            analytics=_client_to(settings, "analytics", credentials, "hub")
            if "analytics" in parts or "analytics" in settings.part_base_urls
            else None,
            cpm_mode=hub.cpm_mode,
            # The hub's file flows reach every part's file stores.
            stores={
                name: open_store(settings.store_url(name), home=settings.home)
                for part in PART_SETTINGS
                for name in part.stores
            },
        )
        built["hub"] = hub_app.create_part(
            database_url=settings.database_for("hub"),
            credentials=credentials,
            clock=clock,
            targets=targets,
            runtime=runtime,
            mailer=mailer,
            max_body_bytes=settings.max_body_bytes,
            settings=hub,
            max_file_bytes=settings.max_file_bytes,
            console_url=settings.console_address,
        )
    if "cpm" in parts:
        built["cpm"] = cpm_app.create_part(
            settings=settings,
            credentials=credentials,
            clock=clock,
            hub=_client_to(settings, "hub", credentials, "cpm"),
            mailer=mailer,
        )
    if "analytics" in parts:
        built["analytics"] = analytics_app.create_part(
            settings=settings, credentials=credentials, clock=clock, mailer=mailer
        )
    if "derms" in parts:
        built["derms"] = derms_app.create_part(
            settings=settings,
            credentials=credentials,
            clock=clock,
            hub=_client_to(settings, "hub", credentials, "derms"),
            mailer=mailer,
        )

    #: What the console opened (its sessions' database), closed with the parts.
    console_databases: list[Database] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The hub first, so that the parts' first outbox batches find it ready; stop in reverse.
        order = [p for p in ("hub", "cpm", "derms", "analytics") if p in built]
        for name in order:
            await built[name].start()
        log.info("derlink started: %s", ", ".join(order))
        try:
            yield
        finally:
            for name in reversed(order):
                started = time.monotonic()
                try:
                    await built[name].stop()
                except Exception:  # one part failing to stop must not keep the others running
                    log.exception("stopping %s failed", name)
                log.info("%s stopped in %.2f s", name, time.monotonic() - started)
            for database in console_databases:
                database.dispose()

    root = FastAPI(
        title="derlink", lifespan=lifespan, docs_url=None, redoc_url=None, telemetry=NO_TELEMETRY
    )

    root.add_api_route(
        "/", root_index(list(built), console="hub" in built), include_in_schema=False
    )

    for name, part in built.items():
        root.mount(f"/{name}", part.app)
    if isinstance(hub_part := built.get("hub"), hub_app.HubPart):
        # The operations console (docs/console.md), over the hub part and its connections.
        from derlink.console.app import create_console

        console = create_console(
            hub_part=hub_part,
            credentials=credentials,
            key_file=settings.home / "console.key",
            database_url=settings.database_for("console"),
            clock=clock,
            time_zone=settings.time_zone,
        )
        console_databases.append(console.state.console.sessions.db)
        root.mount("/console", console)
    return Platform(
        settings=settings, credentials=credentials, parts=built, app=root, runtime=runtime
    )
