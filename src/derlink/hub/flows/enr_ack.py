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

from derlink.common.errors import BusinessFault, Fault
from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.connections import Targets
from derlink.hub.model import (
    FlowOutcome,
    RecordError,
    acknowledgement_from_msgack,
    correlation_id,
)
from derlink.hub.runtime.port import FlowContext

SINGLE_CALL_CONCURRENCY = 16
#: The most acknowledgements one collection call to cpm carries.
COLLECTION = 5000


async def deliver_acknowledgements(
    targets: Targets, acknowledgements: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """cpm's update-and-transition for each acknowledgement, one result each, in order.

    To derlink's cpm as collections; to a target that only takes single records, one call per
    record (at most SINGLE_CALL_CONCURRENCY at once), a refused record being a result too."""
    if targets.cpm_mode != "single":
        results: list[dict[str, Any]] = []
        for start in range(0, len(acknowledgements), COLLECTION):
            body = await targets.cpm.post(
                "/api/v1/sync-requests/acknowledgements",
                {"acknowledgements": acknowledgements[start : start + COLLECTION]},
            )
            results.extend(body["results"])
        return results
    gate = asyncio.Semaphore(SINGLE_CALL_CONCURRENCY)

    async def one(ack: dict[str, Any]) -> dict[str, Any]:
        async with gate:
            try:
                result: dict[str, Any] = await targets.cpm.post(
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


class EnrollmentAcknowledgement:
    spec: ClassVar[FlowSpec] = FLOWS["ENR-ACK"]

    def __init__(self, targets: Targets) -> None:
        self.targets = targets

    def keys(self, record: dict[str, Any]) -> list[tuple[str, str]]:
        return [("syncRequestId", correlation_id(record))]

    async def run(self, ctx: FlowContext, message: dict[str, Any]) -> FlowOutcome:
        acknowledgements = [acknowledgement_from_msgack(a) for a in message["acks"]]
        name = "deliver-cpm-single" if self.targets.cpm_mode == "single" else "deliver-cpm"
        results = await ctx.step(name, deliver_acknowledgements, self.targets, acknowledgements)
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

    async def on_fault(self, ctx: FlowContext, message: dict[str, Any], fault: Fault) -> None:
        return None
