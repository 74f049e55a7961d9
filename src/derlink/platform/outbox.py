"""The transactional outbox: how a part sends messages to the hub without losing any.

A part writes its outbound message into its own ``outbox`` table in the same transaction as
the business change that caused it. A publisher then claims unsent rows in batches, posts each
batch to the hub's intake for that flow, and marks the rows sent. A batch keeps its identifier
across crashes and retries, and the hub deduplicates by it, so a batch re-sent after a crash has
no second effect. While the hub is down, rows wait in the table: nothing is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.common.clock import Clock
from derlink.common.errors import BusinessFault, RemoteFault, TechnicalFault
from derlink.common.ids import new_id
from derlink.platform.database import Database
from derlink.platform.http import HttpClient

log = logging.getLogger("derlink.outbox")


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(40), nullable=False),
        sa.Column("message_key", sa.String(80), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("batch_id", sa.String(80), nullable=True),
        sa.Column("sent_at", sa.String(40), nullable=True),
        sa.Column("failed", sa.Boolean, nullable=False, default=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Index("ix_outbox_pending", "flow", "sent_at", "batch_id", "id"),
    )


def enqueue(
    conn: Connection, table: sa.Table, *, flow: str, key: str, payload: Any, clock: Clock
) -> None:
    """Add one outbound message, inside the caller's transaction."""
    enqueue_many(conn, table, flow, [(key, payload)], clock)


def enqueue_many(
    conn: Connection, table: sa.Table, flow: str, rows: Sequence[tuple[str, Any]], clock: Clock
) -> None:
    """Add outbound messages, inside the caller's transaction, in one statement."""
    if not rows:
        return
    now = clock.now().isoformat()
    conn.execute(
        table.insert(),
        [
            {
                "flow": flow,
                "message_key": key,
                "payload": orjson.dumps(p).decode(),
                "created_at": now,
                "failed": False,
            }
            for key, p in rows
        ],
    )


@dataclass(frozen=True)
class Route:
    """Where one flow's messages go: the hub path and the field that carries the list."""

    flow: str
    path: str
    field: str
    #: Called in the transaction that marks a batch sent, with the message keys of the batch.
    on_sent: Callable[[Connection, list[str]], None] | None = None
    #: The most messages one batch carries; None: the publisher's batch size. A flow whose
    #: message names a whole file takes one message per batch (one hub instance per file).
    batch_size: int | None = None


class Publisher:
    """Drains the outbox to the hub, one batch per call, for every route."""

    def __init__(
        self,
        *,
        db: Database,
        table: sa.Table,
        hub: HttpClient,
        routes: Sequence[Route],
        clock: Clock,
        batch_size: int = 500,
        idle_interval_s: float = 0.05,
        max_idle_interval_s: float = 1.0,
        linger_s: float = 0.2,
        max_backoff_s: float = 10.0,
    ) -> None:
        self.db = db
        self.table = table
        self.hub = hub
        self.routes = list(routes)
        self.clock = clock
        self.batch_size = batch_size
        self.idle_interval_s = idle_interval_s
        self.max_idle_interval_s = max_idle_interval_s
        self.linger_s = linger_s
        self.max_backoff_s = max_backoff_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.wakeup = asyncio.Event()

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="outbox-publisher")

    async def stop(self) -> None:
        self._stopping.set()
        self.wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        """Publish while there is work; when idle, poll less and less often.

        After a batch that was not full the publisher lingers a moment, so that messages
        arriving one by one travel in batches: one hub workflow per batch, not per message.
        """
        backoff = 0.0
        idle = self.idle_interval_s
        while not self._stopping.is_set():
            try:
                sent, full = 0, False
                for route in self.routes:
                    n = await self.publish_once(route)
                    sent += n
                    full = full or n >= (route.batch_size or self.batch_size)
                backoff = 0.0
                if full:
                    continue
                if sent:
                    idle = self.idle_interval_s
                    delay = self.linger_s
                else:
                    delay = idle
                    idle = min(self.max_idle_interval_s, idle * 1.5)
            except RemoteFault as exc:
                backoff = min(self.max_backoff_s, max(0.2, backoff * 2))
                log.warning("hub unreachable, outbox waits %.1fs: %s", backoff, exc)
                delay = backoff
            except Exception:  # a publisher must outlive any single failure
                log.exception("outbox publisher failed; retrying")
                delay = 1.0
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), timeout=delay)

    def _has_work(self, route: Route) -> bool:
        """A read (no write lock) to see whether a claim is needed at all."""
        t = self.table
        with self.db.read() as conn:
            return (
                conn.execute(
                    sa.select(t.c.id)
                    .where(t.c.flow == route.flow, t.c.sent_at.is_(None), t.c.failed.is_(False))
                    .limit(1)
                ).first()
                is not None
            )

    def _claim(self, route: Route) -> tuple[str, list[tuple[int, str, str]]]:
        t = self.table
        if not self._has_work(route):
            return "", []
        with self.db.begin() as conn:
            # A batch claimed before a crash is re-sent as it was, under the same identifier.
            open_batch = conn.execute(
                sa.select(t.c.batch_id)
                .where(
                    t.c.flow == route.flow,
                    t.c.sent_at.is_(None),
                    t.c.batch_id.is_not(None),
                    t.c.failed.is_(False),
                )
                .order_by(t.c.id)
                .limit(1)
            ).scalar()
            if open_batch is None:
                ids: list[int] = list(
                    conn.execute(
                        sa.select(t.c.id)
                        .where(
                            t.c.flow == route.flow, t.c.sent_at.is_(None), t.c.batch_id.is_(None)
                        )
                        .order_by(t.c.id)
                        .limit(route.batch_size or self.batch_size)
                    ).scalars()
                )
                if not ids:
                    return "", []
                open_batch = f"{route.flow}-{new_id()}"
                conn.execute(t.update().where(t.c.id.in_(ids)).values(batch_id=open_batch))
            rows = conn.execute(
                sa.select(t.c.id, t.c.message_key, t.c.payload)
                .where(t.c.batch_id == open_batch)
                .order_by(t.c.id)
            ).all()
        return open_batch, [(r.id, r.message_key, r.payload) for r in rows]

    async def publish_once(self, route: Route) -> int:
        """Send one batch of ``route``; return how many messages went."""
        batch_id, rows = await asyncio.to_thread(self._claim, route)
        if not rows:
            return 0
        body = orjson.loads(
            b'{"batchId":'
            + orjson.dumps(batch_id)
            + b',"'
            + route.field.encode()
            + b'":['
            + b",".join(r[2].encode() for r in rows)
            + b"]}"
        )
        try:
            await self.hub.post(route.path, body, idempotency_key=batch_id)
        except (BusinessFault, TechnicalFault) as exc:
            # The hub refused the batch itself: keep the rows, flagged, for an operator.
            await asyncio.to_thread(self._mark_failed, batch_id, str(exc))
            log.error("hub refused outbox batch %s: %s", batch_id, exc)
            return 0
        await asyncio.to_thread(self._mark_sent, route, batch_id, [r[1] for r in rows])
        return len(rows)

    def _mark_sent(self, route: Route, batch_id: str, keys: list[str]) -> None:
        t = self.table
        with self.db.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.batch_id == batch_id)
                .values(sent_at=self.clock.now().isoformat())
            )
            if route.on_sent is not None:
                route.on_sent(conn, keys)

    def _mark_failed(self, batch_id: str, error: str) -> None:
        t = self.table
        with self.db.begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.batch_id == batch_id)
                .values(failed=True, last_error=error[:2000])
            )

    def pending(self) -> int:
        t = self.table
        with self.db.read() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(t)
                    .where(t.c.sent_at.is_(None), t.c.failed.is_(False))
                ).scalar_one()
            )
