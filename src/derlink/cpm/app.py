"""cpm as a part: its API application, its database, its outbox publisher, the schedules of
its enrollment extract and its device-score run, and the NET-LOC intake's loop.

The composition root mounts ``part.app`` at ``/cpm`` and calls ``start``/``stop``.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from derlink.common.clock import Clock
from derlink.common.errors import Conflict
from derlink.cpm import api
from derlink.cpm.catalog.model import AGGREGATOR, PROG_RULE
from derlink.cpm.db import outbox
from derlink.cpm.enrollment import model as m
from derlink.cpm.enrollment.service import extracts, status_checks, sync_requests
from derlink.cpm.events.participation import OPT_OUT
from derlink.cpm.events.unavailability import UNAVAIL
from derlink.cpm.migrations import SCHEMA
from derlink.cpm.network.service import netloc_intake
from derlink.cpm.scores import service as scores
from derlink.cpm.scores.model import RunState
from derlink.cpm.settings import CpmSettings
from derlink.platform.auth import CredentialStore
from derlink.platform.database import Database, open_part_database
from derlink.platform.files import FileStore, open_store
from derlink.platform.http import HttpClient
from derlink.platform.intake.refusals import MailRefusals
from derlink.platform.mail import Mailer, default_mailer
from derlink.platform.outbox import Publisher, Route
from derlink.platform.periodic import Every
from derlink.platform.settings import Settings
from derlink.platform.web import create_app

log = logging.getLogger("derlink.cpm")


#: The actor of the scheduled extracts, in their sync requests' history.
SCHEDULE_ACTOR = "cpm-schedule"
#: How long ``stop`` waits for a NET-LOC intake run to finish its current chunk.
STOP_GRACE_S = 30.0


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
        # Master data for DERMS (docs/contracts/master-data.md).
        Route(flow=PROG_RULE, path="/api/v1/flows/PROG-RULE/messages", field="programs"),
        Route(flow=AGGREGATOR, path="/api/v1/flows/AGGREGATOR/messages", field="aggregators"),
        # A participation's opt-out for DERMS (docs/contracts/opt-outs.md).
        Route(flow=OPT_OUT, path="/api/v1/flows/OPT-OUT/messages", field="optOuts"),
        # A device's unavailability period for DERMS (docs/contracts/unavailability.md).
        Route(flow=UNAVAIL, path="/api/v1/flows/UNAVAIL/messages", field="unavailabilities"),
    ]


class CpmPart:
    """Customer Program Management: API, database, the publisher of its outbox, and the
    scheduled incremental enrollment extract."""

    name = "cpm"

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        credentials: CredentialStore,
        clock: Clock,
        hub: HttpClient | None,
        store: FileStore,
        storage: FileStore,
        mailer: Mailer,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.hub = hub
        #: cpm's content server, where enrollment extracts are written.
        self.store = store
        #: cpm's object storage, where NET-LOC files arrive.
        self.storage = storage
        own = settings.part(CpmSettings)
        self.netloc = netloc_intake(
            db,
            clock,
            storage,
            store,
            settings.max_file_bytes,
            refused=MailRefusals(mailer, own.netloc_notify_to),
        )
        #: The participation-history files taken from the content server, at each score run.
        self.history = scores.history_intake(db, clock, store, settings.max_file_bytes)
        self.app = create_app(
            title="derlink cpm", credentials=credentials, max_body_bytes=settings.max_body_bytes
        )
        self.app.include_router(
            api.create_router(
                db=db,
                clock=clock,
                zone=ZoneInfo(settings.time_zone),
                store=store,
                netloc=self.netloc,
                history=self.history,
            ),
            prefix="/api/v1",
        )
        self.publisher: Publisher | None = None
        self.extract_schedule: Every | None = None
        self.netloc_loop: Every | None = None
        self.score_schedule: Every | None = None
        self._recovered = False

    async def start(self) -> None:
        """Undo an extract a crash left running, start the extract schedule (when set), the
        NET-LOC intake's loop (unless its interval is 0) and publish the outbox to the hub
        (when there is one)."""
        if not self._recovered:
            await extracts.recover_extracts(db=self.db, clock=self.clock, store=self.store)
            await scores.recover_runs(db=self.db, clock=self.clock)
            self._recovered = True
        own = self.settings.part(CpmSettings)
        if own.netloc_intake_interval_s > 0 and self.netloc_loop is None:
            self.netloc_loop = Every(
                "NET-LOC intake",
                own.netloc_intake_interval_s,
                self.netloc.run_once,
                at_once=True,
                grace_s=STOP_GRACE_S,
            )
            self.netloc_loop.start()
        if own.extract_interval_s > 0 and self.extract_schedule is None:
            self.extract_schedule = Every(
                "scheduled enrollment extract", own.extract_interval_s, self._scheduled_extract
            )
            self.extract_schedule.start()
        if own.score_interval_s > 0 and self.score_schedule is None:
            self.score_schedule = Every(
                "scheduled score run", own.score_interval_s, self._scheduled_scores
            )
            self.score_schedule.start()
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

    async def _scheduled_extract(self) -> None:
        """The scheduled INCREMENTAL extract (platform/periodic.py logs what it raises)."""
        try:
            view = await extracts.run_extract(
                db=self.db,
                clock=self.clock,
                store=self.store,
                kind=m.ExtractKind.INCREMENTAL,
                actor=SCHEDULE_ACTOR,
            )
        except Conflict as exc:
            log.info("scheduled enrollment extract skipped: %s", exc.message)
            return
        if view.state is m.ExtractState.FAILED:
            log.error("scheduled enrollment extract %s failed: %s", view.extract_id, view.error)
        elif view.rows:
            log.info("enrollment extract %s: %d row(s) in %s", view.extract_id, view.rows,
                     view.file_name)  # fmt: skip

    async def _scheduled_scores(self) -> None:
        """The scheduled score run (platform/periodic.py logs what it raises)."""
        try:
            view = await scores.run_scores(
                db=self.db,
                clock=self.clock,
                store=self.store,
                intake=self.history,
                actor=SCHEDULE_ACTOR,
            )
        except Conflict as exc:
            log.info("scheduled score run skipped: %s", exc.message)
            return
        if view.state is RunState.FAILED:
            log.error("score run %s failed: %s", view.run_id, view.error)
        else:
            log.info("score run %s: %d device(s) scored, %d without history, file %s",
                     view.run_id, view.rows, view.unscored, view.file_name)  # fmt: skip

    async def stop(self) -> None:
        """Stop the NET-LOC intake (a run stops at its next chunk, its file left for the next
        start) and the schedules (a running extract is undone), let the publisher finish its
        batch, then close the stores and the database."""
        self.netloc.stop()
        self.history.stop()
        for schedule in (self.netloc_loop, self.extract_schedule, self.score_schedule):
            if schedule is not None:
                await schedule.stop()
        self.netloc_loop = self.extract_schedule = self.score_schedule = None
        if self.publisher is not None:
            await self.publisher.stop()
            self.publisher = None
        await self.store.close()
        await self.storage.close()
        self.db.dispose()


def create_part(
    *,
    settings: Settings,
    credentials: CredentialStore,
    clock: Clock,
    hub: HttpClient | None,
    mailer: Mailer | None = None,
) -> CpmPart:
    """Open (and migrate) cpm's database and its file stores, and build its part (its e-mails
    through ``mailer``, else the platform's default one)."""
    db = open_part_database(settings.database_for("cpm"), SCHEMA)
    store = open_store(settings.store_url("cpm-content"), home=settings.home)
    storage = open_store(settings.store_url("cpm-storage"), home=settings.home)
    return CpmPart(
        settings=settings,
        db=db,
        credentials=credentials,
        clock=clock,
        hub=hub,
        store=store,
        storage=storage,
        mailer=mailer or default_mailer(settings.smtp_url, settings.home),
    )
