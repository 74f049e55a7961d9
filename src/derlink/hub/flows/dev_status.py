"""DEV-STATUS — Device Status Check: cpm → DERMS status check.

cpm asks whether DERMS can reach a device; the hub delivers the checks to DERMS, which answers
each one later, asynchronously, through DEV-STATUS-ACK (``dev_status_ack.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from derlink.common.errors import Fault
from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.connections import Targets
from derlink.hub.model import FlowOutcome
from derlink.hub.runtime.port import FlowContext


class DeviceStatusCheck:
    spec: ClassVar[FlowSpec] = FLOWS["DEV-STATUS"]

    def __init__(self, targets: Targets) -> None:
        self.targets = targets

    def keys(self, record: dict[str, Any]) -> list[tuple[str, str]]:
        info = record["deviceInfo"]
        return [
            ("dacsMessageId", record["dacsMessageId"]),
            ("nicId", info["nicId"]),
            ("headEndSystem", info["headEndSystem"]),
        ]

    async def run(self, ctx: FlowContext, message: dict[str, Any]) -> FlowOutcome:
        records = message["messages"]
        await ctx.step("deliver-derms-status-check", self._deliver, message["batchId"], records)
        return FlowOutcome(processed=len(records), succeeded=len(records))

    async def _deliver(self, batch_id: str, records: list[dict[str, Any]]) -> None:
        await self.targets.derms.post(
            "/api/v1/device-status-checks",
            {"batchId": batch_id, "messages": records},
            idempotency_key=f"DEV-STATUS-{batch_id}",
        )

    async def on_fault(self, ctx: FlowContext, message: dict[str, Any], fault: Fault) -> None:
        return None
