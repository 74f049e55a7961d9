"""ENR-ACK — Enrollment Acknowledgement (SPEC §2.1): DERMS → cpm update-and-transition.

DERMS acknowledges each EnrollSync with a MsgAck carrying the dacsMessageId (the sync
request id) and a head-end registration per device. The hub maps each MsgAck to cpm's
postAcknowledgement and delivers them: as one collection to derlink's cpm, or one call per
record to a target that only takes single records. cpm suppresses a second ack for the same
syncRequestId (outcome Duplicate) — that is success, not an error. A record cpm rejects
(unknown or discarded sync request) is a business error of that record only.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from pydantic import BaseModel

from derlink.common.errors import BusinessFault, Fault
from derlink.hub.connections import Targets
from derlink.hub.model import (
    FlowOutcome,
    RecordError,
    acknowledgement_from_msgack,
    correlation_id,
)
from derlink.hub.runtime.port import FlowContext
from derlink.hub.schemas import EnrollAckBatch

SINGLE_CALL_CONCURRENCY = 16


class EnrollmentAcknowledgement:
    code: ClassVar[str] = "ENR-ACK"
    name: ClassVar[str] = "Enrollment Acknowledgement"
    source: ClassVar[str] = "derms"
    target: ClassVar[str] = "cpm"
    trigger: ClassVar[str] = "message"
    schedule: str | None = None
    field: ClassVar[str] = "acks"
    batch: ClassVar[type[BaseModel]] = EnrollAckBatch

    def __init__(self, targets: Targets) -> None:
        self.targets = targets

    def keys(self, record: dict[str, Any]) -> list[tuple[str, str]]:
        return [("syncRequestId", correlation_id(record))]

    async def run(self, ctx: FlowContext, message: dict[str, Any]) -> FlowOutcome:
        acknowledgements = [acknowledgement_from_msgack(a) for a in message["acks"]]
        if self.targets.cpm_mode == "single":
            results = await ctx.step("deliver-cpm-single", self._deliver_single, acknowledgements)
        else:
            results = await ctx.step(
                "deliver-cpm-acknowledgements", self._deliver, acknowledgements
            )
        errors = [
            RecordError(r["syncRequestId"], r.get("code") or "CPM-REJECTED", r.get("detail") or "")
            for r in results
            if r.get("outcome") == "Rejected"
        ]
        return FlowOutcome(
            processed=len(results),
            succeeded=len(results) - len(errors),
            errors=errors,
            notes={"duplicates": sum(1 for r in results if r.get("outcome") == "Duplicate")},
        )

    async def _deliver(self, acknowledgements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        body = await self.targets.cpm.post(
            "/api/v1/sync-requests/acknowledgements", {"acknowledgements": acknowledgements}
        )
        results: list[dict[str, Any]] = body["results"]
        return results

    async def _deliver_single(self, acknowledgements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        gate = asyncio.Semaphore(SINGLE_CALL_CONCURRENCY)

        async def one(ack: dict[str, Any]) -> dict[str, Any]:
            async with gate:
                try:
                    result: dict[str, Any] = await self.targets.cpm.post(
                        f"/api/v1/sync-requests/{ack['syncRequestId']}/update-and-transition", ack
                    )
                    return result
                except BusinessFault as exc:
                    return {
                        "syncRequestId": ack["syncRequestId"],
                        "outcome": "Rejected",
                        "code": exc.code,
                        "detail": exc.message,
                    }

        return list(await asyncio.gather(*(one(a) for a in acknowledgements)))

    async def on_fault(self, ctx: FlowContext, message: dict[str, Any], fault: Fault) -> None:
        return None
