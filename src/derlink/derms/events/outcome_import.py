"""The head-end outcome import (docs/contracts/event-outcomes.md): a head-end system reports
what its devices did in each stage as a file in DERMS's head-end store, taken in through the
platform's file-intake machinery (a re-delivered file has no second effect; every row is
answered in ``HEOUTCOME_ACK_<name>`` on DERMS's content server). Each row is recorded through
outcomes.record_outcomes, the one place the dispatch records through too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy.engine import Connection

from derlink.common.clock import Clock
from derlink.contracts.event_files import (
    HEADEND_OUTCOME_ACK_HEADER,
    HEADEND_OUTCOME_ACK_PREFIX,
    HEADEND_OUTCOME_HEADER,
    HEADEND_OUTCOME_PREFIX,
)
from derlink.contracts.network_files import ACCEPTED, REJECTED
from derlink.derms.db import EXT
from derlink.derms.events.outcomes import (
    HEAD_END_FILE,
    OUTCOME_INVALID,
    DeviceOutcome,
    record_outcomes,
)
from derlink.derms.network.tables import file_claims
from derlink.platform.database import Database
from derlink.platform.files import FileStore
from derlink.platform.intake.claims import FileClaims
from derlink.platform.intake.driver import (
    Accepted,
    FileIntake,
    FileWork,
    IntakeCodes,
    IntakeSpec,
    output_rows,
)
from derlink.platform.intake.records import RowReject
from derlink.platform.intake.refusals import RefusalReport

#: The claims' source of the head-end outcome files.
SOURCE = "HE-OUTCOME"

SPEC = IntakeSpec(
    source=SOURCE,
    prefix=HEADEND_OUTCOME_PREFIX,
    header=HEADEND_OUTCOME_HEADER,
    output_prefix=HEADEND_OUTCOME_ACK_PREFIX,
    output_header=HEADEND_OUTCOME_ACK_HEADER,
    codes=IntakeCodes.named("DERMS-OUTCOME"),
)


@dataclass(frozen=True, slots=True)
class OutcomeRow:
    """A row the checks took: its number and its outcome."""

    row_number: int
    outcome: DeviceOutcome


def _keys(fields: Sequence[str]) -> tuple[str, ...]:
    return tuple(f[:EXT] for f in fields[:3])


def check_row(row_number: int, f: list[str]) -> OutcomeRow | RowReject:
    """The row as an outcome, or why not (the first failure)."""
    stage, he, nic, outcome, error, start, end, kw = (v.strip() for v in f)

    def reject(reason: str) -> RowReject:
        return RowReject(row_number, OUTCOME_INVALID, reason, _keys(f))

    blank = [n for n, v in zip(HEADEND_OUTCOME_HEADER[:4], (stage, he, nic, outcome), strict=True)
             if not v]  # fmt: skip
    if blank:
        return reject(f"{', '.join(blank)} is blank")
    too_long = [n for n, v in zip(HEADEND_OUTCOME_HEADER[:3], (stage, he, nic), strict=True)
                if len(v) > EXT]  # fmt: skip
    if too_long:
        return reject(f"{too_long[0]} is longer than {EXT} characters")
    moments: list[datetime | None] = []
    for name, text in (("ParticipationStartTime", start), ("ParticipationEndTime", end)):
        if not text:
            moments.append(None)
            continue
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return reject(f"{name} {text!r} is not an ISO-8601 date-time")
        if moment.utcoffset() is None:
            return reject(f"{name} {text!r} has no UTC offset")
        moments.append(moment)
    measured: float | None = None
    if kw:
        try:
            measured = float(kw)
        except ValueError:
            return reject(f"MeasuredKw {kw!r} is not a number")
        if not math.isfinite(measured):
            return reject(f"MeasuredKw {kw!r} is not a finite number")
    return OutcomeRow(
        row_number,
        DeviceOutcome(stage, he, nic, outcome, error, moments[0], moments[1], measured),
    )


class HeadEndOutcomes:
    """The head-end outcome file as a file kind of the intake machinery."""

    spec = SPEC

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def new_file(self, name: str) -> FileWork:
        return _FileWork(self.clock)

    def refused_row(self, reject: RowReject) -> Sequence[Any]:
        return _rejected(reject)

    def keys(self, fields: Sequence[str]) -> tuple[str, ...]:
        return _keys(fields)


def _rejected(reject: RowReject) -> tuple[Any, ...]:
    keys = (*reject.keys, "", "", "")[:3]
    return (reject.row_number, *keys, REJECTED, reject.code, reject.reason)


class _FileWork:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def check(
        self, rows: Sequence[tuple[int, list[str] | RowReject]]
    ) -> list[Accepted | RowReject]:
        checked: list[Accepted | RowReject] = [
            f if isinstance(f, RowReject) else check_row(n, f) for n, f in rows
        ]
        return checked

    def store(self, conn: Connection, rows: Sequence[Accepted]) -> Mapping[int, Any]:
        taken = cast(Sequence[OutcomeRow], rows)
        decided = record_outcomes(
            conn, [r.outcome for r in taken], source=HEAD_END_FILE, at=self.clock.now()
        )
        return {
            r.row_number: RowReject(r.row_number, refusal.code, refusal.reason, r.outcome.key)
            for r, refusal in zip(taken, decided, strict=True)
            if refusal is not None
        }

    def output_rows(
        self, rows: Sequence[Accepted | RowReject], notes: Mapping[int, Any]
    ) -> list[Sequence[Any]]:
        return output_rows(
            rows,
            notes,
            accepted=lambda r, _: (r.row_number, *r.outcome.key, ACCEPTED, "", ""),
            rejected=_rejected,
        )


def outcome_intake(
    db: Database,
    clock: Clock,
    source: FileStore,
    content: FileStore,
    max_file_bytes: int,
    *,
    refused: RefusalReport | None = None,
) -> FileIntake:
    """The intake of head-end outcome files: from DERMS's head-end store, acks to its content
    server, claims in DERMS's database; ``refused`` hears of the entries that cannot be taken."""
    return FileIntake(
        HeadEndOutcomes(clock),
        db=db,
        claims=FileClaims(db, file_claims, clock),
        source=source,
        output=content,
        max_file_bytes=max_file_bytes,
        refused=refused,
    )
