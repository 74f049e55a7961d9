"""What DEV-SCORE and LRF share: a file of computed rows read in windows (``files.py``), each row
checked and turned into the record DERMS's service takes, the good ones delivered in
collection calls (docs/contracts/derms-inputs.md).

A row that cannot be read (a blank key, a number out of range, a time without an offset) is a
record error naming its row number and why; the other rows go on. DERMS keeps the latest row
per key and answers how many it applied and how many were stale (not newer than what it
held): a resumed or re-delivered window is stale throughout, never a second effect.
"""

from __future__ import annotations

import asyncio
import math
from abc import abstractmethod
from datetime import datetime
from typing import Any, ClassVar

from derlink.hub.flows.files import RecordFileFlow, RowsResult
from derlink.hub.model import RecordError

#: Rows per call to DERMS (its services take at most 5,000).
ROWS_PER_CALL = 5000
#: Calls to DERMS under way at once, per window.
CALLS_AT_ONCE = 2
#: The longest key DERMS keeps (head-end system, NIC id, device, service point, program).
MAX_KEY = 80

Record = dict[str, Any]


class RowProblem(ValueError):
    """Why a row cannot be delivered: its column and what is wrong."""


def key(value: str, column: str) -> str:
    value = value.strip()
    if not value:
        raise RowProblem(f"{column} is blank")
    if len(value) > MAX_KEY:
        raise RowProblem(f"{column} is longer than {MAX_KEY} characters")
    return value


def number(value: str, column: str, *, low: float, high: float) -> float:
    try:
        parsed = float(value)
    except ValueError:
        raise RowProblem(f"{column} is not a number: {value[:40]!r}") from None
    if not math.isfinite(parsed):
        raise RowProblem(f"{column} is not a finite number")
    if not low <= parsed <= high:
        raise RowProblem(f"{column} {parsed:g} is outside {low:g}..{high:g}")
    return parsed


def whole(value: str, column: str, *, low: int, high: int) -> int:
    parsed = number(value, column, low=low, high=high)
    if not parsed.is_integer():
        raise RowProblem(f"{column} is not a whole number: {value[:40]!r}")
    return int(parsed)


def instant(value: str, column: str) -> str:
    """An ISO-8601 time with an offset (``Z`` included), passed on as written."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise RowProblem(f"{column} is not an ISO-8601 time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise RowProblem(f"{column} has no offset: {value[:40]!r}")
    return value.strip()


class DermsInputFlow(RecordFileFlow):
    """A file flow whose rows go to one of DERMS's input services."""

    #: DERMS's collection service and the list field of its body.
    derms_path: ClassVar[str]
    derms_field: ClassVar[str]
    #: The code of a row that cannot be read.
    row_code: ClassVar[str]
    delivers_to = "derms"

    @abstractmethod
    def record(self, fields: list[str]) -> Record:
        """The row as DERMS takes it; RowProblem when it cannot be."""

    async def deliver(self, name: str, rows: list[tuple[int, list[str]]]) -> RowsResult:
        records: list[Record] = []
        numbers: list[int] = []
        errors: list[RecordError] = []
        for row, fields in rows:
            try:
                records.append(self.record(fields))
            except RowProblem as problem:
                errors.append(RecordError(f"row {row}", self.row_code, str(problem)))
            else:
                numbers.append(row)
        gate = asyncio.Semaphore(CALLS_AT_ONCE)

        async def call(start: int) -> dict[str, int]:
            async with gate:
                answer: dict[str, int] = await self.targets.derms.post(
                    self.derms_path,
                    {
                        "batchId": f"{self.spec.code}-row-{numbers[start]}",
                        "file": name,
                        self.derms_field: records[start : start + ROWS_PER_CALL],
                    },
                )
                return answer

        # DERMS keeps the newest row of a key whatever order the calls come in, so a window's
        # calls go together: DERMS writes one while it reads the next.
        answers = await asyncio.gather(
            *(call(start) for start in range(0, len(records), ROWS_PER_CALL))
        )
        applied = sum(a["applied"] for a in answers)
        stale = sum(a["stale"] for a in answers)
        return RowsResult(
            succeeded=len(records),
            duplicates=stale,
            errors=errors,
            counts={"applied": applied, "stale": stale},
        )
