"""derms as a part: its API application, its database, the publisher that drains its outbox,
the network model exports' intake and the scheduled NET-LOC export."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from fastapi import FastAPI

from derlink.common.clock import Clock
from derlink.derms import api
from derlink.derms.db import outbox
from derlink.derms.migrations import SCHEMA
from derlink.derms.network import service as network
from derlink.derms.registry import service
from derlink.derms.settings import DermsSettings
from derlink.platform.auth import CredentialStore
from derlink.platform.database import Database, open_part_database
from derlink.platform.files import FileStore, open_store
from derlink.platform.http import HttpClient
from derlink.platform.intake.driver import FileIntake
from derlink.platform.intake.refusals import MailRefusals
from derlink.platform.mail import Mailer, default_mailer
from derlink.platform.outbox import Publisher
from derlink.platform.periodic import Every
from derlink.platform.settings import Settings
from derlink.platform.web import create_app

log = logging.getLogger("derlink.derms")

#: How long ``stop`` waits for a model intake run to finish its current chunk.
STOP_GRACE_S = 30.0


@dataclass
class DermsPart:
    name: str
    app: FastAPI
    db: Database
    #: None when derms runs without a hub (then its outbox waits).
    publisher: Publisher | None
    settings: DermsSettings
    clock: Clock
    #: The network model exports' intake, from ``model_store``.
    intake: FileIntake
    content: FileStore
    model_store: FileStore
    _loops: list[Every] = field(default_factory=list)

    async def start(self) -> None:
        """Start publishing the outbox to the hub, the model intake's loop and the NET-LOC
        export's schedule (each unless its interval is 0)."""
        if self.publisher is not None:
            self.publisher.start()
        if self._loops:
            return
        self._loops = [
            Every(
                "network model intake",
                self.settings.network_intake_interval_s,
                self.intake.run_once,
                at_once=True,
                grace_s=STOP_GRACE_S,
            ),
            Every("NET-LOC export", self.settings.netloc_export_interval_s, self._export),
        ]
        for loop in self._loops:
            loop.start()

    async def _export(self) -> None:
        done = await network.write_netloc_export(db=self.db, clock=self.clock, store=self.content)
        log.info("NET-LOC export %s: %d location(s) in force on %s", done.file_name, done.rows,
                 done.on)  # fmt: skip

    async def stop(self) -> None:
        """Stop the publisher (a batch in flight finishes first) and the loops, close the
        stores and the database."""
        if self.publisher is not None:
            await self.publisher.stop()
        self.intake.stop()
        for loop in self._loops:
            await loop.stop()
        self._loops = []
        await self.content.close()
        await self.model_store.close()
        self.db.dispose()


def create_part(
    *,
    settings: Settings,
    credentials: CredentialStore,
    clock: Clock,
    hub: HttpClient | None,
    mailer: Mailer | None = None,
) -> DermsPart:
    """Open derms's database (migrating it) and its file stores, and build its API; ``hub`` is
    the hub's base URL."""
    own = settings.part(DermsSettings)
    db = open_part_database(settings.database_for("derms"), SCHEMA)
    content = open_store(settings.store_url("derms-content"), home=settings.home)
    model_store = open_store(settings.store_url("derms-model"), home=settings.home)
    intake = network.model_intake(
        db,
        clock,
        model_store,
        content,
        settings.max_file_bytes,
        refused=MailRefusals(
            mailer or default_mailer(settings.smtp_url, settings.home), own.network_notify_to
        ),
    )
    app = create_app(
        title="derlink derms", credentials=credentials, max_body_bytes=settings.max_body_bytes
    )
    app.include_router(
        api.create_router(db=db, clock=clock, intake=intake, content=content), prefix="/api/v1"
    )
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
    return DermsPart(
        name="derms",
        app=app,
        db=db,
        publisher=publisher,
        settings=own,
        clock=clock,
        intake=intake,
        content=content,
        model_store=model_store,
    )
