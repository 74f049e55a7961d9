"""The hub part: its database, flows, runtime and API, assembled for the composition root."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from fastapi import FastAPI

from derlink.common.clock import Clock
from derlink.hub.api import create_router
from derlink.hub.catalog import CATALOG, Schedule
from derlink.hub.connections import Targets
from derlink.hub.executor import Executor
from derlink.hub.flows import Flow
from derlink.hub.flows.aggregator import AggregatorFlow
from derlink.hub.flows.dev_score import DeviceScoreFlow
from derlink.hub.flows.dev_status import DeviceStatusCheck
from derlink.hub.flows.dev_status_ack import DeviceStatusAcknowledgement
from derlink.hub.flows.enr_ack import EnrollmentAcknowledgement
from derlink.hub.flows.enr_req import EnrollmentRequestFlow
from derlink.hub.flows.enr_sync import EnrollmentSync
from derlink.hub.flows.evt_outcome import EventOutcomeFlow
from derlink.hub.flows.evt_reserve import EventReservationFlow
from derlink.hub.flows.evt_status import EventStatusFlow
from derlink.hub.flows.files import FileOptions
from derlink.hub.flows.lrf import LoadReductionForecastFlow
from derlink.hub.flows.net_loc import NetworkLocationToCpm
from derlink.hub.flows.opt_out import OptOutFlow
from derlink.hub.flows.ouai_enr import EnrollmentSyncToAnalytics
from derlink.hub.flows.ouai_enr_ack import AnalyticsEnrollmentAcknowledgement
from derlink.hub.flows.prog_rule import ProgramRulesFlow
from derlink.hub.flows.reconcile import EnrollmentReconciliation
from derlink.hub.flows.unavail import UnavailabilityFlow
from derlink.hub.lookups import LookupStore
from derlink.hub.migrations import SCHEMA
from derlink.hub.notify import DEFAULT_CONSOLE_URL, Notifier
from derlink.hub.receipts import FileReceipts
from derlink.hub.runtime.port import Runtime
from derlink.hub.service import Hub
from derlink.hub.settings import HubSettings
from derlink.hub.tracking import InstanceStore
from derlink.platform.auth import CredentialStore
from derlink.platform.database import Database, open_part_database
from derlink.platform.mail import Mailer
from derlink.platform.periodic import Every
from derlink.platform.settings import Settings
from derlink.platform.web import create_app

log = logging.getLogger("derlink.hub")


@dataclass
class HubPart:
    name: str
    app: FastAPI
    db: Database
    hub: Hub
    lookups: LookupStore
    sweep: Every

    async def start(self) -> None:
        await self.hub.runtime.start()
        requeued = await self.hub.submit_waiting()
        if requeued:
            log.info("queued %d instance(s) received before a restart", requeued)
        self.sweep.start()

    async def stop(self) -> None:
        await self.sweep.stop()
        await self.hub.runtime.stop()
        await self.hub.targets.close()
        self.db.dispose()


def build_flows(
    targets: Targets,
    lookups: LookupStore,
    clock: Clock,
    *,
    receipts: FileReceipts,
    notifier: Notifier,
    max_file_bytes: int,
) -> dict[str, Flow]:
    """Every flow of the catalog, in its order; the file flows only where the hub has stores."""
    flows: list[Flow] = [
        EnrollmentRequestFlow(targets, lookups, clock),
        EnrollmentSync(targets),
        EnrollmentAcknowledgement(targets),
        DeviceStatusCheck(targets),
        DeviceStatusAcknowledgement(targets),
        ProgramRulesFlow(targets, lookups),
        AggregatorFlow(targets),
        EventStatusFlow(targets, lookups, clock),
        OptOutFlow(targets),
        UnavailabilityFlow(targets),
        EnrollmentReconciliation(targets, lookups),
    ]
    if targets.stores:
        options = FileOptions(max_bytes=max_file_bytes)
        flows.append(
            EventReservationFlow(targets=targets, options=options, receipts=receipts,
                                 notifier=notifier, lookups=lookups, clock=clock)
        )  # fmt: skip
        flows.append(
            EventOutcomeFlow(targets=targets, options=options, receipts=receipts,
                             notifier=notifier, clock=clock)
        )  # fmt: skip
        flows += [
            flow(targets=targets, options=options, receipts=receipts, notifier=notifier)
            for flow in (
                EnrollmentSyncToAnalytics,
                AnalyticsEnrollmentAcknowledgement,
                NetworkLocationToCpm,
                DeviceScoreFlow,
                LoadReductionForecastFlow,
            )
        ]
    by_code = {f.spec.code: f for f in flows}
    return {spec.code: by_code[spec.code] for spec in CATALOG if spec.code in by_code}


def create_part(
    *,
    database_url: str,
    credentials: CredentialStore,
    clock: Clock,
    targets: Targets,
    runtime: Runtime,
    mailer: Mailer,
    max_body_bytes: int,
    settings: HubSettings | None = None,
    max_file_bytes: int = Settings.max_file_bytes,
    console_url: str = DEFAULT_CONSOLE_URL,
) -> HubPart:
    """Open (and migrate) the hub's database and build its part: its flows on ``runtime``,
    scheduled as ``settings`` says (the hub's own, HubSettings); its e-mails link to the
    instances' pages in the console at ``console_url``."""
    settings = settings or HubSettings()
    db = open_part_database(database_url, SCHEMA)
    lookups = LookupStore(db, clock)
    lookups.seed()
    store = InstanceStore(db, clock)
    notifier = Notifier(db, mailer, console_url)
    receipts = FileReceipts(db, clock)
    flows = build_flows(
        targets, lookups, clock, receipts=receipts, notifier=notifier, max_file_bytes=max_file_bytes
    )
    executor = Executor(flows, store, notifier)
    # The catalog says which schedule starts a scheduled flow; the settings say when.
    crons: dict[Schedule, str] = {"reconcile": settings.reconcile_cron, "files": settings.file_cron}
    hub = Hub(
        db=db,
        clock=clock,
        flows=flows,
        store=store,
        runtime=runtime,
        targets=targets,
        receipts=receipts,
        crons=crons,
        notifier=notifier,
        sweep_grace_s=max(30.0, 2 * settings.sweep_interval_s),
    )
    for code, flow in flows.items():
        runtime.register(code, executor, concurrency=flow.spec.concurrency)
        if cron := hub.cron(code):
            runtime.register_schedule(code, cron, partial(hub.tick, code))
    app = create_app("derlink hub", credentials=credentials, max_body_bytes=max_body_bytes)
    app.include_router(create_router(hub, lookups), prefix="/api/v1")
    sweep = Every("hub-sweep", settings.sweep_interval_s, hub.sweep)
    return HubPart(name="hub", app=app, db=db, hub=hub, lookups=lookups, sweep=sweep)
