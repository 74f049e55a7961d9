"""DERMS's inputs' use cases (docs/contracts/derms-inputs.md): the hub's collections of device
scores and forecasts kept, the latest per key, and read back.

A collection is one transaction: what DERMS holds of its keys is read, the rows newer than that
are written (one upsert statement), and the call answers how many were applied and how many
were stale (not newer than what was held, or repeated). A resumed or repeated delivery is
stale throughout: it changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row

from derlink.common.clock import Clock
from derlink.common.errors import NotFound
from derlink.derms.db import one_writer
from derlink.derms.inputs import model
from derlink.derms.inputs.tables import device_scores, forecasts
from derlink.platform.database import Database

# PostgreSQL advisory-lock keys (registry 1-3, master data 4).
_SCORES_LOCK = 0x6465726D_0005
_FORECASTS_LOCK = 0x6465726D_0006


def _at(value: datetime) -> str:
    """A time as stored: ISO-8601 in UTC, so that text order is time order."""
    return value.astimezone(UTC).isoformat()


# --- Writes ----------------------------------------------------------------------------------


def apply_scores(
    *, db: Database, clock: Clock, scores: Sequence[model.DeviceScore]
) -> model.Applied:
    """Keep each score newer than the one held of its device."""
    c = device_scores.c
    with db.begin() as conn:
        one_writer(conn, _SCORES_LOCK)
        held = {
            (row.head_end_system, row.nic_id): datetime.fromisoformat(row.scored_at)
            for row in conn.execute(
                sa.select(c.head_end_system, c.nic_id, c.scored_at).where(
                    sa.tuple_(c.head_end_system, c.nic_id).in_([s.key for s in scores])
                )
            )
        }
        kept = model.latest(((s.key, s.scored_at, s) for s in scores), held)
        received = clock.now().isoformat()
        _upsert(conn, device_scores, [_score_row(s, received) for s in kept])
    return model.Applied(applied=len(kept), stale=len(scores) - len(kept))


def apply_forecasts(
    *, db: Database, clock: Clock, items: Sequence[model.Forecast]
) -> model.Applied:
    """Keep each forecast newer than the one held of its service point, replacing it whole."""
    c = forecasts.c
    with db.begin() as conn:
        one_writer(conn, _FORECASTS_LOCK)
        held = {
            row.sp_id: datetime.fromisoformat(row.forecast_at)
            for row in conn.execute(
                sa.select(c.sp_id, c.forecast_at).where(c.sp_id.in_([f.sp_id for f in items]))
            )
        }
        kept = model.latest(((f.key, f.forecast_at, f) for f in items), held)
        received = clock.now().isoformat()
        _upsert(conn, forecasts, [_forecast_row(f, received) for f in kept])
    return model.Applied(applied=len(kept), stale=len(items) - len(kept))


def _upsert(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert the rows, each replacing the row of its key (one statement, many rows)."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table)
    keys = [col.name for col in table.primary_key.columns]
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=keys,
            set_={name: insert.excluded[name] for name in rows[0] if name not in keys},
        ),
        rows,
    )


def _score_row(s: model.DeviceScore, received: str) -> dict[str, Any]:
    return {
        "head_end_system": s.head_end_system,
        "nic_id": s.nic_id,
        "device_id": s.device_id,
        "score": s.score,
        "events": s.events,
        "reliability": s.reliability,
        "performance": s.performance,
        "last_event_at": _at(s.last_event_at) if s.last_event_at else None,
        "scored_at": _at(s.scored_at),
        "file": s.file,
        "received_at": received,
    }


def _forecast_row(f: model.Forecast, received: str) -> dict[str, Any]:
    return {
        "sp_id": f.sp_id,
        "program_id": f.program_id,
        "window_start": _at(f.window_start),
        "window_end": _at(f.window_end),
        "interval_s": f.interval_s,
        "forecast_at": _at(f.forecast_at),
        "intervals": orjson.dumps({"p10": f.p10_kw, "p50": f.p50_kw, "p90": f.p90_kw}).decode(),
        "file": f.file,
        "received_at": received,
    }


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
        p10_kw=tuple(intervals["p10"]),
        p50_kw=tuple(intervals["p50"]),
        p90_kw=tuple(intervals["p90"]),
        file=row.file,
    )
