"""cpm as a part: its API application, its database and its outbox publisher.

The composition root mounts ``part.app`` at ``/cpm`` and calls ``start``/``stop``.
"""

from __future__ import annotations

from derlink.common.clock import Clock
from derlink.cpm import api, status_checks, sync_requests
from derlink.cpm import model as m
from derlink.cpm.tables import MIGRATIONS, outbox
from derlink.platform.auth import CredentialStore
from derlink.platform.database import Database, open_part_database
from derlink.platform.http import HttpClient
from derlink.platform.outbox import Publisher, Route
from derlink.platform.settings import Settings
from derlink.platform.web import create_app


def outbox_routes(clock: Clock) -> list[Route]:
    """Where cpm's outbound messages go at the hub (docs/contracts/enrollment.md)."""
    return [
        Route(
            flow=m.ENR_SYNC,
            path="/api/v1/flows/ENR-SYNC/messages",
            field="messages",
            on_sent=sync_requests.on_enroll_sync_sent(clock),
        ),
        Route(
            flow=m.DEV_STATUS,
            path="/api/v1/flows/DEV-STATUS/messages",
            field="messages",
            on_sent=status_checks.on_device_status_sent(clock),
        ),
    ]


class CpmPart:
    """Customer Program Management: API, database, and the publisher of its outbox."""

    name = "cpm"

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        credentials: CredentialStore,
        clock: Clock,
        hub: HttpClient | None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.hub = hub
        self.app = create_app(
            title="derlink cpm", credentials=credentials, max_body_bytes=settings.max_body_bytes
        )
        self.app.include_router(api.create_router(db=db, clock=clock), prefix="/api/v1")
        self.publisher: Publisher | None = None

    async def start(self) -> None:
        """Start publishing the outbox to the hub (when there is one)."""
        if self.hub is None or self.publisher is not None:
            return
        self.publisher = Publisher(
            db=self.db,
            table=outbox,
            hub=self.hub,
            routes=outbox_routes(self.clock),
            clock=self.clock,
            batch_size=self.settings.publish_batch,
            idle_interval_s=self.settings.publish_interval_s,
        )
        self.publisher.start()

    async def stop(self) -> None:
        """Let the publisher finish its batch, then close the database."""
        if self.publisher is not None:
            await self.publisher.stop()
            self.publisher = None
        self.db.dispose()


def create_part(
    *, settings: Settings, credentials: CredentialStore, clock: Clock, hub: HttpClient | None
) -> CpmPart:
    """Open (and migrate) cpm's database and build its part."""
    db = open_part_database(settings.database_for("cpm"), "cpm", MIGRATIONS)
    return CpmPart(settings=settings, db=db, credentials=credentials, clock=clock, hub=hub)
