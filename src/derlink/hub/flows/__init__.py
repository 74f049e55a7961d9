"""The hub's flows: one module per flow of the catalog, named after its code (ENR-REQ is
``enr_req.py``); the machinery several flows share lives in modules named for what it does
(``files.py``: the file flows; ``delivery.py``: a collection call or one call per record).

What a flow *is* (code, name, trigger, source, target, intake schema, concurrency) is its row
of the catalog (``hub/catalog.py``); a flow module holds only what it *does*: ``keys`` (the
business identifiers of a record, primary first), ``run`` (the steps, through the runtime
port's ``FlowContext``) and ``on_fault`` (the FAILURE ack, where the sender expects one).
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

from derlink.common.errors import Fault
from derlink.hub.catalog import FlowSpec
from derlink.hub.model import FlowOutcome
from derlink.hub.runtime.port import FlowContext


class Flow(Protocol):
    #: The flow's row of the catalog.
    spec: ClassVar[FlowSpec]

    def keys(self, record: dict[str, Any]) -> list[tuple[str, str]]:
        """Up to three business identifiers of one record, the primary one first."""
        ...

    async def run(self, ctx: FlowContext, message: dict[str, Any]) -> FlowOutcome: ...

    async def on_fault(self, ctx: FlowContext, message: dict[str, Any], fault: Fault) -> None:
        """Tell the sender the whole message failed, where it expects an ack."""
        ...
