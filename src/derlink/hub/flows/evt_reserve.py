"""EVT-RESERVE — Event Device Reservation: DERMS → cpm reserve device
(docs/contracts/event-reservations.md).

DERMS writes one reservation file per stage to its content server
and sends a message naming it, one message per instance. The hub maps the event's type through
the lookup EventType and makes sure cpm holds the stage's program event (a create cpm answers
``Exists`` when EVT-STATUS brought it first), then takes the file through the file-flow
machinery (``files.py``): cpm's health checked before any row, the file's content claimed once,
its rows read in windows and delivered to cpm's reserve-device service in collections, each
window a durable step, the file renamed ``Sent-``. A row that does not hold, or that cpm
refuses (a device it does not hold in the stage's program), is a row error; the others go on.
At the end one MsgAck goes to DERMS: SUCCESS, or the counts and the first refusals; after a
fault of the whole file, a FAILURE ack.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, ClassVar

from derlink.common.clock import Clock
from derlink.common.errors import BusinessFault, Fault
from derlink.contracts.acks import RESPONSE_SUCCESS, AckType
from derlink.contracts.event_files import RESERVATION_HEADER, reservation_file_ids
from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.flows.delivery import record_error
from derlink.hub.flows.files import FileRefused, RecordFileFlow, RowsResult
from derlink.hub.model import FlowOutcome, RecordError, lookup_error, msg_ack
from derlink.hub.ports import LookupTables
from derlink.hub.runtime.port import FlowContext

Record = dict[str, Any]

#: Devices per call to cpm's reserve-device service.
DEVICES_PER_CALL = 5000
#: cpm's key limits for a device.
HEAD_END_MAX = 50
NIC_MAX = 100
#: Refusals named in the acknowledgement to DERMS (the instance keeps up to 1,000).
ACK_ERRORS = 5
ROW_CODE = "HUB-RESERVE-ROW"


class EventReservationFlow(RecordFileFlow):
    spec: ClassVar[FlowSpec] = FLOWS["EVT-RESERVE"]
    header: ClassVar[tuple[str, ...]] = RESERVATION_HEADER
    delivers_to = "cpm"

    def __init__(self, *, lookups: LookupTables, clock: Clock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lookups = lookups
        self.clock = clock

    def keys(self, record: Record) -> list[tuple[str, str]]:
        return [
            ("messageId", record["messageId"]),
            ("eventId", record["eventId"]),
            ("stageId", record["stageId"]),
        ]

    async def run(self, ctx: FlowContext, message: Record) -> FlowOutcome:
        [record] = message[self.spec.field]
        category = await ctx.step("map-event-type", self._category, record)
        await ctx.step("program-event", self._program_event, record, category)
        outcome = await super().run(ctx, _file_message(record))
        await ctx.step("ack-derms", self._ack_outcome, record["messageId"], outcome.to_dict())
        return outcome

    async def _category(self, record: Record) -> str:
        categories = await asyncio.to_thread(self.lookups.table, "EventType")
        category = categories.get(record["eventType"])
        if not category:
            error = lookup_error(record["messageId"], "EventType", record["eventType"])
            raise BusinessFault(error.message, status=422, code=error.code)
        return category

    async def _program_event(self, record: Record, category: str) -> None:
        """cpm's program event of the stage: created here when EVT-STATUS has not yet."""
        await self.targets.cpm.post(
            "/api/v1/program-events",
            {
                "startDateTime": record["eventStartDateTime"],
                "endDateTime": record["eventEndDateTime"],
                "eventExternalIdentifier": record["eventId"],
                "externalIdentifier": record["stageId"],
                "programExternalIdentifier": record.get("programExternalId")
                or record["programCode"],
                "programEventCategory": category,
            },
        )

    async def deliver(self, name: str, rows: list[tuple[int, list[str]]]) -> RowsResult:
        ids = reservation_file_ids(name)
        if ids is None:
            raise FileRefused(f"{name} is not a reservation file's name", code="HUB-FILE-NAME")
        event_id, stage_id, _seq = ids
        result = RowsResult()
        devices: list[tuple[int, Record]] = []
        for number, fields in rows:
            device, problem = _device(fields)
            if problem:
                result.errors.append(RecordError(f"row {number}", ROW_CODE, problem))
            else:
                devices.append((number, device))
        for start in range(0, len(devices), DEVICES_PER_CALL):
            part = devices[start : start + DEVICES_PER_CALL]
            body = await self.targets.cpm.post(
                "/api/v1/program-events/reservations",
                {
                    "eventExternalIdentifier": event_id,
                    "externalIdentifier": stage_id,
                    "deviceList": [d for _, d in part],
                },
            )
            answers: list[Record] = body["results"]
            for (number, _), answer in zip(part, answers, strict=True):
                outcome = answer.get("outcome")
                if outcome == "Reserved":
                    result.succeeded += 1
                elif outcome == "Exists":
                    result.duplicates += 1
                else:
                    result.errors.append(record_error(answer, f"row {number}"))
        return result

    async def _ack_outcome(self, message_id: str, outcome: Record) -> None:
        errors = outcome.get("errors") or []
        said = (
            f"{outcome.get('succeeded', 0)} reserved, {outcome.get('duplicates', 0)} reserved "
            f"already, {len(errors)} refused"
        )
        if outcome.get("duplicateOf"):
            said = f"the same file was taken already by {outcome['duplicateOf']}"
        if errors:
            said += ": " + "; ".join(
                f"{e['key']} {e['code']}: {e['message']}" for e in errors[:ACK_ERRORS]
            )
        code = RESPONSE_SUCCESS if not errors else "CPM-RESERVE-REFUSED"
        ack = msg_ack(
            AckType.SUCCESS if not errors else AckType.ERROR,
            self.clock.now(),
            [{"id": message_id, "dacsMessageId": message_id, "value": said[:4000],
              "responseCode": code}],
        )  # fmt: skip
        await self._ack(ack)

    async def _ack(self, ack: Record) -> None:
        await self.targets.derms.post("/api/v1/acks/event-reservations", ack)

    async def on_fault(self, ctx: FlowContext, message: Record, fault: Fault) -> None:
        """The file set aside as the file flows do (kept for a resubmit after a remote fault),
        and a FAILURE ack to DERMS."""
        [record] = message[self.spec.field]
        await super().on_fault(ctx, _file_message(record), fault)
        ack = msg_ack(
            AckType.FAILURE,
            self.clock.now(),
            [{"id": record["messageId"], "dacsMessageId": record["messageId"],
              "value": fault.message[:4000], "responseCode": "FAILURE"}],
        )  # fmt: skip
        await ctx.step("failure-ack-derms", self._ack, ack)


def _file_message(record: Record) -> Record:
    return {"files": [{"fileName": record["fileName"], "size": record["size"]}]}


def _device(fields: list[str]) -> tuple[Record, str]:
    """One row as cpm's deviceList takes it, or why it cannot be."""
    record_id, nic, head_end, start, end = (f.strip() for f in fields)
    if not nic or len(nic) > NIC_MAX:
        return {}, f"nicId must have 1 to {NIC_MAX} characters"
    if not head_end or len(head_end) > HEAD_END_MAX:
        return {}, f"headEndSystemId must have 1 to {HEAD_END_MAX} characters"
    device: Record = {"headEndSystem": head_end, "nicId": nic}
    for name, value in (("reservationStartDateTime", start), ("reservationEndDateTime", end)):
        if not value:
            continue  # the program event's own time
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return {}, f"{name} {value!r} is not an ISO 8601 time"
        if when.tzinfo is None:
            return {}, f"{name} {value!r} has no UTC offset"
        device[name] = value
    if not record_id.isdigit():
        return {}, f"recordId {record_id!r} is not a whole number"
    return device, ""
