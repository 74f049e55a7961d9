"""The outcome files and EVT-OUTCOME from DERMS's side (docs/contracts/event-outcomes.md).

When stages' outcomes are closed (outcomes.close_stages), the file writer (a loop of the part)
gathers every closed stage not yet in a file into the next outcome file, recorded Pending with
its stages in one transaction; writes it to the content server, page by page, one row per
device with an outcome (an opted-out device has none: cpm holds it OptedOut); then, in one
transaction, marks it Sent and puts the EVT-OUTCOME message in the outbox. A crash between the
two writes the same file again: its stages and rows are fixed when it is recorded. The hub
posts the rows to cpm and copies the file to analytics, and acknowledges it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
import sqlalchemy as sa

from derlink.common.clock import Clock, FixedClock
from derlink.contracts.event_files import OUTCOME_HEADER, outcome_file_name
from derlink.derms.db import one_writer, outbox, stored_time
from derlink.derms.events.reservations import DETAIL_MAX, FileState
from derlink.derms.events.status import AckAnswer, failure_line
from derlink.derms.events.tables import event_audit, outcome_files, reservations, stages
from derlink.platform.database import Database
from derlink.platform.files import FileStore
from derlink.platform.intake.records import csv_text
from derlink.platform.outbox import Route, enqueue

#: The flow that carries the outcome files to cpm (and a copy to analytics): one file per hub
#: instance.
EVT_OUTCOME = "EVT-OUTCOME"
ROUTE = Route(EVT_OUTCOME, f"/api/v1/flows/{EVT_OUTCOME}/messages", "outcomes", batch_size=1)
#: Rows read per page while a file is written.
PAGE = 20_000
#: The PostgreSQL advisory-lock key of the outcome files.
_LOCK = 0x6465726D_000C
#: The seq a closed stage gets when it had no outcome to carry (a stage whose every device
#: opted out, or one canceled before it was Scheduled).
NO_FILE = 0


def message_id(seq: int) -> str:
    return f"OUTCOME.{seq:06d}"


def _seq_of(message: str) -> int | None:
    head, _, number = message.partition(".")
    return int(number) if head == "OUTCOME" and number.isdigit() else None


def _carried(stage_ids: Sequence[str]) -> Any:
    """The rows an outcome file carries of ``stage_ids``: each reservation with an outcome."""
    r = reservations.c
    return (r.stage_id.in_(list(stage_ids))) & r.outcome.is_not(None)


def allocate(*, db: Database, clock: Clock) -> int | None:
    """Record the next outcome file, Pending, with every closed stage not in one yet (a stage
    without an outcome to carry is marked as in none); its seq, or None when there is nothing
    to carry."""
    st = stages.c
    now = stored_time(clock.now())
    with db.begin() as conn:
        one_writer(conn, _LOCK)
        found = conn.execute(
            sa.select(st.id)
            .where(st.outcomes_closed_at.is_not(None), st.outcome_file_seq.is_(None))
            .order_by(st.outcomes_closed_at, st.id)
        )
        due = [str(stage_id) for (stage_id,) in found]
        if not due:
            return None
        counts: dict[str, int] = {
            str(stage_id): cast(int, count)
            for stage_id, count in conn.execute(
                sa.select(reservations.c.stage_id, sa.func.count())
                .where(_carried(due))
                .group_by(reservations.c.stage_id)
            )
        }
        empty = [s for s in due if not counts.get(s)]
        if empty:
            conn.execute(stages.update().where(st.id.in_(empty)).values(outcome_file_seq=NO_FILE))
        carried = [s for s in due if counts.get(s)]
        if not carried:
            return None
        seq = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(outcome_files.c.seq), 0)))
                  .scalar_one()) + 1  # fmt: skip
        conn.execute(
            outcome_files.insert().values(
                seq=seq,
                file_name=outcome_file_name(clock.now(), seq),
                stages=orjson.dumps(carried).decode(),
                rows=sum(counts[s] for s in carried),
                state=FileState.PENDING.value,
                detail="",
                created_at=now,
            )
        )
        conn.execute(stages.update().where(st.id.in_(carried)).values(outcome_file_seq=seq))
    return seq


@dataclass(frozen=True, slots=True)
class Written:
    seq: int
    file_name: str
    rows: int
    stages: int


async def write_files(*, db: Database, clock: Clock, store: FileStore) -> list[Written]:
    """Record the next outcome file (when stages were closed since), write every Pending one to
    the content server and send it (EVT-OUTCOME); what was written. Run by the part's file
    writer."""
    await asyncio.to_thread(allocate, db=db, clock=clock)
    f = outcome_files.c
    with db.read() as conn:
        pending = list(
            conn.execute(
                sa.select(f.seq, f.file_name, f.stages, f.rows)
                .where(f.state == FileState.PENDING.value)
                .order_by(f.seq)
            )
        )
    done: list[Written] = []
    for row in pending:
        stage_ids: list[str] = orjson.loads(row.stages)
        size = await store.write(row.file_name, _file_text(db, stage_ids))
        if await asyncio.to_thread(_send, db, clock, row.seq, size):
            done.append(Written(row.seq, row.file_name, row.rows, len(stage_ids)))
    return done


async def _file_text(db: Database, stage_ids: Sequence[str]) -> AsyncIterator[bytes]:
    """The file: its stages in order, each stage's rows by recordId; RecordId numbers the
    file's rows from 1."""
    yield csv_text([], header=OUTCOME_HEADER).encode()
    r = reservations.c
    number = 0
    for stage_id in stage_ids:
        after = 0
        while True:

            def read(stage_id: str = stage_id, after: int = after) -> list[Any]:
                with db.read() as conn:
                    return list(
                        conn.execute(
                            sa.select(r.record_id, r.event_id, r.stage_id, r.program,
                                      r.head_end_system, r.nic_id, r.device_id, r.sp_id,
                                      r.outcome, r.error_message, r.participation_start_at,
                                      r.participation_end_at, r.measured_kw)
                            .where(_carried([stage_id]), r.record_id > after)
                            .order_by(r.record_id)
                            .limit(PAGE)
                        )
                    )  # fmt: skip

            rows = await asyncio.to_thread(read)
            if not rows:
                break
            after = rows[-1][0]
            lines = [
                (number + i, *row[1:9], row[9] or "", row[10] or "", row[11] or "",
                 "" if row[12] is None else row[12])
                for i, row in enumerate(rows, start=1)
            ]  # fmt: skip
            number += len(rows)
            yield (await asyncio.to_thread(csv_text, lines)).encode()


def _send(db: Database, clock: Clock, seq: int, size: int) -> bool:
    """Mark the written file Sent and put its EVT-OUTCOME message in the outbox, at once; False
    when another writer did it first."""
    f = outcome_files.c
    now = clock.now()
    with db.begin() as conn:
        one_writer(conn, _LOCK)
        row = conn.execute(sa.select(outcome_files).where(f.seq == seq)).one()
        if row.state != FileState.PENDING.value:
            return False
        stage_ids: list[str] = orjson.loads(row.stages)
        event_ids: list[str] = sorted(
            set(
                conn.execute(
                    sa.select(stages.c.event_id).where(stages.c.id.in_(stage_ids))
                ).scalars()
            )
        )
        key = message_id(seq)
        enqueue(
            conn,
            outbox,
            flow=EVT_OUTCOME,
            key=key,
            payload={
                "messageId": key,
                "seq": seq,
                "fileName": row.file_name,
                "rows": row.rows,
                "size": size,
                "stageIds": stage_ids,
                "eventIds": event_ids,
            },
            clock=FixedClock(now),
        )
        conn.execute(
            outcome_files.update()
            .where(f.seq == seq)
            .values(state=FileState.SENT.value, sent_at=stored_time(now))
        )
    return True


def record_acks(
    *, db: Database, clock: Clock, answers: Sequence[AckAnswer]
) -> list[tuple[str, str]]:
    """Keep the hub's answer on each outcome file: (messageId, outcome) each, outcome
    Acknowledged, Failed, Duplicate (acknowledged already) or Unknown. A file cpm or analytics
    did not take whole goes into the audit trail of each event it carries."""
    f = outcome_files.c
    at = stored_time(clock.now())
    outcomes: list[tuple[str, str]] = []
    with db.begin() as conn:
        one_writer(conn, _LOCK)
        audit: list[dict[str, Any]] = []
        for answer in answers:
            seq = _seq_of(answer.message_id)
            row = None
            if seq is not None:
                row = conn.execute(sa.select(outcome_files).where(f.seq == seq)).first()
            if row is None or row.state == FileState.PENDING.value:
                outcomes.append((answer.message_id, "Unknown"))
                continue
            if row.state == FileState.ACKNOWLEDGED.value:
                outcomes.append((answer.message_id, "Duplicate"))
                continue
            state = FileState.ACKNOWLEDGED if answer.ok else FileState.FAILED
            conn.execute(
                outcome_files.update()
                .where(f.seq == row.seq)
                .values(state=state.value, detail=answer.detail[:DETAIL_MAX], acked_at=at)
            )
            if not answer.ok:
                said = f"outcome file {row.file_name} was not taken whole: {answer.detail}"
                stage_ids: list[str] = orjson.loads(row.stages)
                for event_id, stage_id in conn.execute(
                    sa.select(stages.c.event_id, stages.c.id)
                    .where(stages.c.id.in_(stage_ids))
                    .order_by(stages.c.event_id, stages.c.seq)
                ):
                    line = failure_line(_Named(str(event_id), str(stage_id)), at, said)
                    audit.append(line)
            outcomes.append((answer.message_id, state.value))
        if audit:
            conn.execute(event_audit.insert(), audit)
    return outcomes


@dataclass(frozen=True, slots=True)
class _Named:
    event_id: str
    stage_id: str


@dataclass(frozen=True, slots=True)
class FileView:
    seq: int
    file_name: str
    stage_ids: list[str]
    rows: int
    state: FileState
    detail: str
    created_at: datetime
    sent_at: datetime | None
    acked_at: datetime | None


def files_of(*, db: Database, event_id: str | None = None, limit: int = 100) -> list[FileView]:
    """The outcome files, the latest first; those carrying a stage of ``event_id`` when given."""
    f = outcome_files.c
    query = sa.select(outcome_files).order_by(f.seq.desc()).limit(limit)
    if event_id is not None:
        query = query.where(
            f.seq.in_(sa.select(stages.c.outcome_file_seq).where(stages.c.event_id == event_id))
        )
    with db.read() as conn:
        return [
            FileView(
                r.seq, r.file_name, orjson.loads(r.stages), r.rows, FileState(r.state), r.detail,
                datetime.fromisoformat(r.created_at),
                datetime.fromisoformat(r.sent_at) if r.sent_at else None,
                datetime.fromisoformat(r.acked_at) if r.acked_at else None,
            )
            for r in conn.execute(query)
        ]  # fmt: skip
