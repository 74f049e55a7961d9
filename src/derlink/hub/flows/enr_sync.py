"""ENR-SYNC — Enrollment Synchronization: cpm → DERMS Enroll.

cpm sends one EnrollSync per completed enrollment, unenrollment or device replacement,
batched by its outbox. The hub delivers the batch to DERMS Enroll in one call; DERMS answers
202 and acknowledges each record later, through ENR-ACK. DERMS Enroll is idempotent by
dacsMessageId, so a retried or resubmitted delivery has no second effect. No FAILURE ack goes
back to cpm: its sync requests stay Awaiting Acknowledgement while the instance is in the
hospital, and a resubmit completes them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from derlink.common.errors import Fault
from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.connections import Targets
from derlink.hub.model import FlowOutcome
from derlink.hub.runtime.port import FlowContext


class EnrollmentSync:
    spec: ClassVar[FlowSpec] = FLOWS["ENR-SYNC"]

    def __init__(self, targets: Targets) -> None:
        self.targets = targets

    def keys(self, record: dict[str, Any]) -> list[tuple[str, str]]:
        return [
            ("syncRequestId", record["dacsMessageId"]),
            ("enrollmentId", record["subscriptionInfo"]["subscriptionId"]),
            ("servicePointId", record["locationInfo"]["cisServicePointId"]),
        ]

    async def run(self, ctx: FlowContext, message: dict[str, Any]) -> FlowOutcome:
        records = message["messages"]
        await ctx.step("deliver-derms-enroll", self._deliver, message["batchId"], records)
        return FlowOutcome(processed=len(records), succeeded=len(records))

    async def _deliver(self, batch_id: str, records: list[dict[str, Any]]) -> None:
        await self.targets.derms.post(
            "/api/v1/enrollments",
            {"batchId": batch_id, "messages": records},
            idempotency_key=f"ENR-SYNC-{batch_id}",
        )

    async def on_fault(self, ctx: FlowContext, message: dict[str, Any], fault: Fault) -> None:
        return None
