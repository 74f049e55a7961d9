"""DEV-STATUS — Device Status Check (+ ack) (SPEC §2.1).

Out: cpm asks whether DERMS can reach a device; the hub delivers the checks to DERMS.
Back (DEV-STATUS-ACK): DERMS answers each check asynchronously; the hub delivers the answers
to cpm's device-status response, ``transactionId`` being the original dacsMessageId.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from derlink.common.errors import Fault
from derlink.hub.connections import Targets
from derlink.hub.model import FlowOutcome
from derlink.hub.runtime.port import FlowContext
from derlink.hub.schemas import StatusAnswerBatch, StatusCheckBatch


class DeviceStatusCheck:
    code: ClassVar[str] = "DEV-STATUS"
    name: ClassVar[str] = "Device Status Check"
    source: ClassVar[str] = "cpm"
    target: ClassVar[str] = "derms"
    trigger: ClassVar[str] = "message"
    schedule: str | None = None
    field: ClassVar[str] = "messages"
    batch: ClassVar[type[BaseModel]] = StatusCheckBatch

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


class DeviceStatusAnswer:
    code: ClassVar[str] = "DEV-STATUS-ACK"
    name: ClassVar[str] = "Device Status Check Acknowledgement"
    source: ClassVar[str] = "derms"
    target: ClassVar[str] = "cpm"
    trigger: ClassVar[str] = "message"
    schedule: str | None = None
    field: ClassVar[str] = "responses"
    batch: ClassVar[type[BaseModel]] = StatusAnswerBatch

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
