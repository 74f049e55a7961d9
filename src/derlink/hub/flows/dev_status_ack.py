"""DEV-STATUS-ACK — Device Status Check Acknowledgement: DERMS → cpm.

DERMS answers each status check of DEV-STATUS (``dev_status.py``) asynchronously; the hub
delivers the answers to cpm's device-status response, ``transactionId`` being the original
dacsMessageId. cpm answers each record: recorded, a duplicate of an answer it has (suppressed,
not an error), or refused (an answer for a check cpm never started) — a business error of that
record only, recorded like every other flow's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from derlink.common.errors import Fault, TechnicalFault
from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.connections import Targets
from derlink.hub.flows.delivery import results_outcome
from derlink.hub.model import FlowOutcome
from derlink.hub.runtime.port import FlowContext


class DeviceStatusAcknowledgement:
    spec: ClassVar[FlowSpec] = FLOWS["DEV-STATUS-ACK"]

    def __init__(self, targets: Targets) -> None:
        self.targets = targets

    def keys(self, record: dict[str, Any]) -> list[tuple[str, str]]:
        return [("dacsMessageId", record["transactionId"])]

    async def run(self, ctx: FlowContext, message: dict[str, Any]) -> FlowOutcome:
        records = message["responses"]
        results = await ctx.step("deliver-cpm-status-response", self._deliver, records)
        return results_outcome(results, "transactionId")

    async def _deliver(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        body = await self.targets.cpm.post(
            "/api/v1/device-status-responses", {"responses": records}
        )
        results: list[dict[str, Any]] = body["results"]
        if len(results) != len(records):
            raise TechnicalFault(
                f"cpm answered {len(results)} results for {len(records)} device-status responses"
            )
        return results

    async def on_fault(self, ctx: FlowContext, message: dict[str, Any], fault: Fault) -> None:
        return None
