"""cpm's enrollment extract (OUAI-ENR): subscriptions as a CSV file on cpm's content server.

An INITIAL extract takes every Active subscription; an INCREMENTAL one every subscription whose
version analytics does not hold (never sent, or changed since, Inactive ones included). Each row
is the analytics copy of one subscription and stands for one sync request (type ANALYTICS),
created Awaiting Acknowledgement: the file is the handover, and analytics' ack file comes back
through update-and-transition like any acknowledgement.

The extract streams: keyset pages of subscriptions, each page one transaction (its sync
requests, their history rows, the subscriptions' ``analytics_version``), and each page's CSV
bytes go straight into the store's atomic write. Nothing is half-done: if the write fails, or
the process dies, the extract is marked Failed, its sync requests and history are removed and
the subscriptions get back the version analytics held before (the newest of their other
ANALYTICS sync requests), so the next incremental takes them again. A crash leaves the extract
Running; :func:`recover_extracts` cleans it up when cpm starts. One extract runs at a time: a
unique index admits a single Running row.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from derlink.common.clock import Clock
from derlink.common.errors import NotFound
from derlink.common.ids import new_id
from derlink.cpm.enrollment import model as m
from derlink.cpm.enrollment.service import extract_file as f
from derlink.cpm.enrollment.tables import (
    ANALYTICS_DUE,
    enrollment_extracts,
    subscriptions,
    sync_request_history,
    sync_requests,
)
from derlink.cpm.errors import CpmConflict
from derlink.platform.database import Database
from derlink.platform.files import FileStore

log = logging.getLogger("derlink.cpm.extracts")

#: Subscriptions per page: one transaction and one chunk of the file (about 1 MB).
PAGE = 5000

_ANALYTICS = m.SyncType.ANALYTICS.value
_AWAITING = m.SyncState.AWAITING_ACKNOWLEDGEMENT.value
_RUNNING = m.ExtractState.RUNNING.value

# The file's columns, in its order (extract_file.SUBSCRIPTION_COLUMNS).
_COLUMNS = tuple(subscriptions.c[name] for name in f.SUBSCRIPTION_COLUMNS)
_WHICH = {
    m.ExtractKind.INITIAL: subscriptions.c.status == m.SubscriptionStatus.ACTIVE.value,
    # The partial index ix_subscriptions_analytics_due holds exactly these rows.
    m.ExtractKind.INCREMENTAL: ANALYTICS_DUE,
}
_PAGE_QUERY = {
    kind: sa.select(*_COLUMNS)
    .where(which, subscriptions.c.id > sa.bindparam("after"))
    .order_by(subscriptions.c.id)
    .limit(sa.bindparam("limit"))
    for kind, which in _WHICH.items()
}


@dataclass(frozen=True)
class _BulkSql:
    """A page's three bulk statements, in the driver's own SQL.

    Measured: SQLAlchemy's per-row parameter processing took a quarter of an extract's time,
    so the 15,000 rows a page writes go to the driver's ``executemany`` as plain tuples.
    """

    insert_sync: str
    insert_history: str
    mark_extracted: str


@functools.cache
def _bulk_sql(paramstyle: str) -> _BulkSql:
    mark = "?" if paramstyle == "qmark" else "%s"  # SQLite's, or psycopg's
    return _BulkSql(
        insert_sync=(
            f"INSERT INTO {sync_requests.name} (id, subscription_id, sync_type, state, version, "
            f"error_info, created_at, updated_at, acknowledged_at) "
            f"VALUES ({mark}, {mark}, '{_ANALYTICS}', '{_AWAITING}', {mark}, NULL, {mark}, "
            f"{mark}, NULL)"
        ),
        insert_history=(
            f"INSERT INTO {sync_request_history.name} "
            "(sync_request_id, from_state, to_state, at, actor, note) "
            f"VALUES ({mark}, NULL, '{_AWAITING}', {mark}, {mark}, {mark})"
        ),
        # The version read in this transaction, not the column: a change committed meanwhile
        # leaves the subscription due for the next incremental.
        mark_extracted=(
            f"UPDATE {subscriptions.name} SET analytics_version = {mark} WHERE id = {mark}"
        ),
    )


_COUNT_ROWS = (
    enrollment_extracts.update()
    .where(enrollment_extracts.c.id == sa.bindparam("b_id"))
    .values(rows=sa.bindparam("b_rows"))
)


@dataclass(frozen=True)
class ExtractView:
    extract_id: str
    kind: m.ExtractKind
    state: m.ExtractState
    #: The file on cpm's content server; None when the extract had no rows, or failed.
    file_name: str | None
    rows: int
    started_at: str
    finished_at: str | None
    actor: str
    error: str | None


def _view(row: Row[Any]) -> ExtractView:
    return ExtractView(
        extract_id=row.id,
        kind=m.ExtractKind(row.kind),
        state=m.ExtractState(row.state),
        file_name=row.file_name,
        rows=row.rows,
        started_at=row.started_at,
        finished_at=row.finished_at,
        actor=row.actor,
        error=row.error,
    )


def sync_request_prefix(extract_id: str) -> str:
    """The extract's sync requests are ``SR-<the extract id's 26 characters>-<row>``: unique,
    at most 40 characters up to 9,999,999,999 rows, and found again by their prefix."""
    return f"SR-{extract_id.split('-', 1)[1]}-"


# -- running an extract ---------------------------------------------------------------------


async def run_extract(
    *,
    db: Database,
    clock: Clock,
    store: FileStore,
    kind: m.ExtractKind,
    actor: str,
    page_size: int = PAGE,
) -> ExtractView:
    """Run one extract to its end: Completed, or Failed with the reason (everything undone).

    Conflict (409, CPM-EXTRACT-RUNNING) if another extract is running. The database work runs
    in worker threads; only the handing of bytes to the store happens on the event loop.
    """
    view, name = await asyncio.to_thread(_begin, db, clock, kind, actor)
    pages = _Pages(db, clock, view, page_size)
    try:
        first = await asyncio.to_thread(pages.next)
        if first is None:
            return await asyncio.to_thread(_finish, db, clock, view.extract_id, 0, None)
        async with contextlib.aclosing(_chunks(pages, first)) as chunks:
            await store.write(name, chunks)
        return await asyncio.to_thread(_finish, db, clock, view.extract_id, pages.rows, name)
    except Exception as exc:
        log.exception("enrollment extract %s failed after %d rows", view.extract_id, pages.rows)
        return await _abandon(db, clock, store, view, pages, f"{type(exc).__name__}: {exc}")
    except BaseException:
        # Cancelled (cpm is stopping): undo now if we still can, else recovery does at start.
        with contextlib.suppress(BaseException):
            await _abandon(db, clock, store, view, pages, "cpm stopped while the extract ran")
        raise


async def _chunks(pages: _Pages, first: bytes) -> AsyncGenerator[bytes, None]:
    """The file's bytes: the header and the first page, then one page at a time."""
    yield f.header_line().encode() + first
    while (chunk := await asyncio.to_thread(pages.next)) is not None:
        yield chunk


class _Pages:
    """The keyset pages of one extract. ``next`` commits a page and answers its CSV bytes.

    ``lock`` keeps the undo from running beside a page still committing in its thread (a
    cancelled await does not stop the thread)."""

    def __init__(self, db: Database, clock: Clock, view: ExtractView, page_size: int) -> None:
        self.db, self.clock, self.view, self.page_size = db, clock, view, page_size
        self.query = _PAGE_QUERY[view.kind]
        self.prefix = sync_request_prefix(view.extract_id)
        self.note = f"extract {view.extract_id}"
        self.actor = view.actor
        self.after = ""
        self.rows = 0
        self.lock = threading.Lock()
        self.stopped = False

    def next(self) -> bytes | None:
        with self.lock:
            if self.stopped:
                raise RuntimeError(f"extract {self.view.extract_id} was stopped")
            with self.db.begin() as conn:
                page = conn.execute(
                    self.query, {"after": self.after, "limit": self.page_size}
                ).all()
                if not page:
                    return None
                ids = self._record(conn, page)
            self.after = page[-1].id
            self.rows += len(page)
        return f.encode(ids, page)

    def _record(self, conn: Connection, page: Sequence[Row[Any]]) -> list[str]:
        """The page's sync requests and history rows, and the version analytics will hold;
        answers the sync request ids, in page order."""
        stamp = self.clock.now().isoformat()
        ids = [f"{self.prefix}{self.rows + i:07d}" for i in range(1, len(page) + 1)]
        sql = _bulk_sql(conn.dialect.paramstyle)
        conn.exec_driver_sql(
            sql.insert_sync,
            [
                (sync_id, r.id, r.version, stamp, stamp)
                for sync_id, r in zip(ids, page, strict=True)
            ],
        )
        conn.exec_driver_sql(
            sql.insert_history, [(sync_id, stamp, self.actor, self.note) for sync_id in ids]
        )
        conn.exec_driver_sql(sql.mark_extracted, [(r.version, r.id) for r in page])
        conn.execute(_COUNT_ROWS, {"b_id": self.view.extract_id, "b_rows": self.rows + len(page)})
        return ids

    def stop(self) -> None:
        """No page after this one; waits for a page being committed."""
        with self.lock:
            self.stopped = True


def _begin(db: Database, clock: Clock, kind: m.ExtractKind, actor: str) -> tuple[ExtractView, str]:
    """A Running extract and the name of its file, or Conflict if one is running already."""
    now = clock.now()
    extract_id = new_id("EX-")
    name = f.file_name(kind, now, extract_id)
    values = {
        "id": extract_id,
        "kind": kind.value,
        "state": _RUNNING,
        # Named from the start, so that the recovery of a crash finds the file to remove.
        "file_name": name,
        "rows": 0,
        "started_at": now.isoformat(),
        "finished_at": None,
        "actor": actor,
        "error": None,
    }
    try:
        with db.begin() as conn:
            running = conn.execute(
                sa.select(enrollment_extracts.c.id).where(enrollment_extracts.c.state == _RUNNING)
            ).first()
            if running is not None:
                raise _already_running(running.id)
            conn.execute(enrollment_extracts.insert().values(values))
    except IntegrityError:
        # Another process inserted its Running extract between our read and our insert.
        raise _already_running(None) from None
    return get_extract(db=db, extract_id=extract_id), name


def _already_running(extract_id: str | None) -> CpmConflict:
    which = f"extract {extract_id}" if extract_id else "another extract"
    return CpmConflict(
        f"an enrollment extract is running ({which}); one runs at a time",
        code=m.EXTRACT_RUNNING,
        extractId=extract_id,
    )


def _finish(
    db: Database, clock: Clock, extract_id: str, rows: int, file_name: str | None
) -> ExtractView:
    with db.begin() as conn:
        conn.execute(
            enrollment_extracts.update()
            .where(enrollment_extracts.c.id == extract_id)
            .values(
                state=m.ExtractState.COMPLETED.value,
                rows=rows,
                file_name=file_name,
                finished_at=clock.now().isoformat(),
            )
        )
    return get_extract(db=db, extract_id=extract_id)


async def _abandon(
    db: Database, clock: Clock, store: FileStore, view: ExtractView, pages: _Pages, reason: str
) -> ExtractView:
    """Stop the pages, remove the file if it was published, undo the rows, mark Failed."""
    await asyncio.to_thread(pages.stop)
    await _remove_file(store, view)
    return await asyncio.to_thread(_fail, db, clock, view.extract_id, reason)


async def _remove_file(store: FileStore, view: ExtractView) -> None:
    """A file whose sync requests are undone must not reach analytics."""
    if view.file_name is None:
        return
    try:
        await store.delete(view.file_name)
    except Exception:  # the store may be the thing that failed; the write was atomic anyway
        log.warning("could not remove %s from %s", view.file_name, store.location, exc_info=True)


def _fail(db: Database, clock: Clock, extract_id: str, reason: str) -> ExtractView:
    with db.begin() as conn:
        undone = undo_rows(conn, extract_id)
        conn.execute(
            enrollment_extracts.update()
            .where(enrollment_extracts.c.id == extract_id)
            .values(
                state=m.ExtractState.FAILED.value,
                rows=0,
                file_name=None,
                finished_at=clock.now().isoformat(),
                error=f"{reason} ({undone} row(s) undone)",
            )
        )
    return get_extract(db=db, extract_id=extract_id)


def undo_rows(conn: Connection, extract_id: str) -> int:
    """Remove an extract's sync requests and history; give the subscriptions back the version
    analytics held before. Answers how many sync requests went."""
    prefix = sync_request_prefix(extract_id)
    sqlite = conn.dialect.name == "sqlite"

    def mine(column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
        # GLOB keeps SQLite on the primary key's index (LIKE ignores case there, so cannot).
        return (
            column.op("GLOB", is_comparison=True)(prefix + "*")
            if sqlite
            else column.like(prefix + "%")
        )

    other = sync_requests.alias("other")
    held_before = (
        sa.select(sa.func.max(other.c.version))
        .where(
            other.c.subscription_id == subscriptions.c.id,
            other.c.sync_type == _ANALYTICS,
            sa.not_(mine(other.c.id)),
        )
        .scalar_subquery()
    )
    conn.execute(
        subscriptions.update()
        .where(
            subscriptions.c.id.in_(
                sa.select(sync_requests.c.subscription_id).where(mine(sync_requests.c.id))
            )
        )
        .values(analytics_version=held_before)
    )
    conn.execute(sync_request_history.delete().where(mine(sync_request_history.c.sync_request_id)))
    return conn.execute(sync_requests.delete().where(mine(sync_requests.c.id))).rowcount


async def recover_extracts(*, db: Database, clock: Clock, store: FileStore) -> list[ExtractView]:
    """At start: an extract left Running by a crash is undone and marked Failed."""
    recovered = []
    for view in await asyncio.to_thread(_running, db):
        log.warning("enrollment extract %s was left running: undoing it", view.extract_id)
        await _remove_file(store, view)
        reason = f"cpm stopped while the extract ran ({view.rows} row(s) written)"
        recovered.append(await asyncio.to_thread(_fail, db, clock, view.extract_id, reason))
    return recovered


def _running(db: Database) -> list[ExtractView]:
    with db.read() as conn:
        return [
            _view(r)
            for r in conn.execute(
                sa.select(enrollment_extracts).where(enrollment_extracts.c.state == _RUNNING)
            )
        ]


# -- reads ----------------------------------------------------------------------------------


def get_extract(*, db: Database, extract_id: str) -> ExtractView:
    with db.read() as conn:
        row = conn.execute(
            sa.select(enrollment_extracts).where(enrollment_extracts.c.id == extract_id)
        ).first()
    if row is None:
        raise NotFound(f"no enrollment extract {extract_id}", code=m.EXTRACT_UNKNOWN)
    return _view(row)


def list_extracts(*, db: Database, limit: int = 50) -> list[ExtractView]:
    """The newest extracts first."""
    with db.read() as conn:
        rows = conn.execute(
            sa.select(enrollment_extracts)
            .order_by(enrollment_extracts.c.started_at.desc(), enrollment_extracts.c.id.desc())
            .limit(limit)
        ).all()
    return [_view(r) for r in rows]
