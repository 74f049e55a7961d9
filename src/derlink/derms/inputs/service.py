"""DERMS's inputs' use cases (docs/contracts/derms-inputs.md): the hub's collections of device
scores and forecasts kept, the latest per key, and read back.

A collection is one transaction: of several rows of one key the newest is taken, and each is
written by one upsert that replaces the held row only when the new one is newer; the call
answers how many rows were applied and how many were stale (not newer than what was held, or
than another row of the call). A resumed or repeated delivery is stale throughout: it changes
nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Row

from derlink.common.clock import Clock
from derlink.common.errors import NotFound
from derlink.derms.db import one_writer, stored_time
from derlink.derms.inputs import model
from derlink.derms.inputs.tables import device_scores, forecasts
from derlink.platform.database import Database

# PostgreSQL advisory-lock keys (registry 1-3, master data 4).
_SCORES_LOCK = 0x6465726D_0005
_FORECASTS_LOCK = 0x6465726D_0006


# --- Writes ----------------------------------------------------------------------------------


def apply_scores(
    *, db: Database, clock: Clock, scores: Sequence[model.DeviceScore]
) -> model.Applied:
    """Keep each score newer than the one held of its device."""
    kept = model.newest((s.key, s.scored_at, s) for s in scores)
    received = clock.now().isoformat()
    rows = [_score_row(s, received) for s in kept]
    applied = _upsert(db, device_scores, "scored_at", rows, _SCORES_LOCK)
    return model.Applied(applied=applied, stale=len(scores) - applied)


def apply_forecasts(
    *, db: Database, clock: Clock, items: Sequence[model.Forecast]
) -> model.Applied:
    """Keep each forecast newer than the one held of its service point, replacing it whole."""
    kept = model.newest((f.key, f.forecast_at, f) for f in items)
    received = clock.now().isoformat()
    rows = [_forecast_row(f, received) for f in kept]
    applied = _upsert(db, forecasts, "forecast_at", rows, _FORECASTS_LOCK)
    return model.Applied(applied=applied, stale=len(items) - applied)


@functools.cache
def _upsert_sql(table: sa.Table, newer: str, paramstyle: str) -> str:
    """Insert a row, or replace the held row of its key when the new one is newer by
    ``newer`` (ISO text in UTC: text order is time order); in the driver's own SQL, the rows as
    plain tuples (SQLAlchemy's per-row parameter handling cost more than the write)."""
    mark = "?" if paramstyle == "qmark" else "%s"
    columns = [c.name for c in table.columns]
    keys = [c.name for c in table.primary_key.columns]
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates} "
        f"WHERE excluded.{newer} > {table.name}.{newer}"
    )


def _upsert(
    db: Database, table: sa.Table, newer: str, rows: list[tuple[Any, ...]], lock: int
) -> int:
    """Write the rows newer than the ones held (one transaction); how many were written."""
    if not rows:
        return 0
    with db.begin() as conn:
        one_writer(conn, lock)
        sql = _upsert_sql(table, newer, conn.dialect.paramstyle)
        written = conn.exec_driver_sql(sql, rows).rowcount
    return int(written)


def _score_row(s: model.DeviceScore, received: str) -> tuple[Any, ...]:
    """The row in the table's column order."""
    return (
        s.head_end_system,
        s.nic_id,
        s.device_id,
        s.score,
        s.events,
        s.reliability,
        s.performance,
        stored_time(s.last_event_at) if s.last_event_at else None,
        stored_time(s.scored_at),
        s.file,
        received,
    )


def _forecast_row(f: model.Forecast, received: str) -> tuple[Any, ...]:
    """The row in the table's column order."""
    return (
        f.sp_id,
        f.program_id,
        stored_time(f.window_start),
        stored_time(f.window_end),
        f.interval_s,
        stored_time(f.forecast_at),
        orjson.dumps({"p10": f.p10_kw, "p50": f.p50_kw, "p90": f.p90_kw}).decode(),
        f.file,
        received,
    )


# --- Reads -----------------------------------------------------------------------------------


def get_score(*, db: Database, head_end_system: str, nic_id: str) -> model.DeviceScore:
    c = device_scores.c
    with db.read() as conn:
        row = conn.execute(
            sa.select(device_scores).where(
                (c.head_end_system == head_end_system) & (c.nic_id == nic_id)
            )
        ).first()
    if row is None:
        raise NotFound(f"derms holds no score of device {head_end_system}/{nic_id}")
    return _score(row)


def score_page(
    *, db: Database, after: tuple[str, str] | None, limit: int
) -> tuple[list[model.DeviceScore], tuple[str, str] | None]:
    """A page of scores by (head-end system, NIC id) after ``after``, and the next key."""
    c = device_scores.c
    page, more = _page(db, device_scores, (c.head_end_system, c.nic_id), after, limit)
    scores = [_score(row) for row in page]
    return scores, (scores[-1].key if more else None)


def get_forecast(*, db: Database, sp_id: str) -> model.Forecast:
    with db.read() as conn:
        row = conn.execute(sa.select(forecasts).where(forecasts.c.sp_id == sp_id)).first()
    if row is None:
        raise NotFound(f"derms holds no forecast of service point {sp_id}")
    return _forecast(row)


def forecast_page(
    *, db: Database, after: str | None, limit: int
) -> tuple[list[model.Forecast], str | None]:
    """A page of forecasts by service point after ``after``, and the next cursor."""
    page, more = _page(db, forecasts, (forecasts.c.sp_id,), (after,) if after else None, limit)
    items = [_forecast(row) for row in page]
    return items, (items[-1].sp_id if more else None)


def _page(
    db: Database,
    table: sa.Table,
    key: tuple[sa.Column[str], ...],
    after: tuple[str, ...] | None,
    limit: int,
) -> tuple[list[Row[Any]], bool]:
    """Up to ``limit`` rows of ``table`` in ``key`` order after ``after``, and whether more
    follow."""
    query = sa.select(table).order_by(*key).limit(limit + 1)
    if after:
        query = query.where(sa.tuple_(*key) > sa.tuple_(*after))
    with db.read() as conn:
        found = list(conn.execute(query))
    return found[:limit], len(found) > limit


def _score(row: Row[Any]) -> model.DeviceScore:
    return model.DeviceScore(
        head_end_system=row.head_end_system,
        nic_id=row.nic_id,
        device_id=row.device_id,
        score=row.score,
        events=row.events,
        reliability=row.reliability,
        performance=row.performance,
        last_event_at=datetime.fromisoformat(row.last_event_at) if row.last_event_at else None,
        scored_at=datetime.fromisoformat(row.scored_at),
        file=row.file,
    )


def _forecast(row: Row[Any]) -> model.Forecast:
    intervals = orjson.loads(row.intervals)
    return model.Forecast(
        sp_id=row.sp_id,
        program_id=row.program_id,
        window_start=datetime.fromisoformat(row.window_start),
        window_end=datetime.fromisoformat(row.window_end),
        interval_s=row.interval_s,
        forecast_at=datetime.fromisoformat(row.forecast_at),
        p10_kw=intervals["p10"],
        p50_kw=intervals["p50"],
        p90_kw=intervals["p90"],
        file=row.file,
    )
