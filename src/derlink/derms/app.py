"""derms as a part: its API application, its database, the publisher that drains its outbox,
the network model exports' intake and the scheduled NET-LOC export."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from derlink.common.clock import Clock
from derlink.common.errors import RemoteFault
from derlink.derms import api
from derlink.derms.db import outbox
from derlink.derms.events import model as events_model
from derlink.derms.events import (
    outcome_files,
    outcome_import,
    outcomes,
    reservations,
    review,
)
from derlink.derms.events import service as events
from derlink.derms.events import status as events_status
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
    #: The head-end outcome files' intake, from ``headend_store``.
    outcome_intake: FileIntake
    headend_store: FileStore
    #: The utility's time zone: a program's rules speak of its days.
    zone: ZoneInfo
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
            Every("stage schedule", self.settings.stage_interval_s, self._advance, at_once=True),
            Every("stage review", self.settings.stage_interval_s, self._review),
            Every("stage outcomes", self.settings.stage_interval_s, self._close_outcomes),
            Every(
                "head-end outcome intake",
                self.settings.outcome_intake_interval_s,
                self.outcome_intake.run_once,
                at_once=True,
                grace_s=STOP_GRACE_S,
            ),
            Every(
                "outcome files",
                self.settings.stage_interval_s,
                self._write_outcomes,
                at_once=True,
                grace_s=STOP_GRACE_S,
            ),
            Every(
                "reservation files",
                self.settings.stage_interval_s,
                self._write_reservations,
                at_once=True,
                grace_s=STOP_GRACE_S,
            ),
        ]
        for loop in self._loops:
            loop.start()

    async def _export(self) -> None:
        done = await network.write_netloc_export(db=self.db, clock=self.clock, store=self.content)
        log.info("NET-LOC export %s: %d location(s) in force on %s", done.file_name, done.rows,
                 done.on)  # fmt: skip

    async def _advance(self) -> None:
        """Move the stages whose start or end has come (and what fell due while down)."""
        moves = await asyncio.to_thread(events.advance_stages, db=self.db, clock=self.clock)
        for m in moves:
            log.info("stage %s of event %s: %s → %s (due %s)", m.stage_id, m.event_id,
                     m.from_state, m.to_state, m.due.isoformat())  # fmt: skip

    async def _review(self) -> None:
        """Check the Scheduled stages opt-outs left against their targets, and backfill them."""
        await asyncio.to_thread(
            review.review_stages,
            db=self.db,
            clock=self.clock,
            zone=self.zone,
            tolerance=self.settings.stage_shortfall_tolerance,
        )

    async def _close_outcomes(self) -> None:
        """Close the outcomes of the stages whose outcome window has passed, or canceled."""
        done = await asyncio.to_thread(
            outcomes.close_stages,
            db=self.db,
            clock=self.clock,
            window=timedelta(minutes=self.settings.outcome_window_min),
        )
        for c in done:
            log.info("stage %s of event %s: outcomes closed, %d device(s), %d without a report",
                     c.stage_id, c.event_id, c.closed, c.no_report)  # fmt: skip

    async def _write_outcomes(self) -> None:
        """Gather the stages closed since into the next outcome file, write it and send it."""
        for w in await outcome_files.write_files(db=self.db, clock=self.clock, store=self.content):
            log.info("outcome file %s: %d outcome(s) of %d stage(s), sent to cpm and analytics",
                     w.file_name, w.rows, w.stages)  # fmt: skip

    async def _write_reservations(self) -> None:
        """Write the reservation files of the stages Scheduled since, and send them."""
        for w in await reservations.write_files(db=self.db, clock=self.clock, store=self.content):
            log.info("reservation file %s: %d device(s) of stage %s, sent to cpm", w.file_name,
                     w.rows, w.stage_id)  # fmt: skip

    async def stop(self) -> None:
        """Stop the publisher (a batch in flight finishes first) and the loops, close the
        stores and the database."""
        if self.publisher is not None:
            await self.publisher.stop()
        self.intake.stop()
        self.outcome_intake.stop()
        for loop in self._loops:
            await loop.stop()
        self._loops = []
        await self.content.close()
        await self.model_store.close()
        await self.headend_store.close()
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
    headend_store = open_store(settings.store_url("derms-headend"), home=settings.home)
    mail = mailer or default_mailer(settings.smtp_url, settings.home)

    async def notify_ba(event: events_model.Event, peak_mw: float) -> None:
        subject = f"derms: event {event.id} awaits the balance authority's approval"
        body = (
            f"Event {event.id} ({event.name}), {event.window_start.isoformat()} to "
            f"{event.window_end.isoformat()}, was submitted by {event.created_by}.\n"
            f"With the other open events the balance authority checks, the expected reduction "
            f"passes the threshold of {own.ba_threshold_mw:g} MW; this event alone peaks at "
            f"{peak_mw:.3f} MW.\nIt needs a balance-authority approval "
            f"(POST /derms/api/v1/events/{event.id}/ba-approve) before it can be scheduled.\n"
        )
        try:
            await mail.send(to=list(own.ba_notify_to), subject=subject, body=body)
        except (RemoteFault, OSError) as exc:
            # The submit stands; the event shows needsBaApproval and waits either way.
            log.error("notification %r not sent: %s", subject, exc)

    intake = network.model_intake(
        db,
        clock,
        model_store,
        content,
        settings.max_file_bytes,
        refused=MailRefusals(mail, own.network_notify_to),
    )
    outcome_intake = outcome_import.outcome_intake(
        db,
        clock,
        headend_store,
        content,
        settings.max_file_bytes,
        refused=MailRefusals(mail, own.network_notify_to),
    )
    app = create_app(
        title="derlink derms", credentials=credentials, max_body_bytes=settings.max_body_bytes
    )
    app.include_router(
        api.create_router(
            db=db,
            clock=clock,
            intake=intake,
            content=content,
            ba_threshold_mw=own.ba_threshold_mw,
            notify_ba=notify_ba,
            zone=ZoneInfo(settings.time_zone),
            outcome_intake=outcome_intake,
        ),
        prefix="/api/v1",
    )
    publisher = None
    if hub is not None:
        publisher = Publisher(
            db=db,
            table=outbox,
            hub=hub,
            routes=[
                *service.publisher_routes(clock=clock),
                events_status.ROUTE,
                reservations.ROUTE,
                outcome_files.ROUTE,
            ],
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
        outcome_intake=outcome_intake,
        headend_store=headend_store,
        zone=ZoneInfo(settings.time_zone),
    )
