"""The hub's service functions: intake, the error hospital, flow control, health."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel

from derlink.common.clock import Clock
from derlink.common.errors import BusinessError, Fault, NotFound, RemoteFault
from derlink.common.ids import new_id
from derlink.hub.catalog import Schedule
from derlink.hub.connections import Targets
from derlink.hub.flows import Flow
from derlink.hub.flows.files import FileFlow, batch_id
from derlink.hub.flows.reconcile import EnrollmentReconciliation
from derlink.hub.model import InstanceStatus
from derlink.hub.notify import DEFAULT_PROPERTIES, Notifier
from derlink.hub.receipts import FileReceipts
from derlink.hub.runtime.port import RunState, Runtime
from derlink.hub.tables import (
    flow_properties,
    flow_property_audit,
    flow_state,
    lookup_audit,
    set_audited,
)
from derlink.hub.tracking import REQUEUE, InstanceStore, Received, plain
from derlink.platform.database import Database

log = logging.getLogger("derlink.hub")

#: The flow whose runs are the reconciliation's history.
RECONCILE = "RECONCILE"


def run_id(instance_id: str, run: int) -> str:
    """The durable workflow id of one run: the first run keeps the instance id itself."""
    return instance_id if run == 1 else f"{instance_id}#run{run}"


@dataclass
class Hub:
    db: Database
    clock: Clock
    flows: Mapping[str, Flow]
    store: InstanceStore
    runtime: Runtime
    targets: Targets
    #: The cron of each schedule a scheduled flow of the catalog names (from the settings).
    crons: Mapping[Schedule, str]
    receipts: FileReceipts | None = None
    notifier: Notifier | None = None
    #: The sweep looks at instances unchanged for this long, and queues one again at most
    #: this many times before it goes to the hospital.
    sweep_grace_s: float = 30.0
    sweep_requeues: int = 3

    def flow(self, code: str) -> Flow:
        try:
            return self.flows[code]
        except KeyError:
            raise NotFound(
                f"no flow {code!r}; flows: {', '.join(sorted(self.flows))}", code="HUB-FLOW-UNKNOWN"
            ) from None

    def cron(self, code: str) -> str | None:
        """When a scheduled flow runs (six fields, seconds first, UTC); None for a message flow."""
        schedule = self.flow(code).spec.schedule
        return None if schedule is None else self.crons[schedule]

    # intake -----------------------------------------------------------------------------
    async def accept(self, code: str, batch: BaseModel, sender: str) -> Received:
        """Persist a message and queue its instance; answers before any target is called."""
        flow = self.flow(code)
        payload: dict[str, Any] = await asyncio.to_thread(batch.model_dump, mode="json")
        records: list[dict[str, Any]] = payload[flow.spec.field]
        instance_id = f"{code}:{payload['batchId']}"
        held = await asyncio.to_thread(self.is_paused, code)
        received = await asyncio.to_thread(
            self.store.receive,
            flow=code,
            instance_id=instance_id,
            batch_id=payload["batchId"],
            sender=sender,
            payload=payload,
            records=len(records),
            keys=[flow.keys(r) for r in records],
            held=held,
        )
        if not received.duplicate and not held:
            await self.runtime.submit(code, run_id(instance_id, 1), instance_id, payload)
        elif received.duplicate and received.status is InstanceStatus.RECEIVED:
            # Sent again because the first delivery was answered with an error after the
            # instance was stored but before it was queued: queue it now (once per run).
            _, _, runs = await asyncio.to_thread(self.store.payload, instance_id)
            await self.runtime.submit(code, run_id(instance_id, runs), instance_id, payload)
        return received

    async def submit_waiting(self) -> int:
        """Queue every instance received but not yet queued (a crash between the two)."""
        ids = await asyncio.to_thread(self.store.ids_with_status, [InstanceStatus.RECEIVED])
        for instance_id in ids:
            flow, payload, runs = await asyncio.to_thread(self.store.payload, instance_id)
            await self.runtime.submit(flow, run_id(instance_id, runs), instance_id, payload)
        return len(ids)

    async def sweep(self) -> dict[str, int]:
        """Find accepted work that no run will finish, and see that one does.

        An instance Received whose run was never queued (the queueing failed after it was
        stored) is queued. A run taken off its queue whose taking was never answered (the
        connection dropped as it committed), so that nothing executes it, is resumed. An
        instance Received or Running whose run has ended – failed, say, on an outage longer
        than the steps' patience – or vanished is queued again for a new run (every step is
        idempotent), up to ``sweep_requeues`` times; after that it goes to the hospital as a
        technical fault and the technical recipients are told.
        """
        before = (self.clock.now() - timedelta(seconds=self.sweep_grace_s)).isoformat()
        candidates = await asyncio.to_thread(self.store.unfinished, before=before)
        counts = {"queued": 0, "resumed": 0, "requeued": 0, "faulted": 0}
        if not candidates:
            return counts
        states = await self.runtime.run_states([run_id(i, runs) for i, _, runs in candidates])
        for instance_id, status, runs in candidates:
            state = states[run_id(instance_id, runs)]
            if state in (RunState.QUEUED, RunState.RUNNING):
                continue
            if state is RunState.ORPHANED:
                await self.runtime.resume(run_id(instance_id, runs))
                counts["resumed"] += 1
                continue
            if state is RunState.UNKNOWN and status == InstanceStatus.RECEIVED.value:
                flow, payload, _ = await asyncio.to_thread(self.store.payload, instance_id)
                await self.runtime.submit(flow, run_id(instance_id, runs), instance_id, payload)
                counts["queued"] += 1
                continue
            ended = "ended" if state is RunState.ENDED else "vanished"
            why = f"run {runs} {ended} with the instance {status}"
            if await asyncio.to_thread(self.store.requeues, instance_id) < self.sweep_requeues:
                if await self._rerun_stuck(instance_id, runs, "sweep", REQUEUE, why):
                    counts["requeued"] += 1
                continue
            message = f"{why}, after {self.sweep_requeues} new run(s): see the timeline"
            if await asyncio.to_thread(
                self.store.fault_stuck, instance_id, runs, step="sweep", message=message
            ):
                counts["faulted"] += 1
                if self.notifier is not None:
                    await self.notifier.technical(
                        flow=instance_id.split(":", 1)[0],
                        instance_id=instance_id,
                        category="technical",
                        step="sweep",
                        message=message,
                    )
        if any(counts.values()):
            log.warning(
                "sweep: %(queued)d instance(s) queued that never were, %(resumed)d orphaned "
                "run(s) resumed, %(requeued)d queued again after their run ended unfinished, "
                "%(faulted)d put in the hospital",
                counts,
            )
        return counts

    async def _rerun_stuck(
        self, instance_id: str, runs: int, actor: str, action: str, note: str
    ) -> bool:
        run = await asyncio.to_thread(
            self.store.rerun_stuck, instance_id, runs, actor, action, note
        )
        if run is None:  # it moved on meanwhile
            return False
        flow, payload, _ = await asyncio.to_thread(self.store.payload, instance_id)
        await self.runtime.submit(flow, run_id(instance_id, run), instance_id, payload)
        return True

    async def _stuck_run(self, instance_id: str) -> int | None:
        """The run number of an instance left Received or Running by a run that has ended or
        vanished (None when it is not stuck)."""
        status = await asyncio.to_thread(self.store.status, instance_id)
        if status not in (InstanceStatus.RECEIVED, InstanceStatus.RUNNING):
            return None
        _, _, runs = await asyncio.to_thread(self.store.payload, instance_id)
        state = (await self.runtime.run_states([run_id(instance_id, runs)]))[
            run_id(instance_id, runs)
        ]
        ended = state is RunState.ENDED or (
            state is RunState.UNKNOWN and status is InstanceStatus.RUNNING
        )
        return runs if ended else None

    # error hospital ------------------------------------------------------------------------
    async def resubmit(self, instance_ids: list[str], actor: str, note: str = "") -> list[str]:
        """Run faulted instances again from the beginning; every step is idempotent. An
        instance left Received or Running by a run that has ended is accepted too."""
        done = []
        for instance_id in instance_ids:
            # Refused (HUB-NOT-IN-HOSPITAL) unless Faulted, checked in the same statement that
            # takes it out, so of two resubmits at once exactly one starts a run.
            try:
                run = await asyncio.to_thread(
                    self.store.prepare_rerun, instance_id, actor, "resubmit", note
                )
            except BusinessError as refused:
                stuck = await self._stuck_run(instance_id)
                if refused.code != "HUB-NOT-IN-HOSPITAL" or stuck is None:
                    raise
                if not await self._rerun_stuck(instance_id, stuck, actor, "resubmit", note):
                    raise
                done.append(instance_id)
                continue
            flow, payload, _ = await asyncio.to_thread(self.store.payload, instance_id)
            await self.runtime.submit(flow, run_id(instance_id, run), instance_id, payload)
            done.append(instance_id)
        return done

    async def discard(self, instance_ids: list[str], actor: str, note: str = "") -> list[str]:
        done = []
        for instance_id in instance_ids:
            # Refused (HUB-NOT-IN-HOSPITAL) unless Faulted, in one statement: a discard racing
            # a resubmit of the same instance never both happen.
            # The content of a discarded file may be delivered again: its receipt goes with it.
            release = None if self.receipts is None else self.receipts.release
            await asyncio.to_thread(
                functools.partial(self.store.discard, instance_id, actor, note, also=release)
            )
            done.append(instance_id)
        return done

    def hospital_ids(self, *, flow: str | None, category: str | None) -> list[str]:
        return self.store.ids_with_status([InstanceStatus.FAULTED], flow=flow, category=category)

    # flow control --------------------------------------------------------------------------
    def is_paused(self, code: str) -> bool:
        with self.db.read() as conn:
            return bool(
                conn.execute(
                    sa.select(flow_state.c.paused).where(flow_state.c.flow == code)
                ).scalar()
            )

    def _set_paused(self, code: str, paused: bool, actor: str) -> None:
        self.flow(code)
        now = self.clock.now().isoformat()
        with self.db.begin() as conn:
            conn.execute(flow_state.delete().where(flow_state.c.flow == code))
            conn.execute(
                flow_state.insert().values(
                    flow=code, paused=paused, updated_at=now, updated_by=actor
                )
            )

    async def pause(self, code: str, actor: str) -> None:
        """Hold new instances of a flow; they are accepted and kept, and run on resume."""
        await asyncio.to_thread(self._set_paused, code, True, actor)

    async def resume(self, code: str, actor: str) -> int:
        await asyncio.to_thread(self._set_paused, code, False, actor)
        held = await asyncio.to_thread(self.store.ids_with_status, [InstanceStatus.HELD], flow=code)
        for instance_id in held:
            await asyncio.to_thread(self.store.set_status, instance_id, InstanceStatus.RECEIVED)
            flow, payload, runs = await asyncio.to_thread(self.store.payload, instance_id)
            await self.runtime.submit(flow, run_id(instance_id, runs), instance_id, payload)
        return len(held)

    async def run_now(self, code: str, actor: str) -> list[Received]:
        """Start a scheduled flow now, outside its schedule: the instances it started."""
        flow = self.flow(code)
        if flow.spec.trigger != "schedule":
            raise BusinessError(
                f"{code} is triggered by messages from {flow.spec.source}, not by a schedule; "
                "there is nothing to run now",
                code="HUB-NOT-SCHEDULED",
            )
        now = self.clock.now()
        if isinstance(flow, FileFlow):
            return await self._scan(flow, now, actor)
        return [await self._start_scheduled(code, f"manual-{new_id()}", now, actor)]

    async def tick(self, code: str, at: datetime) -> None:
        """A scheduled time of a flow came; a paused flow lets it pass."""
        if await asyncio.to_thread(self.is_paused, code):
            log.info("%s is paused: the run of %s is skipped", code, at.isoformat())
            return
        flow = self.flow(code)
        if isinstance(flow, FileFlow):
            await self._scan(flow, at, "schedule")
            return
        await self._start_scheduled(
            code, f"scheduled-{at.strftime('%Y%m%dT%H%M%S')}", at, "schedule"
        )

    async def _scan(self, flow: FileFlow, at: datetime, actor: str) -> list[Received]:
        """List a file flow's source and start an instance per file.

        The instance id names the file and its version, so a file listed twice (two workers,
        two runs) starts once. A file whose instance faulted on a remote fault (a target was
        down) stayed in place: this run starts that instance again, once the target answers.
        """
        try:
            files = await flow.scan()
        except Fault as fault:
            log.error("%s: listing %s failed: %s", flow.spec.code, flow.store.location, fault)
            raise
        started = []
        ready: bool | None = None  # asked once per listing, and only when a file needs it
        for info in files:
            batch = flow.spec.batch.model_validate(
                {
                    "batchId": batch_id(info),
                    flow.spec.field: [
                        {
                            "fileName": info.name,
                            "size": info.size,
                            "modified": info.modified,
                            "version": info.version,
                            "foundAt": at.isoformat(),
                            "requestedBy": actor,
                        }
                    ],
                }
            )
            received = await self.accept(flow.spec.code, batch, actor)
            if received.duplicate and received.status is InstanceStatus.FAULTED:
                category = await asyncio.to_thread(self.store.fault_category, received.instance_id)
                if category == "remote" and ready is None:
                    ready = await flow.ready()
                if category == "remote" and ready:
                    await self._resubmit_waiting(received.instance_id, actor)
            started.append(received)
        return started

    async def _resubmit_waiting(self, instance_id: str, actor: str) -> None:
        """Run again the instance of a file still waiting after a remote fault, unless another
        listing (a second worker, a run-now) took it out of the hospital first."""
        try:
            await self.resubmit([instance_id], actor, "the file is still waiting: run again")
        except BusinessError as refused:
            if refused.code != "HUB-NOT-IN-HOSPITAL":
                raise
            log.info("%s was taken up by another listing", instance_id)

    async def _start_scheduled(
        self, code: str, batch_id: str, at: datetime, actor: str
    ) -> Received:
        spec = self.flow(code).spec
        batch = spec.batch.model_validate(
            {
                "batchId": batch_id,
                spec.field: [{"scheduledAt": at.isoformat(), "requestedBy": actor}],
            }
        )
        return await self.accept(code, batch, actor)

    def flow_list(self) -> list[dict[str, Any]]:
        counts = self.store.counts()
        with self.db.read() as conn:
            paused = {r.flow: r.paused for r in conn.execute(sa.select(flow_state))}
        return [
            {
                "code": code,
                "name": flow.spec.name,
                "source": flow.spec.source,
                "target": flow.spec.target,
                "trigger": flow.spec.trigger,
                "schedule": self.cron(code),
                "status": "paused" if paused.get(code) else "active",
                "instances": counts.get(code, {}),
            }
            for code, flow in self.flows.items()
        ]

    # health ----------------------------------------------------------------------------------
    async def target_health(self) -> dict[str, str]:
        async def check(name: str, client: Any) -> tuple[str, str]:
            try:
                await client.get("/api/v1/health")
                return name, "UP"
            except RemoteFault as exc:
                return name, f"DOWN: {exc.message}"
            except Exception as exc:  # a health check reports, it does not raise
                return name, f"ERROR: {exc}"

        results = await asyncio.gather(
            *(check(name, client) for name, client in self.targets.parts().items())
        )
        return dict(results)

    async def reconcile(self) -> dict[str, Any]:
        """Compare cpm's subscriptions with the DERMS registry (see ``flows/reconcile.py``)."""
        flow = self.flows["RECONCILE"]
        if not isinstance(flow, EnrollmentReconciliation):
            raise TypeError(f"RECONCILE is run by {type(flow).__name__}")
        return await flow.report()

    # the reconciliation's history: every run of RECONCILE, whoever started it ---------------
    def reconciliation_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The reconciliation's runs, newest first: by its schedule, from the console, or by
        ``derlink reconcile``; each with what it compared and found once it finished."""
        rows, _ = self.store.search_page(flow=RECONCILE, limit=limit)
        return [self.reconciliation_run(r["id"], items=False) for r in rows]

    def reconciliation_run(self, instance_id: str, *, items: bool = True) -> dict[str, Any]:
        """One run of the reconciliation, with its differences (``items``)."""
        detail = self.store.detail(instance_id)
        if detail["flow"] != RECONCILE:
            raise NotFound(f"{instance_id!r} is not a run of the reconciliation ({RECONCILE})")
        outcome = detail["outcome"] or {}
        run = {
            "instanceId": detail["id"],
            "status": detail["status"],
            "startedBy": detail["sender"],
            "receivedAt": detail["received_at"],
            "finishedAt": detail["finished_at"],
            "compared": outcome.get("processed"),
            "differences": outcome.get("differences"),
        }
        if items:
            run["items"] = [
                {"subscriptionId": e["key"], "difference": e["message"]}
                for e in outcome.get("errors", [])
            ]
        return run

    async def start_reconciliation(self, actor: str) -> dict[str, Any]:
        """Start a run of the reconciliation now; it joins the history."""
        (received,) = await self.run_now(RECONCILE, actor)
        return await asyncio.to_thread(self.reconciliation_run, received.instance_id, items=False)

    async def stats(self) -> dict[str, Any]:
        counts = await asyncio.to_thread(self.store.counts)
        by_status: dict[str, int] = {}
        for per_flow in counts.values():
            for status, n in per_flow.items():
                by_status[status] = by_status.get(status, 0) + n
        return {
            "instances": counts,
            "byStatus": by_status,
            "hospital": by_status.get(InstanceStatus.FAULTED.value, 0),
            "recordErrors": await asyncio.to_thread(self.store.record_error_codes),
            "activeRuns": await self.runtime.active_runs(),
        }

    # configuration (the console's lookups and flow configuration page) ---------------------
    def flow_property_list(self) -> list[dict[str, Any]]:
        """Every flow property that is set (``*`` means every flow), by flow and key."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(flow_properties).order_by(flow_properties.c.flow, flow_properties.c.key)
            )
            return [plain(r) for r in rows]

    def set_flow_property(self, flow: str, key: str, value: str | None, actor: str) -> None:
        """Set (or, with an empty value, remove) a flow property; validated and audited.

        Recipient lists (``to``, ``to.ProcessNotification``) must be e-mail addresses separated
        by commas; switches (``notify.*``) true or false. Read at each use: no restart needed.
        """
        if flow != "*":
            self.flow(flow)
        if key not in DEFAULT_PROPERTIES:
            raise BusinessError(
                f"unknown flow property {key!r}; known: {', '.join(sorted(DEFAULT_PROPERTIES))}",
                code="HUB-PROPERTY-UNKNOWN",
            )
        value = _property_value(key, value)
        now = self.clock.now().isoformat()
        with self.db.begin() as conn:
            set_audited(
                conn,
                flow_properties,
                flow_property_audit,
                {"flow": flow, "key": key},
                value,
                actor=actor,
                at=now,
            )

    def configuration_history(self, limit: int = 50) -> dict[str, list[dict[str, Any]]]:
        """The latest changes to lookups and to flow properties, newest first."""
        with self.db.read() as conn:
            lookups_changed = conn.execute(
                sa.select(lookup_audit).order_by(lookup_audit.c.id.desc()).limit(limit)
            )
            lookups_out = [plain(r) for r in lookups_changed]
            properties_changed = conn.execute(
                sa.select(flow_property_audit)
                .order_by(flow_property_audit.c.id.desc())
                .limit(limit)
            )
            properties_out = [plain(r) for r in properties_changed]
        return {"lookups": lookups_out, "properties": properties_out}


_ADDRESS = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_SWITCH = {"true": "true", "yes": "true", "on": "true", "1": "true"} | {
    "false": "false",
    "no": "false",
    "off": "false",
    "0": "false",
}


def _property_value(key: str, value: str | None) -> str | None:
    """The value to store for a flow property, or None to remove it; refuses a bad one."""
    text = (value or "").strip()
    if not text:
        return None
    if DEFAULT_PROPERTIES[key] in ("true", "false"):
        if text.lower() not in _SWITCH:
            raise BusinessError(
                f"{key} is a switch: true or false, not {text!r}", code="HUB-PROPERTY-VALUE"
            )
        return _SWITCH[text.lower()]
    addresses = [a.strip() for a in text.split(",") if a.strip()]
    bad = [a for a in addresses if not _ADDRESS.match(a)]
    if bad or not addresses:
        raise BusinessError(
            f"{key} takes e-mail addresses separated by commas; not an address: "
            f"{', '.join(bad) if bad else repr(text)}",
            code="HUB-PROPERTY-VALUE",
        )
    if len(text) > 2000:
        raise BusinessError(f"{key} is longer than 2000 characters", code="HUB-PROPERTY-VALUE")
    return ", ".join(addresses)
