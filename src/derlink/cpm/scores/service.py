"""Device scores' use cases (docs/cpm-scores.md): the participation-history intake and the score
run.

A run takes in the history files waiting on cpm's content server first (the platform's
file-intake machinery: claims, per-row acknowledgements, ``Acked-``/``Error-`` renames), then
reads the history of every device of an Active subscription, scores the devices
(``kernel.py``), and writes ``SDCSE_<stamp>.csv`` to the content server, streamed and published
whole (a crash mid-write leaves no file). Its row in ``score_runs`` says Running, then Completed
(with the devices scored, those without history, and the file) or Failed (with the reason).
One run at a time; a run a crash left Running is marked Failed at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from derlink.common.clock import Clock
from derlink.common.errors import NotFound
from derlink.common.ids import new_id
from derlink.cpm.db import file_claims
from derlink.cpm.enrollment.tables import devices, subscription_devices, subscriptions
from derlink.cpm.errors import CpmConflict
from derlink.cpm.events.tables import event_participations, program_events
from derlink.cpm.scores import kernel
from derlink.cpm.scores import model as m
from derlink.cpm.scores.tables import participation_history, score_runs
from derlink.platform.database import Database
from derlink.platform.files import FileStore
from derlink.platform.intake.claims import FileClaims
from derlink.platform.intake.driver import (
    Accepted,
    FileIntake,
    FileWork,
    IntakeCodes,
    IntakeSpec,
)
from derlink.platform.intake.records import RowReject

log = logging.getLogger("derlink.cpm.scores")

#: Rows of the score file per chunk written.
WRITE_ROWS = 50_000
#: History rows fetched at a time.
FETCH_ROWS = 100_000
#: The kernel's history columns as read from the database (times as ISO text).
HISTORY_TEXT: dict[str, Any] = {**kernel.HISTORY_SCHEMA, "event_start": pl.Utf8}

# -- the history intake ---------------------------------------------------------------------

SPEC = IntakeSpec(
    source="PARTICIPATION",
    prefix=m.HISTORY_PREFIX,
    header=m.HISTORY_HEADER,
    output_prefix=m.ACK_PREFIX,
    output_header=m.ACK_HEADER,
    codes=IntakeCodes(
        empty=m.EMPTY, header=m.HEADER, size=m.SIZE, columns=m.COLUMNS, encoding=m.ENCODING
    ),
)


class HistoryFiles:
    """The participation-history file as a file kind of the intake machinery."""

    spec = SPEC

    def __init__(self, db: Database, clock: Clock) -> None:
        self.clock = clock
        mark = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
        columns = (*m.HistoryRecord._fields[1:], "source_file", "updated_at")
        keys = ("head_end_system", "nic_id", "event_id")
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
        # A later row of a key replaces the one held (a corrected outcome); the same row again
        # changes nothing but its time.
        self.upsert = (
            f"INSERT INTO {participation_history.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        )

    def new_file(self, name: str) -> FileWork:
        return HistoryFileWork(self, name)

    def refused_row(self, reject: RowReject) -> Sequence[Any]:
        return m.rejected_row(reject)

    def keys(self, fields: Sequence[str]) -> tuple[str, ...]:
        return m.row_keys(fields)


class HistoryFileWork:
    """One history file: rows checked, stored batch by batch, each acknowledged."""

    def __init__(self, kind: HistoryFiles, name: str) -> None:
        self.kind = kind
        self.name = name

    def check(
        self, rows: Sequence[tuple[int, list[str] | RowReject]]
    ) -> list[Accepted | RowReject]:
        return list(m.check_rows(rows))

    def store(self, conn: Connection, rows: Sequence[Accepted]) -> Mapping[int, Any]:
        extra = (self.name, self.kind.clock.now().isoformat())
        records = [r for r in rows if isinstance(r, m.HistoryRecord)]
        if records:
            conn.exec_driver_sql(self.kind.upsert, [r[1:] + extra for r in records])
        return {}

    def output_rows(
        self, rows: Sequence[Accepted | RowReject], notes: Mapping[int, Any]
    ) -> list[Sequence[Any]]:
        return [
            m.accepted_row(r)
            if isinstance(r, m.HistoryRecord)
            else m.rejected_row(cast(RowReject, r))
            for r in rows
        ]


def history_intake(db: Database, clock: Clock, store: FileStore, max_file_bytes: int) -> FileIntake:
    """The intake of participation-history files from cpm's content server (their
    acknowledgements written beside them), claims in cpm's database."""
    return FileIntake(
        HistoryFiles(db, clock),
        db=db,
        claims=FileClaims(db, file_claims, clock),
        source=store,
        output=store,
        max_file_bytes=max_file_bytes,
    )


# -- the score run ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    run_id: str
    state: m.RunState
    as_of: str
    rows: int
    unscored: int
    history_files: int
    file_name: str | None
    started_at: str
    finished_at: str | None
    actor: str
    error: str | None


def _view(row: Row[Any]) -> RunView:
    return RunView(
        run_id=row.id,
        state=m.RunState(row.state),
        as_of=row.as_of,
        rows=row.rows,
        unscored=row.unscored,
        history_files=row.history_files,
        file_name=row.file_name,
        started_at=row.started_at,
        finished_at=row.finished_at,
        actor=row.actor,
        error=row.error,
    )


async def run_scores(
    *, db: Database, clock: Clock, store: FileStore, intake: FileIntake, actor: str
) -> RunView:
    """One run to its end: Completed, or Failed with the reason. Conflict (409,
    CPM-SCORES-RUNNING) while another runs."""
    run_id, as_of = await asyncio.to_thread(_begin, db, clock, actor)
    try:
        taken = await intake.run_once()
        history, active = await asyncio.to_thread(_history_of_active_devices, db)
        scores = await asyncio.to_thread(kernel.device_scores, history, as_of=as_of)
        name = None
        if scores.height:
            name = m.score_file_name(as_of)
            async with contextlib.aclosing(_csv_chunks(scores)) as chunks:
                await store.write(name, chunks)
        done = {
            "state": m.RunState.COMPLETED.value,
            "rows": scores.height,
            "unscored": active - scores.height,
            "history_files": len(taken),
            "file_name": name,
        }
    except Exception as exc:
        log.exception("score run %s failed", run_id)
        done = {"state": m.RunState.FAILED.value, "error": f"{type(exc).__name__}: {exc}"}
    return await asyncio.to_thread(_finish, db, clock, run_id, done)


async def _csv_chunks(scores: pl.DataFrame) -> AsyncGenerator[bytes, None]:
    for offset in range(0, scores.height, WRITE_ROWS):
        part = scores.slice(offset, WRITE_ROWS)
        yield part.write_csv(include_header=offset == 0, null_value="").encode()


def _begin(db: Database, clock: Clock, actor: str) -> tuple[str, datetime]:
    now = clock.now()
    run_id = new_id("SC-")
    running = m.RunState.RUNNING.value
    try:
        with db.begin() as conn:
            held = conn.execute(
                sa.select(score_runs.c.id).where(score_runs.c.state == running)
            ).first()
            if held is not None:
                raise _already_running(held.id)
            conn.execute(
                score_runs.insert().values(
                    id=run_id,
                    state=running,
                    as_of=now.isoformat(),
                    rows=0,
                    unscored=0,
                    history_files=0,
                    started_at=now.isoformat(),
                    actor=actor,
                )
            )
    except IntegrityError:
        raise _already_running(None) from None
    return run_id, now


def _already_running(run_id: str | None) -> CpmConflict:
    which = f"run {run_id}" if run_id else "another run"
    return CpmConflict(
        f"a score run is running ({which}); one runs at a time", code=m.RUNNING, runId=run_id
    )


def _finish(db: Database, clock: Clock, run_id: str, values: dict[str, Any]) -> RunView:
    with db.begin() as conn:
        conn.execute(
            score_runs.update()
            .where(score_runs.c.id == run_id)
            .values(finished_at=clock.now().isoformat(), **values)
        )
    return get_run(db=db, run_id=run_id)


def _active_devices() -> sa.Select[tuple[str]]:
    """The ids of the devices of Active subscriptions (held, not replaced)."""
    links = subscription_devices.c
    return (
        sa.select(links.device_id)
        .join(subscriptions, subscriptions.c.id == links.subscription_id)
        .where(links.status == "ACTIVE", subscriptions.c.status == "Active")
    )


def _history_of_active_devices(db: Database) -> tuple[pl.DataFrame, int]:
    """The history of the devices of Active subscriptions, as the kernel takes them (the device
    named by cpm's id): the outcomes EVT-OUTCOME recorded on their event participations (the
    program event's stage as the event, its start, the measured kW as the reduction), and the
    rows of the participation-history files."""
    h, d = participation_history.c, devices.c
    ep, pe = event_participations.c, program_events.c
    active = _active_devices().subquery()
    imported = (
        sa.select(
            d.id, h.head_end_system, h.nic_id, h.event_id, h.event_start, h.outcome, h.reduction_kw
        )
        .join(devices, (d.head_end_system == h.head_end_system) & (d.nic_id == h.nic_id))
        .where(d.id.in_(sa.select(active.c.device_id)))
    )
    recorded = (
        sa.select(
            ep.device_id, ep.head_end_system, ep.nic_id, pe.external_identifier, pe.start_at,
            ep.outcome, ep.measured_kw,
        )
        .join(program_events, pe.id == ep.program_event_id)
        .where(ep.outcome.is_not(None), ep.device_id.in_(sa.select(active.c.device_id)))
    )  # fmt: skip
    query = sa.union_all(imported, recorded)
    names = list(kernel.HISTORY_SCHEMA)
    columns: list[list[Any]] = [[] for _ in names]
    with db.read() as conn:
        count = conn.execute(sa.select(sa.func.count(sa.distinct(active.c.device_id)))).scalar_one()
        result = conn.execute(query)
        while batch := result.fetchmany(FETCH_ROWS):
            for values, column in zip(zip(*batch, strict=True), columns, strict=True):
                column.extend(values)
    frame = pl.DataFrame(
        dict(zip(names, columns, strict=True)),
        schema=HISTORY_TEXT,
    ).with_columns(pl.col("event_start").str.to_datetime(time_unit="us", time_zone="UTC"))
    return frame, int(count)


async def recover_runs(*, db: Database, clock: Clock) -> list[RunView]:
    """At start: a run a crash left Running is marked Failed."""
    with db.read() as conn:
        left: list[str] = list(
            conn.execute(
                sa.select(score_runs.c.id).where(score_runs.c.state == m.RunState.RUNNING.value)
            ).scalars()
        )
    reason = {"state": m.RunState.FAILED.value, "error": "cpm stopped while the run ran"}
    return [await asyncio.to_thread(_finish, db, clock, run_id, reason) for run_id in left]


# -- reads --------------------------------------------------------------------------------------


def get_run(*, db: Database, run_id: str) -> RunView:
    with db.read() as conn:
        row = conn.execute(sa.select(score_runs).where(score_runs.c.id == run_id)).first()
    if row is None:
        raise NotFound(f"no score run {run_id}", code=m.UNKNOWN_RUN)
    return _view(row)


def list_runs(*, db: Database, limit: int) -> list[RunView]:
    """The latest runs, newest first."""
    query = (
        sa.select(score_runs)
        .order_by(score_runs.c.started_at.desc(), score_runs.c.id.desc())
        .limit(limit)
    )
    with db.read() as conn:
        return [_view(r) for r in conn.execute(query)]
