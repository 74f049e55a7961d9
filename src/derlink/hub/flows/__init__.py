"""One module per integration flow of the SPEC §2.1 catalog, named after it.

Every flow has the same shape: ``code``, the batch schema of its intake, ``keys`` (the
business identifiers of a record, primary first), ``run`` (the steps, through the runtime
port's ``FlowContext``) and ``on_fault`` (the FAILURE ack, where the sender expects one).
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from pydantic import BaseModel

from derlink.common.errors import Fault
from derlink.hub.model import FlowOutcome
from derlink.hub.runtime.port import FlowContext


class Flow(Protocol):
    code: ClassVar[str]
    name: ClassVar[str]
    source: ClassVar[str]
    target: ClassVar[str]
    #: "message" (a party sends it) or "schedule" (the hub starts it on its cron).
    trigger: ClassVar[str]
    #: The cron of a scheduled flow (six fields, seconds first, UTC); None for message flows.
    schedule: str | None
    #: The list field of the intake body that carries the records.
    field: ClassVar[str]
    batch: ClassVar[type[BaseModel]]

    def keys(self, record: dict[str, Any]) -> list[tuple[str, str]]:
        """Up to three business identifiers of one record, the primary one first."""
        ...

    async def run(self, ctx: FlowContext, message: dict[str, Any]) -> FlowOutcome: ...

    async def on_fault(self, ctx: FlowContext, message: dict[str, Any], fault: Fault) -> None:
        """Tell the sender the whole message failed, where it expects an ack."""
        ...
