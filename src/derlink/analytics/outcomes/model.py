"""The outcome file's rows (EVT-OUTCOME-OUAI) and their acknowledgement rows. Pure.

The layout is DERMS's outcome file (``contracts/event_files.py``; docs/contracts/
analytics-files.md, "Event outcomes"): one row per device called to a stage. The file-intake
machinery (platform/intake) splits the file into numbered records and checks the header and
each row's shape; here, :class:`OutcomeRows` turns each well-shaped row into an
:class:`OutcomeRecord` or a ``RowReject`` (row number, reason code, reason), and
:func:`accepted_row` / :func:`rejected_row` give the acknowledgement's row for each.

Reason codes: ``AN-OUTCOME-EMPTY``, ``-HEADER`` and ``-SIZE`` refuse a file whole;
``-COLUMNS`` (unreadable, or not 13 columns), ``-ENCODING`` (not UTF-8), ``-MISSING`` (a
required column blank), ``-LENGTH`` (a field over its width), ``-VALUE`` (an outcome not one
of Oracle's, a ``MeasuredKw`` that is not a number), ``-TIME`` (a time that is not ISO-8601
with an offset, blank where the outcome needs it, or an end before the start) and ``-NAME``
(the file's name has no seq to order it by) reject one row; ``-STALE`` accepts a row that
changed nothing because analytics holds the device's outcome of that stage from a newer file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from derlink.contracts.event_files import MAX_ERROR_MESSAGE, OUTCOME_HEADER, OUTCOMES
from derlink.platform.intake.records import RowReject

HEADER = OUTCOME_HEADER
#: The acknowledgement of one outcome file, one row per input row: ``ACK_<input name>``.
ACK_PREFIX = "ACK_"
ACK_HEADER = (
    "rowNumber",
    "recordId",
    "stageId",
    "headEndSystem",
    "nicId",
    "result",
    "reasonCode",
    "reason",
)
ACCEPTED = "ACCEPTED"
REJECTED = "REJECTED"

# Reason codes (docs/contracts/analytics-files.md, "Event outcomes").
EMPTY = "AN-OUTCOME-EMPTY"
HEADER_CODE = "AN-OUTCOME-HEADER"
SIZE = "AN-OUTCOME-SIZE"
COLUMNS = "AN-OUTCOME-COLUMNS"
ENCODING = "AN-OUTCOME-ENCODING"
MISSING = "AN-OUTCOME-MISSING"
LENGTH = "AN-OUTCOME-LENGTH"
VALUE = "AN-OUTCOME-VALUE"
TIME = "AN-OUTCOME-TIME"
NAME = "AN-OUTCOME-NAME"
STALE = "AN-OUTCOME-STALE"

#: The widest identifier kept (every column but ``ErrorMessage``, and the columns' width).
ID_MAX = 120
#: The outcome a device that did not take part has: cancelled before the stage.
CANCELLED = "D1CN"
#: Outcomes whose rows may leave the participation times blank: the device never took part.
UNTIMED = frozenset({"D1CN", "D1ND"})
#: The refusals of a file kept to be shown (every one is in its acknowledgement).
FIRST_REFUSALS = 10

_OUTCOMES = frozenset(OUTCOMES)
# The required columns, by index: blank → MISSING.
_REQUIRED = tuple(
    (i, name)
    for i, name in enumerate(HEADER)
    if name in ("RecordId", "EventId", "StageId", "HeadEndSystem", "NicId", "SPId", "Outcome")
)
_NUMBER = re.compile(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")
#: Distinct times remembered while a file is checked (a file's rows share a few windows).
_TIMES_KEPT = 4096


class OutcomeRecord(NamedTuple):
    """One accepted row; after the row number, the columns of ``event_outcomes`` it fills, in
    the table's order. Times are UTC ISO-8601 (``+00:00``), or None when blank.

    A named tuple: a million are made per large file, and a tuple is made and stored fastest."""

    row_number: int
    stage_id: str
    head_end_system: str
    nic_id: str
    record_id: str
    event_id: str
    program_id: str
    device_id: str
    sp_id: str
    outcome: str
    error_message: str
    participation_start_at: str | None
    participation_end_at: str | None
    measured_kw: float | None


def row_keys(fields: Sequence[str]) -> tuple[str, str, str, str]:
    """What names a row of any shape in its acknowledgement: RecordId, StageId, HeadEndSystem,
    NicId (each cut to ``ID_MAX``)."""
    padded = [*fields, "", "", "", "", "", ""]
    return (padded[0][:ID_MAX], padded[2][:ID_MAX], padded[4][:ID_MAX], padded[5][:ID_MAX])


class _Times:
    """Times read once per distinct text: ``(UTC text, instant)``, or why it is not a time."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, datetime] | str] = {}

    def read(self, text: str) -> tuple[str, datetime] | str:
        found = self._seen.get(text)
        if found is None:
            if len(self._seen) >= _TIMES_KEPT:
                self._seen.clear()
            found = self._seen[text] = _time(text)
        return found


def _time(text: str) -> tuple[str, datetime] | str:
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            return "has no UTC offset"
        utc = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return "is not an ISO-8601 time"
    return utc.isoformat(), utc


class OutcomeRows:
    """Checks one outcome file's records, in file order.

    Checks, first failure wins: the file's name has a seq (NAME: else every row); the required
    columns are not blank (MISSING); each field's width (LENGTH: ``ErrorMessage`` at most
    ``MAX_ERROR_MESSAGE``, the others ``ID_MAX``); the outcome is one of Oracle's (VALUE); the
    participation times are ISO-8601 with an offset, present unless the outcome is D1CN or
    D1ND, the end not before the start (TIME); ``MeasuredKw`` is blank or a finite number
    (VALUE)."""

    def __init__(self, file_seq: int | None) -> None:
        self.file_seq = file_seq
        self._times = _Times()

    def check(
        self, rows: Sequence[tuple[int, list[str] | RowReject]]
    ) -> list[OutcomeRecord | RowReject]:
        """Each row (its number, and its fields or the machinery's reject of its shape) as a
        record or a reject, in order."""
        if self.file_seq is None:
            return [
                fields
                if isinstance(fields, RowReject)
                else RowReject(
                    number,
                    NAME,
                    "the file's name is not OUTCOME_<YYYYMMDDThhmmssZ>_<seq of 6 digits>.csv: "
                    "its rows cannot be ordered against other files'",
                    row_keys(fields),
                )
                for number, fields in rows
            ]
        return [
            fields if isinstance(fields, RowReject) else self._record(number, fields)
            for number, fields in rows
        ]

    def _record(self, row_number: int, f: list[str]) -> OutcomeRecord | RowReject:
        def reject(code: str, reason: str) -> RowReject:
            return RowReject(row_number, code, reason, row_keys(f))

        if not (
            f[0].strip()
            and f[1].strip()
            and f[2].strip()
            and f[4].strip()
            and f[5].strip()
            and f[7].strip()
            and f[8].strip()
        ):
            blank = [name for i, name in _REQUIRED if not f[i].strip()]
            return reject(MISSING, f"{', '.join(blank)} {'is' if len(blank) == 1 else 'are'} blank")
        if len(f[9]) > MAX_ERROR_MESSAGE or max(map(len, f)) > ID_MAX:
            return reject(LENGTH, _too_long(f))
        outcome = f[8]
        if outcome not in _OUTCOMES:
            return reject(VALUE, f"Outcome is not one of {', '.join(OUTCOMES)}")
        start = end = None
        if f[10] or f[11] or outcome not in UNTIMED:
            window = self._window(f[10], f[11], outcome)
            if isinstance(window, str):
                return reject(TIME, window)
            start, end = window
        kw: float | None = None
        if f[12]:
            kw = _number(f[12])
            if kw is None:
                return reject(VALUE, "MeasuredKw is not a number")
        return OutcomeRecord(
            row_number,
            f[2],
            f[4],
            f[5],
            f[0],
            f[1],
            f[3],
            f[6],
            f[7],
            outcome,
            f[9],
            start,
            end,
            kw,
        )

    def _window(self, start_text: str, end_text: str, outcome: str) -> tuple[str, str] | str:
        """The participation window in UTC text, or why it cannot be read."""
        read = []
        for column, text in (("ParticipationStartTime", start_text),
                             ("ParticipationEndTime", end_text)):  # fmt: skip
            if not text:
                if outcome in UNTIMED:
                    return f"{column} is blank and the other time is not"
                return f"{column} is blank: only a D1CN or D1ND row may leave the times blank"
            found = self._times.read(text)
            if isinstance(found, str):
                return f"{column} {found}"
            read.append(found)
        (start, start_at), (end, end_at) = read
        if end_at < start_at:
            return "ParticipationEndTime is before ParticipationStartTime"
        return start, end


def _too_long(f: Sequence[str]) -> str:
    wide = [
        f"{name} longer than {limit} characters"
        for i, name in enumerate(HEADER)
        if len(f[i]) > (limit := MAX_ERROR_MESSAGE if name == "ErrorMessage" else ID_MAX)
    ]
    return ", ".join(wide)


def _number(text: str) -> float | None:
    if _NUMBER.fullmatch(text) is None:
        return None
    value = float(text)
    return value if math.isfinite(value) else None


# -- the acknowledgement's rows -------------------------------------------------------------------

#: One acknowledgement row: rowNumber, recordId, stageId, headEndSystem, nicId, result,
#: reasonCode, reason.
AckRow = tuple[int, str, str, str, str, str, str, str]


def accepted_row(record: OutcomeRecord, held_from: str | None = None) -> AckRow:
    """ACCEPTED; with STALE when analytics holds the device's outcome of the stage from the
    newer file ``held_from``."""
    keys = (record.row_number, record.record_id, record.stage_id, record.head_end_system,
            record.nic_id)  # fmt: skip
    if held_from is None:
        return (*keys, ACCEPTED, "", "")
    reason = f"analytics holds this device's outcome of the stage from the newer file {held_from}"
    return (*keys, ACCEPTED, STALE, f"{reason}; this row changed nothing")


def rejected_row(reject: RowReject) -> AckRow:
    record_id, stage_id, head_end_system, nic_id = (*reject.keys, "", "", "", "")[:4]
    return (reject.row_number, record_id, stage_id, head_end_system, nic_id, REJECTED,
            reject.code, reject.reason)  # fmt: skip
