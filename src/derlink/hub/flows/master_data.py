"""Master data from cpm to DERMS, what PROG-RULE and AGGREGATOR share
(docs/contracts/master-data.md), and OPT-OUT and UNAVAIL too (docs/contracts/opt-outs.md,
docs/contracts/unavailability.md).

cpm sends a program's whole rule set, or an aggregator's whole state, stamped with a version,
one record each. The hub maps a rule's lookup values (AllowEventDays, CycleFrequency), delivers
the records to DERMS in collection calls, and acknowledges every record to cpm: SUCCESS for
what DERMS applied or already held (Stale), ERROR with the code and message for what the
lookups or DERMS refused. DERMS keeps a version once, so a retried or resubmitted delivery has
no second effect; cpm ignores an acknowledgement of a version older than its latest.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from derlink.common.errors import Fault
from derlink.hub.catalog import FlowSpec
from derlink.hub.connections import Targets
from derlink.hub.model import FlowOutcome, RecordError
from derlink.hub.runtime.port import FlowContext

#: Records per durable step and per call to DERMS.
CHUNK = 500
#: DERMS's answer to a record it already held at that version or newer: not an error.
STALE = "Stale"
REJECTED = "Rejected"

Record = dict[str, Any]


class MasterDataFlow(ABC):
    """What both flows do; each names its batch field, DERMS's service and its record key."""

    spec: ClassVar[FlowSpec]
    #: DERMS's collection service for the flow's records.
    derms_path: ClassVar[str]
    #: cpm's service that takes DERMS's answers, one acknowledgement per record.
    ack_path: ClassVar[str] = "/api/v1/master-data/acknowledgements"

    def __init__(self, targets: Targets) -> None:
        self.targets = targets

    @abstractmethod
    def code_of(self, record: Record) -> str:
        """The record's key: the program's or the aggregator's code."""

    def keys(self, record: Record) -> list[tuple[str, str]]:
        return [("code", self.code_of(record)), ("dacsMessageId", record["dacsMessageId"])]

    async def map(self, records: list[Record]) -> list[tuple[Record, RecordError | None]]:
        """Each record as DERMS takes it, or why it cannot be mapped."""
        return [(r, None) for r in records]

    async def run(self, ctx: FlowContext, message: Record) -> FlowOutcome:
        records: list[Record] = message[self.spec.field]
        mapped, answers = await ctx.step("map-lookups", self._map_step, records)
        for start in range(0, len(mapped), CHUNK):
            chunk = mapped[start : start + CHUNK]
            answers += await ctx.step(
                f"deliver-derms-{start // CHUNK + 1}", self._deliver, message["batchId"], chunk
            )
        await ctx.step("ack-cpm", self._acknowledge, answers)
        errors = [
            RecordError(a["code"], a.get("errorCode") or "DERMS-REJECTED", a.get("detail") or "")
            for a in answers
            if a["outcome"] == REJECTED
        ]
        return FlowOutcome(
            processed=len(records),
            succeeded=len(records) - len(errors),
            errors=errors,
            notes={"stale": sum(1 for a in answers if a["outcome"] == STALE)},
        )

    async def _map_step(self, records: list[Record]) -> tuple[list[Record], list[Record]]:
        """The records DERMS is to take, and an answer (Rejected) for each that cannot be
        mapped, shaped as DERMS answers."""
        mapped: list[Record] = []
        refused: list[Record] = []
        for record, error in await self.map(records):
            if error is None:
                mapped.append(record)
            else:
                refused.append({"code": error.key, "version": record["version"],
                                "outcome": REJECTED, "errorCode": error.code,
                                "detail": error.message})  # fmt: skip
        return mapped, refused

    async def _deliver(self, batch_id: str, chunk: list[Record]) -> list[Record]:
        body = await self.targets.derms.post(
            self.derms_path, {"batchId": batch_id, self.spec.field: chunk}
        )
        answers: list[Record] = body["results"]
        return answers

    async def _acknowledge(self, answers: list[Record]) -> None:
        """One acknowledgement per record to cpm: ERROR with the code and message of a refused
        record, SUCCESS for what DERMS applied or already held."""
        acks = [
            {
                "kind": self.spec.code,
                "code": a["code"],
                "version": a["version"],
                "status": "ERROR" if a["outcome"] == REJECTED else "SUCCESS",
                "errorCode": (a.get("errorCode") or "") if a["outcome"] == REJECTED else "",
                "message": (a.get("detail") or "") if a["outcome"] == REJECTED else "",
            }
            for a in answers
        ]
        await self.targets.cpm.post(self.ack_path, {"acknowledgements": acks})

    async def on_fault(self, ctx: FlowContext, message: Record, fault: Fault) -> None:
        """No FAILURE ack: cpm shows the versions as Pending while the instance is in the
        hospital, and a resubmit delivers them."""
        return None
