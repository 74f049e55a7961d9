"""EVT-OUTCOME and EVT-OUTCOME-OUAI — Event Outcome: DERMS → cpm post event outcome, and the same
file to analytics' object storage (docs/contracts/event-outcomes.md).

DERMS writes an outcome file to its content server for the stages whose outcome window closed,
and sends a message naming it, one message per instance. The hub takes the file through the
file-flow machinery (``files.py``): the file's content claimed once; then
**EVT-OUTCOME-OUAI**, the copy of the file to analytics' object storage, part by part (each
part a durable step); then cpm's health checked and the rows read in windows, grouped by stage
and posted to cpm's post-event-outcome service in collections, each window a durable step; the
file renamed ``Sent-``. A row that does not hold, or that cpm refuses, is a row error; the
others go on. At the end one MsgAck goes to DERMS: SUCCESS, or the counts and the first
refusals; after a fault of the whole file, a FAILURE ack.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, ClassVar

from derlink.contracts.event_files import OUTCOME_HEADER
from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.flows.delivery import record_error
from derlink.hub.flows.event_files import EventFileFlow
from derlink.hub.flows.files import RowsResult, copy_file
from derlink.hub.model import FlowOutcome, RecordError
from derlink.hub.runtime.port import FlowContext

Record = dict[str, Any]

#: Devices per call to cpm's post-event-outcome service.
DEVICES_PER_CALL = 5000
ROW_CODE = "HUB-OUTCOME-ROW"
#: cpm's limits on a device's key and on an identifier.
HEAD_END_MAX = 50
NIC_MAX = 100
IDENTIFIER_MAX = 120


class EventOutcomeFlow(EventFileFlow):
    spec: ClassVar[FlowSpec] = FLOWS["EVT-OUTCOME"]
    header: ClassVar[tuple[str, ...]] = OUTCOME_HEADER
    delivers_to = "cpm"
    ack_path: ClassVar[str] = "/api/v1/acks/event-outcomes"
    refused_code: ClassVar[str] = "CPM-OUTCOME-REFUSED"
    taken: ClassVar[str] = "recorded in cpm"
    taken_before: ClassVar[str] = "recorded already"
    also: ClassVar[str] = "; copied to analytics"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        assert self.exchange.target_store is not None  # the catalog names analytics' storage
        self.analytics = self.targets.store(self.exchange.target_store)

    def keys(self, record: Record) -> list[tuple[str, str]]:
        return [
            ("messageId", record["messageId"]),
            ("fileName", record["fileName"]),
            *(("stageId", s) for s in record.get("stageIds", [])[:20]),
            *(("eventId", e) for e in record.get("eventIds", [])[:20]),
        ]

    async def transfer(self, ctx: FlowContext, name: str, size: int) -> FlowOutcome:
        # The copy first: analytics holds the file whatever cpm makes of its rows.
        parts = await copy_file(ctx, self.store, self.analytics, name, size, step="ouai-")
        outcome = await super().transfer(ctx, name, size)
        outcome.notes.update(copiedTo=self.analytics.location, copyParts=parts)
        return outcome

    async def deliver(self, name: str, rows: list[tuple[int, list[str]]]) -> RowsResult:
        result = RowsResult()
        by_stage: dict[tuple[str, str], list[tuple[int, Record]]] = defaultdict(list)
        for number, fields in rows:
            stage, device, problem = _device(fields)
            if problem:
                result.errors.append(RecordError(f"row {number}", ROW_CODE, problem))
            else:
                by_stage[stage].append((number, device))
        for (event_id, stage_id), devices in by_stage.items():
            for start in range(0, len(devices), DEVICES_PER_CALL):
                part = devices[start : start + DEVICES_PER_CALL]
                body = await self.targets.cpm.post(
                    "/api/v1/program-events/outcomes",
                    {
                        "eventExternalIdentifier": event_id,
                        "externalIdentifier": stage_id,
                        "fileName": name[:80],
                        "postOutcomeList": [d for _, d in part],
                    },
                )
                answers: list[Record] = body["results"]
                for (number, _), answer in zip(part, answers, strict=True):
                    outcome = answer.get("outcome")
                    if outcome == "Recorded":
                        result.succeeded += 1
                    elif outcome == "Exists":
                        result.duplicates += 1
                    else:
                        result.errors.append(record_error(answer, f"row {number}"))
        return result


def _device(fields: list[str]) -> tuple[tuple[str, str], Record, str]:
    """One row as cpm's postOutcomeList takes it, with its (event, stage); or why it cannot
    be. The outcome's own checks are cpm's (a row it refuses is a row error too)."""
    (_record, event_id, stage_id, _program, head_end, nic, _device_id, _sp, outcome, error,
     start, end, kw) = (f.strip() for f in fields)  # fmt: skip
    for name, value, most in (("EventId", event_id, IDENTIFIER_MAX),
                              ("StageId", stage_id, IDENTIFIER_MAX),
                              ("HeadEndSystem", head_end, HEAD_END_MAX),
                              ("NicId", nic, NIC_MAX)):  # fmt: skip
        if not value or len(value) > most:
            return ("", ""), {}, f"{name} must have 1 to {most} characters"
    device: Record = {"headEndSystem": head_end, "nicId": nic, "outcome": outcome,
                      "errorMessage": error}  # fmt: skip
    if start:
        device["participationStartDateTime"] = start
    if end:
        device["participationEndDateTime"] = end
    if kw:
        try:
            measured = float(kw)
        except ValueError:
            return ("", ""), {}, f"MeasuredKw {kw!r} is not a number"
        if not math.isfinite(measured):
            return ("", ""), {}, f"MeasuredKw {kw!r} is not a finite number"
        device["measuredKw"] = measured
    return (event_id, stage_id), device, ""
