"""derms's database schema, shared by its features: one ``MetaData``, the column conventions, and
the outbox every feature writes its outbound messages to (platform/outbox.py).

Each feature defines its tables in its own ``tables.py`` on this ``metadata``; ``migrations.py``
lists the numbered changes of the whole part. docs/contracts/derms-data.md explains the tables.
Timestamps are ISO-8601 text with an offset, the same on SQLite and PostgreSQL, never naive.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.platform.outbox import outbox_table

metadata = sa.MetaData()

EXT = 80  # identifiers that come from outside (subscription, message, device and NIC ids)
CODE = 40
TS = 40
TEXT = 200  # free text from outside (names, contact details)


def text_column(name: str, length: int = EXT) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=False, default="")


def one_writer(conn: Connection, lock: int) -> None:
    """On PostgreSQL, take the transaction advisory lock ``lock``: the writes of one kind go one
    at a time, so that a batch's "read what exists, then decide" never races another batch (a
    redelivery, or a newer version). SQLite's BEGIN IMMEDIATE already lets one writer in."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(lock)))


@functools.lru_cache(maxsize=4096)
def stored_time(value: datetime) -> str:
    """A time as stored: ISO-8601 in UTC, so that text order is time order. Cached: the rows of
    a file share a few times (a forecast's window and when it was made), and a million of them
    would convert the same three times a million times."""
    return value.astimezone(UTC).isoformat()


outbox = outbox_table(metadata)
