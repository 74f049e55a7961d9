"""ENR-ACK — Enrollment Acknowledgement: DERMS → cpm update-and-transition.

DERMS acknowledges each EnrollSync with a MsgAck carrying the dacsMessageId (the sync
request id) and a head-end registration per device. The hub maps each MsgAck to cpm's
postAcknowledgement and delivers them: as one collection to derlink's cpm, or one call per
record to a target that only takes single records. cpm suppresses a second ack for the same
syncRequestId (outcome Duplicate) — that is success, not an error. A record cpm rejects
(unknown or discarded sync request, a device the subscription does not hold) is a business
error of that record only.
"""

from __future__ import annotations

from typing import Any, ClassVar

from derlink.common.errors import Fault
from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.connections import Targets
from derlink.hub.flows.delivery import acknowledge, results_outcome
from derlink.hub.model import FlowOutcome, acknowledgement_from_msgack, correlation_id
from derlink.hub.runtime.port import FlowContext


class EnrollmentAcknowledgement:
    spec: ClassVar[FlowSpec] = FLOWS["ENR-ACK"]

    def __init__(self, targets: Targets) -> None:
        self.targets = targets

    def keys(self, record: dict[str, Any]) -> list[tuple[str, str]]:
        return [("syncRequestId", correlation_id(record))]

    async def run(self, ctx: FlowContext, message: dict[str, Any]) -> FlowOutcome:
        acknowledgements = [acknowledgement_from_msgack(a) for a in message["acks"]]
        name = "deliver-cpm-single" if self.targets.cpm_mode == "single" else "deliver-cpm"
        results = await ctx.step(name, acknowledge, self.targets, acknowledgements)
        return results_outcome(results, "syncRequestId")

    async def on_fault(self, ctx: FlowContext, message: dict[str, Any], fault: Fault) -> None:
        return None
