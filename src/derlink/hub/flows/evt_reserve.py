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

from derlink.common.errors import BusinessFault
from derlink.contracts.event_files import RESERVATION_HEADER, reservation_file_ids
from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.flows.delivery import record_error
from derlink.hub.flows.event_files import EventFileFlow
from derlink.hub.flows.files import FileRefused, RowsResult
from derlink.hub.model import RecordError, lookup_error
from derlink.hub.ports import LookupTables
from derlink.hub.runtime.port import FlowContext

Record = dict[str, Any]

#: Devices per call to cpm's reserve-device service.
DEVICES_PER_CALL = 5000
#: cpm's key limits for a device.
HEAD_END_MAX = 50
NIC_MAX = 100
ROW_CODE = "HUB-RESERVE-ROW"


class EventReservationFlow(EventFileFlow):
    spec: ClassVar[FlowSpec] = FLOWS["EVT-RESERVE"]
    header: ClassVar[tuple[str, ...]] = RESERVATION_HEADER
    delivers_to = "cpm"
    ack_path: ClassVar[str] = "/api/v1/acks/event-reservations"
    refused_code: ClassVar[str] = "CPM-RESERVE-REFUSED"
    taken: ClassVar[str] = "reserved"
    taken_before: ClassVar[str] = "reserved already"

    def __init__(self, *, lookups: LookupTables, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lookups = lookups

    def keys(self, record: Record) -> list[tuple[str, str]]:
        return [
            ("messageId", record["messageId"]),
            ("eventId", record["eventId"]),
            ("stageId", record["stageId"]),
        ]

    async def before(self, ctx: FlowContext, record: Record) -> None:
        category = await ctx.step("map-event-type", self._category, record)
        await ctx.step("program-event", self._program_event, record, category)

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
