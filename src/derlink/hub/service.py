"""The hub's service functions: intake, the error hospital, flow control, health."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel

from derlink.common.clock import Clock
from derlink.common.errors import BusinessError, NotFound, RemoteFault
from derlink.common.ids import new_id
from derlink.hub.connections import Targets
from derlink.hub.flows import Flow
from derlink.hub.model import InstanceStatus
from derlink.hub.reconcile import reconcile
from derlink.hub.runtime.port import Runtime
from derlink.hub.tables import flow_state
from derlink.hub.tracking import InstanceStore, Received
from derlink.platform.database import Database

log = logging.getLogger("derlink.hub")


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

    def flow(self, code: str) -> Flow:
        try:
            return self.flows[code]
        except KeyError:
            raise NotFound(
                f"no flow {code!r}; flows: {', '.join(sorted(self.flows))}", code="HUB-FLOW-UNKNOWN"
            ) from None

    # intake -----------------------------------------------------------------------------
    async def accept(self, code: str, batch: BaseModel, sender: str) -> Received:
        """Persist a message and queue its instance; answers before any target is called."""
        flow = self.flow(code)
        payload = batch.model_dump(mode="json")
        records: list[dict[str, Any]] = payload[flow.field]
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
        return received

    async def submit_waiting(self) -> int:
        """Queue every instance received but not yet queued (a crash between the two)."""
        ids = await asyncio.to_thread(self.store.ids_with_status, [InstanceStatus.RECEIVED])
        for instance_id in ids:
            flow, payload, runs = await asyncio.to_thread(self.store.payload, instance_id)
            await self.runtime.submit(flow, run_id(instance_id, runs), instance_id, payload)
        return len(ids)

    # error hospital ------------------------------------------------------------------------
    async def resubmit(self, instance_ids: list[str], actor: str, note: str = "") -> list[str]:
        """Run faulted instances again from the beginning; every step is idempotent."""
        done = []
        for instance_id in instance_ids:
            status = await asyncio.to_thread(self.store.status, instance_id)
            if status is not InstanceStatus.FAULTED:
                raise BusinessError(
                    f"instance {instance_id} is {status.value}, not in the hospital",
                    code="HUB-NOT-IN-HOSPITAL",
                )
            run = await asyncio.to_thread(
                self.store.prepare_rerun, instance_id, actor, "resubmit", note
            )
            flow, payload, _ = await asyncio.to_thread(self.store.payload, instance_id)
            await self.runtime.submit(flow, run_id(instance_id, run), instance_id, payload)
            done.append(instance_id)
        return done

    async def discard(self, instance_ids: list[str], actor: str, note: str = "") -> list[str]:
        done = []
        for instance_id in instance_ids:
            status = await asyncio.to_thread(self.store.status, instance_id)
            if status is not InstanceStatus.FAULTED:
                raise BusinessError(
                    f"instance {instance_id} is {status.value}, not in the hospital",
                    code="HUB-NOT-IN-HOSPITAL",
                )
            await asyncio.to_thread(self.store.discard, instance_id, actor, note)
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

    async def run_now(self, code: str, actor: str) -> Received:
        """Start a scheduled flow now, outside its schedule."""
        flow = self.flow(code)
        if flow.trigger != "schedule":
            raise BusinessError(
                f"{flow.code} is triggered by messages from {flow.source}, not by a schedule; "
                "there is nothing to run now",
                code="HUB-NOT-SCHEDULED",
            )
        now = self.clock.now()
        return await self._start_scheduled(code, f"manual-{new_id()}", now, actor)

    async def tick(self, code: str, at: datetime) -> None:
        """A scheduled time of a flow came; a paused flow lets it pass."""
        if await asyncio.to_thread(self.is_paused, code):
            log.info("%s is paused: the run of %s is skipped", code, at.isoformat())
            return
        await self._start_scheduled(
            code, f"scheduled-{at.strftime('%Y%m%dT%H%M%S')}", at, "schedule"
        )

    async def _start_scheduled(
        self, code: str, batch_id: str, at: datetime, actor: str
    ) -> Received:
        flow = self.flow(code)
        batch = flow.batch.model_validate(
            {
                "batchId": batch_id,
                flow.field: [{"scheduledAt": at.isoformat(), "requestedBy": actor}],
            }
        )
        return await self.accept(code, batch, actor)

    def flow_list(self) -> list[dict[str, Any]]:
        counts = self.store.counts()
        with self.db.read() as conn:
            paused = {r.flow: r.paused for r in conn.execute(sa.select(flow_state))}
        return [
            {
                "code": f.code,
                "name": f.name,
                "source": f.source,
                "target": f.target,
                "trigger": f.trigger,
                "schedule": f.schedule,
                "status": "paused" if paused.get(f.code) else "active",
                "instances": counts.get(f.code, {}),
            }
            for f in self.flows.values()
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
            check("cpm", self.targets.cpm), check("derms", self.targets.derms)
        )
        return dict(results)

    async def reconcile(self) -> dict[str, Any]:
        """Compare cpm's subscriptions with the DERMS registry (see ``reconcile.py``)."""
        return await reconcile(self.targets.cpm, self.targets.derms)

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
