"""derms as a part: its API application, its database, and the publisher that drains its outbox."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from derlink.common.clock import Clock
from derlink.derms import api
from derlink.derms.db import outbox
from derlink.derms.migrations import SCHEMA
from derlink.derms.registry import service
from derlink.platform.auth import CredentialStore
from derlink.platform.database import Database, open_part_database
from derlink.platform.http import HttpClient
from derlink.platform.outbox import Publisher
from derlink.platform.settings import Settings
from derlink.platform.web import create_app


@dataclass
class DermsPart:
    name: str
    app: FastAPI
    db: Database
    #: None when derms runs without a hub (then its outbox waits).
    publisher: Publisher | None

    async def start(self) -> None:
        """Start publishing the outbox to the hub."""
        if self.publisher is not None:
            self.publisher.start()

    async def stop(self) -> None:
        """Stop the publisher; a batch in flight finishes first."""
        if self.publisher is not None:
            await self.publisher.stop()


def create_part(
    *, settings: Settings, credentials: CredentialStore, clock: Clock, hub: HttpClient | None
) -> DermsPart:
    """Open derms's database (migrating it) and build its API; ``hub`` is the hub's base URL."""
    db = open_part_database(settings.database_for("derms"), SCHEMA)
    app = create_app(
        title="derlink derms", credentials=credentials, max_body_bytes=settings.max_body_bytes
    )
    app.include_router(api.create_router(db=db, clock=clock), prefix="/api/v1")
    publisher = None
    if hub is not None:
        publisher = Publisher(
            db=db,
            table=outbox,
            hub=hub,
            routes=service.publisher_routes(clock=clock),
            clock=clock,
            batch_size=settings.publish_batch,
            idle_interval_s=settings.publish_interval_s,
        )
    return DermsPart(name="derms", app=app, db=db, publisher=publisher)
