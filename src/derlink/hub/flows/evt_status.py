"""EVT-STATUS — Program Event Status Update: DERMS → cpm program events
(docs/contracts/event-status.md).

DERMS sends every transition of a stage cpm knows of, in order. The hub maps the event's type
to cpm's program event category through the lookup EventType (a type the lookup does not hold
fails that record, ``HUB-LOOKUP-EVENTTYPE``), then, one record after the other: a stage Scheduled
creates its program event (cpm answers ``Exists`` to a second create); a stage In Progress,
Completed or Canceled applies the lifecycle action X1IP, F1CO or F1CN (with the cancel reason)
— and where cpm holds no program event for the stage yet (its create failed, or went to
another worker), the hub creates it first. cpm's lifecycle is monotone: a re-delivered or late
action answers ``Unchanged``, so a retried step, a resubmit or a re-delivered batch has no
second effect.

At the end one MsgAck goes back to DERMS, a response per message: SUCCESS with cpm's program
event id, or the code and reason of cpm's refusal; after a technical or remote failure of the
whole message (cpm unreachable past the flow's patience), a FAILURE ack of every message.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from derlink.common.clock import Clock
from derlink.common.errors import BusinessFault, Fault
from derlink.contracts.acks import AckType
from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.connections import Targets
from derlink.hub.flows.delivery import record_error, refusal
from derlink.hub.model import FlowOutcome, RecordError, lookup_error, msg_ack, results_ack
from derlink.hub.ports import LookupTables
from derlink.hub.runtime.port import FlowContext

Record = dict[str, Any]

#: Messages per durable step. Each goes to cpm on its own, in order.
CHUNK = 50
#: The lifecycle action of each state a stage moves to after Scheduled.
ACTIONS = {"In Progress": "X1IP", "Completed": "F1CO", "Canceled": "F1CN"}
#: cpm's code for a stage it holds no program event of.
UNKNOWN = "CPM-PROGRAM-EVENT-UNKNOWN"
#: The longest cancel reason cpm takes.
REASON_MAX = 254
#: The reason sent when DERMS gave none.
NO_REASON = "canceled in DERMS"


class EventStatusFlow:
    spec: ClassVar[FlowSpec] = FLOWS["EVT-STATUS"]

    def __init__(self, targets: Targets, lookups: LookupTables, clock: Clock) -> None:
        self.targets = targets
        self.lookups = lookups
        self.clock = clock

    def keys(self, record: Record) -> list[tuple[str, str]]:
        return [
            ("messageId", record["messageId"]),
            ("eventId", record["eventId"]),
            ("stageId", record["stageId"]),
        ]

    async def run(self, ctx: FlowContext, message: Record) -> FlowOutcome:
        statuses: list[Record] = message[self.spec.field]
        mapped, results = await ctx.step("map-event-type", self._map, statuses)
        for start in range(0, len(mapped), CHUNK):
            chunk = mapped[start : start + CHUNK]
            results += await ctx.step(f"deliver-cpm-{start // CHUNK + 1}", self._deliver, chunk)
        await ctx.step("ack-derms", self._ack_results, message["batchId"], results)
        errors = [
            RecordError(r["messageId"], r["code"], r["message"]) for r in results if not r["ok"]
        ]
        return FlowOutcome(
            processed=len(results),
            succeeded=len(results) - len(errors),
            errors=errors,
            notes={
                "created": sum(1 for r in results if r.get("outcome") == "Created"),
                "unchanged": sum(1 for r in results if r.get("outcome") in ("Exists", "Unchanged")),
                "createdLate": sum(1 for r in results if r.get("createdLate")),
            },
        )

    async def _map(self, statuses: list[Record]) -> tuple[list[Record], list[Record]]:
        """Each message with cpm's category, or a result refusing it: the lookup EventType
        holds no value for its event type."""
        categories = await asyncio.to_thread(self.lookups.table, "EventType")
        mapped: list[Record] = []
        refused: list[Record] = []
        for record in statuses:
            category = categories.get(record["eventType"])
            if category:
                mapped.append({**record, "category": category})
                continue
            error = lookup_error(record["messageId"], "EventType", record["eventType"])
            refused.append(
                {"messageId": error.key, "ok": False, "code": error.code, "message": error.message}
            )
        return mapped, refused

    async def _deliver(self, chunk: list[Record]) -> list[Record]:
        """Each message to cpm, one after the other: a stage's transitions keep their order."""
        return [await self._one(record) for record in chunk]

    async def _one(self, record: Record) -> Record:
        message_id = record["messageId"]
        try:
            if record["status"] == "Scheduled":
                answer = await self._create(record)
                return _ok(message_id, answer)
            try:
                answer = await self._act(record)
                return _ok(message_id, answer)
            except BusinessFault as fault:
                if fault.code != UNKNOWN:
                    raise
            await self._create(record)
            return {**_ok(message_id, await self._act(record)), "createdLate": True}
        except BusinessFault as fault:
            error = record_error(refusal("messageId", message_id, fault), message_id)
            return {"messageId": message_id, "ok": False, "code": error.code,
                    "message": error.message}  # fmt: skip

    async def _create(self, record: Record) -> Record:
        body = {
            "startDateTime": record["startDateTime"],
            "endDateTime": record["endDateTime"],
            "eventExternalIdentifier": record["eventId"],
            "externalIdentifier": record["stageId"],
            "programExternalIdentifier": record.get("programExternalId") or record["programCode"],
            "programEventCategory": record["category"],
        }
        answer: Record = await self.targets.cpm.post("/api/v1/program-events", body)
        return answer

    async def _act(self, record: Record) -> Record:
        action = ACTIONS[record["status"]]
        reason = ""
        if action == "F1CN":
            reason = (record.get("cancelReason") or "").strip()[:REASON_MAX] or NO_REASON
        body = {
            "action": action,
            "cancelReason": reason,
            "eventExternalIdentifier": record["eventId"],
            "externalIdentifier": record["stageId"],
        }
        answer: Record = await self.targets.cpm.post("/api/v1/program-events/lifecycle", body)
        return answer

    async def _ack_results(self, batch_id: str, results: list[Record]) -> None:
        ack = results_ack(results, self.clock.now(), answer="programEventId", limit=500)
        await self._ack(batch_id, ack)

    async def _ack(self, batch_id: str, ack: Record) -> None:
        await self.targets.derms.post(
            "/api/v1/acks/event-status", ack, idempotency_key=f"EVT-STATUS-ACK-{batch_id}"
        )

    async def on_fault(self, ctx: FlowContext, message: Record, fault: Fault) -> None:
        """A FAILURE ack of every message: DERMS shows each transition Failed until a resubmit
        delivers it (a transition delivered already stays Delivered there)."""
        reason = fault.message[:500]
        ack = msg_ack(
            AckType.FAILURE,
            self.clock.now(),
            [
                {"id": m, "dacsMessageId": m, "value": reason, "responseCode": "FAILURE"}
                for m in (r["messageId"] for r in message[self.spec.field])
            ],
        )
        await ctx.step("failure-ack-derms", self._ack, message["batchId"], ack)


def _ok(message_id: str, answer: Record) -> Record:
    return {
        "messageId": message_id,
        "ok": True,
        "outcome": str(answer.get("outcome", "")),
        "programEventId": str((answer.get("programEvent") or {}).get("id", "")),
    }
