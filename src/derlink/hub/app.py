"""The hub part: its database, flows, runtime and API, assembled for the composition root."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from fastapi import FastAPI

from derlink.common.clock import Clock
from derlink.contracts.enrollment_files import ACK_PREFIX, EXTRACT_PREFIX
from derlink.hub.api import create_router
from derlink.hub.connections import Targets
from derlink.hub.executor import Executor
from derlink.hub.flows import Flow
from derlink.hub.flows.dev_status import DeviceStatusAnswer, DeviceStatusCheck
from derlink.hub.flows.enr_ack import EnrollmentAcknowledgement
from derlink.hub.flows.enr_req import EnrollmentRequestFlow
from derlink.hub.flows.enr_sync import EnrollmentSync
from derlink.hub.flows.files import FileOptions
from derlink.hub.flows.ouai_enr import (
    AnalyticsEnrollmentAcknowledgement,
    EnrollmentSyncToAnalytics,
)
from derlink.hub.flows.reconcile import EnrollmentReconciliation
from derlink.hub.lookups import LookupStore
from derlink.hub.notify import Notifier
from derlink.hub.receipts import FileReceipts
from derlink.hub.runtime.port import Runtime
from derlink.hub.service import Hub
from derlink.hub.tables import MIGRATIONS
from derlink.hub.tracking import InstanceStore
from derlink.platform.auth import CredentialStore
from derlink.platform.database import Database, open_part_database
from derlink.platform.mail import Mailer
from derlink.platform.settings import Settings
from derlink.platform.web import create_app

log = logging.getLogger("derlink.hub")

#: Concurrent instances per flow on one worker.
CONCURRENCY = {
    "ENR-REQ": 4,
    "ENR-SYNC": 4,
    "ENR-ACK": 4,
    "DEV-STATUS": 2,
    "DEV-STATUS-ACK": 2,
    "RECONCILE": 1,
    # One file at a time per flow and worker: a file is already many batches.
    "OUAI-ENR": 1,
    "OUAI-ENR-ACK": 1,
}


@dataclass
class HubPart:
    name: str
    app: FastAPI
    db: Database
    hub: Hub
    lookups: LookupStore

    async def start(self) -> None:
        await self.hub.runtime.start()
        requeued = await self.hub.submit_waiting()
        if requeued:
            log.info("queued %d instance(s) received before a restart", requeued)

    async def stop(self) -> None:
        await self.hub.runtime.stop()
        await self.hub.targets.close()
        self.db.dispose()


@dataclass(frozen=True)
class FileSettings:
    """The file flows' schedule and size limit (platform settings ``file_cron``,
    ``max_file_bytes``)."""

    cron: str = Settings.file_cron
    max_bytes: int = Settings.max_file_bytes


def build_flows(
    targets: Targets,
    lookups: LookupStore,
    clock: Clock,
    reconcile_cron: str,
    *,
    receipts: FileReceipts,
    notifier: Notifier,
    files: FileSettings,
) -> dict[str, Flow]:
    def options(prefix: str) -> FileOptions:
        return FileOptions(prefix=prefix, schedule=files.cron, max_bytes=files.max_bytes)

    flows: list[Flow] = [
        EnrollmentRequestFlow(targets, lookups, clock),
        EnrollmentSync(targets),
        EnrollmentAcknowledgement(targets),
        DeviceStatusCheck(targets),
        DeviceStatusAnswer(targets),
        EnrollmentReconciliation(targets, reconcile_cron),
    ]
    if targets.stores:
        flows += [
            EnrollmentSyncToAnalytics(
                store=targets.store("cpm-content"),
                target_store=targets.store("analytics-storage"),
                options=options(EXTRACT_PREFIX),
                receipts=receipts,
                notifier=notifier,
            ),
            AnalyticsEnrollmentAcknowledgement(
                targets=targets,
                store=targets.store("analytics-content"),
                options=options(ACK_PREFIX),
                receipts=receipts,
                notifier=notifier,
            ),
        ]
    return {f.code: f for f in flows}


def create_part(
    *,
    database_url: str,
    credentials: CredentialStore,
    clock: Clock,
    targets: Targets,
    runtime: Runtime,
    mailer: Mailer,
    max_body_bytes: int,
    reconcile_cron: str = "0 0 2 * * *",
    files: FileSettings | None = None,
) -> HubPart:
    db = open_part_database(database_url, "hub", MIGRATIONS)
    lookups = LookupStore(db, clock)
    lookups.seed()
    store = InstanceStore(db, clock)
    notifier = Notifier(db, mailer)
    receipts = FileReceipts(db, clock)
    flows = build_flows(
        targets,
        lookups,
        clock,
        reconcile_cron,
        receipts=receipts,
        notifier=notifier,
        files=files or FileSettings(),
    )
    executor = Executor(flows, store, notifier)
    hub = Hub(
        db=db,
        clock=clock,
        flows=flows,
        store=store,
        runtime=runtime,
        targets=targets,
        receipts=receipts,
    )
    for code, flow in flows.items():
        runtime.register(code, executor, concurrency=CONCURRENCY.get(code, 2))
        if flow.schedule:
            runtime.register_schedule(code, flow.schedule, partial(hub.tick, code))
    app = create_app("derlink hub", credentials=credentials, max_body_bytes=max_body_bytes)
    app.include_router(create_router(hub, lookups), prefix="/api/v1")
    return HubPart(name="hub", app=app, db=db, hub=hub, lookups=lookups)
