"""DEV-STATUS-ACK — Device Status Check Acknowledgement (SPEC §2.1): DERMS → cpm.

DERMS answers each status check of DEV-STATUS (``dev_status.py``) asynchronously; the hub
delivers the answers to cpm's device-status response, ``transactionId`` being the original
dacsMessageId.
"""

from __future__ import annotations

from typing import Any, ClassVar

from derlink.common.errors import Fault
from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.connections import Targets
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
        await ctx.step("deliver-cpm-status-response", self._deliver, records)
        return FlowOutcome(processed=len(records), succeeded=len(records))

    async def _deliver(self, records: list[dict[str, Any]]) -> None:
        await self.targets.cpm.post("/api/v1/device-status-responses", {"responses": records})

    async def on_fault(self, ctx: FlowContext, message: dict[str, Any], fault: Fault) -> None:
        return None
