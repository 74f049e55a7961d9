"""The enrollment intake (OUAI-ENR, OUAI-ENR-ACK): extract files in, subscriptions and one ack
file per input out, through the platform's file-intake machinery (platform/intake).

:class:`EnrollmentFiles` is the file kind: where the files are (``ENROLL_SYNC_`` in analytics'
object storage), their header, the ack file (``ENROLL_ACK_<name>`` on analytics' content
server) and the reason codes of what the machinery refuses. Per file, an
:class:`EnrollmentFileWork` validates the rows in file order (model.ExtractRows remembers the
syncRequestIds seen) and stores each batch of subscriptions with one upsert that keeps each
subscription's highest version, so that a file taken again after a crash comes out the same.
:func:`enrollment_intake` builds the driver that runs it.

The reads at the end (files taken, subscriptions by page, by id and by status) are what the API
answers with: plain rows, which ``api.py`` turns into its schemas.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from derlink.analytics.enrollments import model as er
from derlink.analytics.enrollments.tables import file_claims, subscriptions
from derlink.analytics.intakes import file_intake
from derlink.common.clock import Clock
from derlink.common.errors import NotFound
from derlink.contracts.enrollment_files import ACK_HEADER, ACK_PREFIX, EXTRACT_PREFIX
from derlink.platform.database import Database
from derlink.platform.files import FileStore
from derlink.platform.intake.driver import (
    Accepted,
    FileIntake,
    FileWork,
    IntakeCodes,
    IntakeSpec,
)
from derlink.platform.intake.records import RowReject

#: The claims' source of the enrollment files: the flow that brings them.
SOURCE = "OUAI-ENR"

SPEC = IntakeSpec(
    source=SOURCE,
    prefix=EXTRACT_PREFIX,
    header=er.HEADER,
    output_prefix=ACK_PREFIX,
    output_header=ACK_HEADER,
    codes=IntakeCodes(
        empty=er.AN_EMPTY,
        header=er.AN_HEADER,
        size=er.AN_SIZE,
        columns=er.AN_COLUMNS,
        encoding=er.AN_VALUE,
    ),
)

# Subscription ids per SELECT: under SQLite's limit of bound parameters.
_LOOKUP = 5000


class EnrollmentFiles:
    """The enrollment extract as a file kind of the intake machinery."""

    spec = SPEC

    def __init__(self, db: Database, clock: Clock) -> None:
        self.clock = clock
        self.sql = _SubscriptionSql(db.engine.dialect.paramstyle)

    def new_file(self, name: str) -> FileWork:
        return EnrollmentFileWork(self, name)

    def refused_row(self, reject: RowReject) -> Sequence[Any]:
        return er.rejected_row(reject)

    def keys(self, fields: Sequence[str]) -> tuple[str, ...]:
        return er.row_keys(fields)


class EnrollmentFileWork:
    """One extract file: its rows validated in file order, its subscriptions stored batch by
    batch, each ack row saying what became of its row."""

    def __init__(self, kind: EnrollmentFiles, name: str) -> None:
        self.kind = kind
        self.name = name
        self.rows = er.ExtractRows()

    def check(
        self, rows: Sequence[tuple[int, list[str] | RowReject]]
    ) -> list[Accepted | RowReject]:
        return list(self.rows.check(rows))

    def store(self, conn: Connection, rows: Sequence[Accepted]) -> Mapping[int, Any]:
        """Upsert a batch, keeping each subscription's highest version; the version analytics
        holds for each row that changed nothing because it is older (AN-STALE)."""
        records = [r for r in rows if isinstance(r, er.SubscriptionRecord)]
        sql = self.kind.sql
        held = sql.held_versions(conn, {r.subscription_id for r in records})
        stale: dict[int, int] = {}
        writes: dict[str, er.SubscriptionRecord] = {}
        for r in records:
            version = held.get(r.subscription_id)
            if version is not None and version > r.version:
                stale[r.row_number] = version
            elif version is None or r.version > version:
                # In file order: a later, higher version of one subscription wins.
                held[r.subscription_id] = r.version
                writes[r.subscription_id] = r
            # An equal version is accepted and changes nothing (a repeat).
        if writes:
            sql.write(conn, writes.values(), self.kind.clock.now().isoformat(), self.name)
        return stale

    def output_rows(
        self, rows: Sequence[Accepted | RowReject], notes: Mapping[int, Any]
    ) -> list[Sequence[Any]]:
        return [
            er.accepted_row(r, notes.get(r.row_number))
            if isinstance(r, er.SubscriptionRecord)
            else er.rejected_row(cast(RowReject, r))
            for r in rows
        ]


def enrollment_intake(
    db: Database,
    clock: Clock,
    storage: FileStore,
    content: FileStore,
    max_file_bytes: int,
    **options: Any,
) -> FileIntake:
    """The intake of enrollment files: from analytics' object storage (``storage``), acks to its
    content server (``content``), claims in analytics' database (``intakes.file_intake``, whose
    ``options`` it takes: batch rows, chunk size, lease, attempts, who hears of the entries of
    the storage that cannot be taken)."""
    return file_intake(
        EnrollmentFiles(db, clock), db, clock, storage, content, max_file_bytes, **options
    )


# -- statements ---------------------------------------------------------------------------------


class _SubscriptionSql:
    """The two statements of a batch, as driver SQL with tuples: a batch of 20,000 rows went
    about twice as fast this way as through SQLAlchemy's executemany, which builds a parameter
    dict per row. The text is the same on SQLite and PostgreSQL but for the placeholders."""

    #: A record's fields after its row number (the file's column order), then two more.
    _COLUMNS = (*er.SubscriptionRecord._fields[1:], "updated_at", "source_file")

    def __init__(self, paramstyle: str) -> None:
        self.mark = "?" if paramstyle == "qmark" else "%s"
        updates = ", ".join(f"{c} = excluded.{c}" for c in self._COLUMNS if c != "subscription_id")
        # Insert, or replace the stored subscription if the new version is higher.
        self.upsert = (
            f"INSERT INTO subscriptions ({', '.join(self._COLUMNS)}) "
            f"VALUES ({', '.join([self.mark] * len(self._COLUMNS))}) "
            f"ON CONFLICT (subscription_id) DO UPDATE SET {updates} "
            "WHERE subscriptions.version < excluded.version"
        )

    def lookup(self, count: int) -> str:
        marks = ", ".join([self.mark] * count)
        return (
            f"SELECT subscription_id, version FROM subscriptions WHERE subscription_id IN ({marks})"
        )

    def held_versions(self, conn: Connection, ids: set[str]) -> dict[str, int]:
        held: dict[str, int] = {}
        for part in _parts(sorted(ids), _LOOKUP):
            found = conn.exec_driver_sql(self.lookup(len(part)), tuple(part))
            held.update((str(row[0]), int(row[1])) for row in found)
        return held

    def write(
        self, conn: Connection, records: Iterable[er.SubscriptionRecord], now: str, source: str
    ) -> None:
        extra = (now, source)
        conn.exec_driver_sql(self.upsert, [r[1:] + extra for r in records])


def _parts(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- reads ----------------------------------------------------------------------------------


def recent_files(*, db: Database, limit: int) -> list[RowMapping]:
    """The enrollment files taken, newest first."""
    f = file_claims
    with db.read() as conn:
        rows = conn.execute(
            sa.select(f).where(f.c.source == SOURCE).order_by(f.c.id.desc()).limit(limit)
        ).all()
    return [r._mapping for r in rows]


def find_subscription(*, db: Database, subscription_id: str) -> RowMapping:
    """One subscription as analytics holds it; NotFound if it never came in an extract."""
    s = subscriptions
    with db.read() as conn:
        row = conn.execute(sa.select(s).where(s.c.subscription_id == subscription_id)).first()
    if row is None:
        raise NotFound(f"no subscription {subscription_id} in analytics")
    return row._mapping


def subscription_page(
    *, db: Database, after: str | None, limit: int
) -> tuple[list[RowMapping], str | None]:
    """A keyset page: the ``limit`` subscriptions whose id follows ``after``, and the ``after``
    of the next page (None on the last one)."""
    s = subscriptions
    query = sa.select(s).order_by(s.c.subscription_id).limit(limit + 1)
    if after is not None:
        query = query.where(s.c.subscription_id > after)
    with db.read() as conn:
        rows = conn.execute(query).all()
    items = [r._mapping for r in rows[:limit]]
    return items, items[-1]["subscription_id"] if len(rows) > limit else None


def subscription_counts(*, db: Database) -> dict[str, int]:
    """Subscriptions by status, every status named."""
    s = subscriptions
    with db.read() as conn:
        found = conn.execute(sa.select(s.c.status, sa.func.count()).group_by(s.c.status))
        counts = {status: 0 for status in sorted(er.STATUSES)}
        counts.update({str(r[0]): int(r[1]) for r in found})
    return counts
