"""The participation-history file's rows and the score runs, as data. Pure.

A history row is one device's outcome in one event. It is kept by (head-end system, NIC id,
event); a later row of the same key replaces it (a corrected outcome). A row that cannot be
read is rejected with its row number and why, the others go on.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple

from derlink.contracts.input_files import SCORE_PREFIX, stamped_name
from derlink.platform.intake.records import RowReject

#: The history file: ``PARTICIPATION_<anything>.csv`` on cpm's content server.
HISTORY_PREFIX = "PARTICIPATION_"
HISTORY_HEADER = (
    "DeviceId",
    "HeadEndSystem",
    "NicId",
    "EventId",
    "EventStartTime",
    "Outcome",
    "ReductionKw",
)
#: Its acknowledgement, one row per input row: ``ACK_<input name>``.
ACK_PREFIX = "ACK_"
ACK_HEADER = ("rowNumber", "headEndSystem", "nicId", "eventId", "result", "reasonCode", "reason")
ACCEPTED = "ACCEPTED"
REJECTED = "REJECTED"

#: The outcome codes of the EVT-OUTCOME file the score knows: successful participation,
#: non-responsive, in-flight override, error, cancelled.
OUTCOMES = ("D1SP", "D1ND", "D1IO", "D1ER", "D1CN")

#: Reason codes of the history intake.
EMPTY = "CPM-HISTORY-EMPTY"
HEADER = "CPM-HISTORY-HEADER"
SIZE = "CPM-HISTORY-SIZE"
COLUMNS = "CPM-HISTORY-COLUMNS"
ENCODING = "CPM-HISTORY-ENCODING"
VALUE = "CPM-HISTORY-VALUE"
#: A score run while another runs.
RUNNING = "CPM-SCORES-RUNNING"
UNKNOWN_RUN = "CPM-SCORES-UNKNOWN"

#: The longest identifier kept (head-end system, NIC id, event, device).
MAX_KEY = 80


class RunState(StrEnum):
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"


class HistoryRecord(NamedTuple):
    """One accepted row; after the row number, the history table's columns in order."""

    row_number: int
    head_end_system: str
    nic_id: str
    event_id: str
    device_id: str
    #: UTC, ISO-8601 with ``+00:00``.
    event_start: str
    outcome: str
    reduction_kw: float | None


def _key(value: str, column: str, *, blank_ok: bool = False) -> str:
    value = value.strip()
    if not value and not blank_ok:
        raise ValueError(f"{column} is blank")
    if len(value) > MAX_KEY:
        raise ValueError(f"{column} is longer than {MAX_KEY} characters")
    return value


def _start(value: str) -> str:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"EventStartTime is not an ISO-8601 time: {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"EventStartTime has no UTC offset: {value[:40]!r}")
    return moment.astimezone(UTC).isoformat()


def _reduction(value: str) -> float | None:
    if not value.strip():
        return None
    try:
        kw = float(value)
    except ValueError:
        raise ValueError(f"ReductionKw is not a number: {value[:40]!r}") from None
    if not math.isfinite(kw):
        raise ValueError("ReductionKw is not a finite number")
    return kw


def history_record(row: int, fields: Sequence[str]) -> HistoryRecord | RowReject:
    """The row as a record, or why it cannot be one."""
    device, head_end, nic, event, start, outcome, reduction = fields
    try:
        code = outcome.strip()
        if code not in OUTCOMES:
            raise ValueError(f"Outcome {code[:10]!r} is none of {', '.join(OUTCOMES)}")
        return HistoryRecord(
            row,
            _key(head_end, "HeadEndSystem"),
            _key(nic, "NicId"),
            _key(event, "EventId"),
            _key(device, "DeviceId", blank_ok=True),
            _start(start),
            code,
            _reduction(reduction),
        )
    except ValueError as problem:
        return RowReject(row, VALUE, str(problem), row_keys(fields))


def check_rows(
    rows: Sequence[tuple[int, list[str] | RowReject]],
) -> Iterator[HistoryRecord | RowReject]:
    for row, fields in rows:
        yield fields if isinstance(fields, RowReject) else history_record(row, fields)


def row_keys(fields: Sequence[str]) -> tuple[str, str, str]:
    """What names a row in its acknowledgement: head-end system, NIC id, event."""
    padded = [*fields, "", "", "", ""]
    return (padded[1][:MAX_KEY], padded[2][:MAX_KEY], padded[3][:MAX_KEY])


def accepted_row(record: HistoryRecord) -> tuple[str, ...]:
    return (
        str(record.row_number),
        record.head_end_system,
        record.nic_id,
        record.event_id,
        ACCEPTED,
        "",
        "",
    )


def rejected_row(reject: RowReject) -> tuple[str, ...]:
    keys = (*reject.keys, "", "", "")[:3]
    return (str(reject.row_number), *keys, REJECTED, reject.code, reject.reason)


def score_file_name(as_of: datetime) -> str:
    """``SDCSE_<YYYYMMDDThhmmssZ>.csv``: the name the DEV-SCORE flow lists."""
    return stamped_name(SCORE_PREFIX, as_of.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
