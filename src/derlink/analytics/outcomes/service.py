"""The outcome intake (EVT-OUTCOME-OUAI): DERMS's outcome files in, one outcome per device per
stage kept, one acknowledgement file per input out, through the platform's file-intake
machinery (platform/intake).

:class:`OutcomeFiles` is the file kind: where the files are (``OUTCOME_`` in analytics' object
storage, put there by the hub), their header, the acknowledgement (``ACK_<name>`` on analytics'
content server) and the reason codes of what the machinery refuses. Per file, an
:class:`OutcomeFileWork` checks the rows (model.OutcomeRows) and stores each batch set-based:
the batch goes into a temporary table (PostgreSQL's COPY, SQLite's executemany), then one
``INSERT … SELECT … ON CONFLICT`` keeps, for each (stage, head-end system, NIC), the row of the
file with the highest seq; a later row of one key in one file replaces the earlier one. A file
taken again after a crash comes out the same. The first refusals of each file are kept
(``outcome_refusals``) to be shown beside its counts. :func:`outcome_intake` builds the driver
that runs it.

The reads at the end (the files taken with their first refusals, the outcomes by page) are what
the API answers with: plain rows, which ``api.py`` turns into its schemas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from derlink.analytics.db import file_claims
from derlink.analytics.intakes import file_intake
from derlink.analytics.outcomes import model as om
from derlink.analytics.outcomes.tables import event_outcomes, outcome_refusals
from derlink.common.clock import Clock
from derlink.contracts.event_files import OUTCOME_PREFIX, outcome_file_seq
from derlink.platform.database import Database
from derlink.platform.files import FileStore
from derlink.platform.intake.claims import FileState
from derlink.platform.intake.driver import (
    Accepted,
    FileIntake,
    FileWork,
    IntakeCodes,
    IntakeSpec,
    output_rows,
)
from derlink.platform.intake.records import RowReject

#: The claims' source of the outcome files: the flow that brings them.
SOURCE = "EVT-OUTCOME-OUAI"

SPEC = IntakeSpec(
    source=SOURCE,
    prefix=OUTCOME_PREFIX,
    header=om.HEADER,
    output_prefix=om.ACK_PREFIX,
    output_header=om.ACK_HEADER,
    codes=IntakeCodes(
        empty=om.EMPTY,
        header=om.HEADER_CODE,
        size=om.SIZE,
        columns=om.COLUMNS,
        encoding=om.ENCODING,
    ),
)


class OutcomeFiles:
    """DERMS's outcome file as a file kind of the intake machinery."""

    spec = SPEC

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.sql = _OutcomeSql(db.dialect)

    def new_file(self, name: str) -> FileWork:
        return OutcomeFileWork(self, name)

    def refused_row(self, reject: RowReject) -> Sequence[Any]:
        return om.rejected_row(reject)

    def keys(self, fields: Sequence[str]) -> tuple[str, ...]:
        return om.row_keys(fields)


class OutcomeFileWork:
    """One outcome file: its rows checked, stored batch by batch, each acknowledged; its first
    refusals kept."""

    def __init__(self, kind: OutcomeFiles, name: str) -> None:
        self.kind = kind
        self.name = name
        self.seq = outcome_file_seq(name)
        self.rows = om.OutcomeRows(self.seq)
        #: The refusals kept so far, and the file's claim they are kept under.
        self.kept = 0
        self.file_id: int | None = None

    def check(
        self, rows: Sequence[tuple[int, list[str] | RowReject]]
    ) -> list[Accepted | RowReject]:
        return list(self.rows.check(rows))

    def store(self, conn: Connection, rows: Sequence[Accepted]) -> Mapping[int, Any]:
        """Upsert a batch (a later row of one key replacing an earlier one); the name of the
        newer file analytics holds each row's key from, where the row changed nothing (STALE)."""
        assert self.seq is not None  # a file without one has every row rejected
        latest = {
            (r.stage_id, r.head_end_system, r.nic_id): r
            for r in rows
            if isinstance(r, om.OutcomeRecord)
        }
        now = self.kind.clock.now().isoformat()
        return self.kind.sql.write(conn, list(latest.values()), self.seq, self.name, now)

    def output_rows(
        self, rows: Sequence[Accepted | RowReject], notes: Mapping[int, Any]
    ) -> list[Sequence[Any]]:
        """The batch's acknowledgement rows; its refusals kept while the file has fewer than
        ``FIRST_REFUSALS`` (in their own transaction, after the batch's: a file taken again
        keeps the same ones)."""
        if self.kept < om.FIRST_REFUSALS:
            refused = [r for r in rows if isinstance(r, RowReject)]
            if refused:
                self._keep(refused[: om.FIRST_REFUSALS - self.kept])
        return output_rows(rows, notes, accepted=om.accepted_row, rejected=om.rejected_row)

    def _keep(self, refused: Sequence[RowReject]) -> None:
        db = self.kind.db
        if self.file_id is None:
            self.file_id = _claim_of(db, self.name)
            if self.file_id is None:  # taken over and finished by another run meanwhile
                return
        kept = [
            {"file_id": self.file_id, "row_number": r.row_number, "code": r.code,
             "reason": r.reason, **dict(zip(_KEYS, (*r.keys, "", "", "", "")[:4], strict=True))}
            for r in refused
        ]  # fmt: skip
        with db.begin() as conn:
            conn.execute(self.kind.sql.keep_refusal, kept)
        self.kept += len(kept)


_KEYS = ("record_id", "stage_id", "head_end_system", "nic_id")


def _claim_of(db: Database, name: str) -> int | None:
    """The claim of the file ``name`` this run is taking (the newest Processing one)."""
    f = file_claims.c
    with db.read() as conn:
        found: int | None = conn.execute(
            sa.select(sa.func.max(f.id)).where(
                f.source == SOURCE, f.name == name, f.state == FileState.PROCESSING
            )
        ).scalar_one()
    return found


def outcome_intake(
    db: Database,
    clock: Clock,
    storage: FileStore,
    content: FileStore,
    max_file_bytes: int,
    **options: Any,
) -> FileIntake:
    """The intake of outcome files: from analytics' object storage (``storage``), their
    acknowledgements to its content server (``content``), claims in analytics' database
    (``intakes.file_intake``, whose ``options`` it takes)."""
    return file_intake(
        OutcomeFiles(db, clock), db, clock, storage, content, max_file_bytes, **options
    )


# -- statements ---------------------------------------------------------------------------------

#: A record's fields after its row number: the columns the file gives, in the table's order.
_COLUMNS = om.OutcomeRecord._fields[1:]
_KEY = ("stage_id", "head_end_system", "nic_id")
#: The batch's temporary table: a record, its row number and its file's seq.
_BATCH_COLUMNS = ("row_number", *_COLUMNS, "file_seq")


class _OutcomeSql:
    """A batch's statements, as driver SQL: the batch into the temporary table ``outcome_batch``
    (COPY on PostgreSQL, one executemany on SQLite), then set-based statements, the same text on
    both databases but for the placeholders. A batch of 20,000 rows: one statement to load, one
    to upsert, and a look for stale rows only when a newer file's rows are held."""

    def __init__(self, dialect: str) -> None:
        self.postgresql = dialect == "postgresql"
        mark = "%s" if self.postgresql else "?"
        text, real = ("text", "double precision") if self.postgresql else ("TEXT", "REAL")
        types = {"row_number": "integer", "file_seq": "integer", "measured_kw": real}
        columns = ", ".join(f"{c} {types.get(c, text)}" for c in _BATCH_COLUMNS)
        self.create = f"CREATE TEMPORARY TABLE IF NOT EXISTS outcome_batch ({columns})" + (
            " ON COMMIT DELETE ROWS" if self.postgresql else ""
        )
        self.load = (
            f"COPY outcome_batch ({', '.join(_BATCH_COLUMNS)}) FROM STDIN"
            if self.postgresql
            else f"INSERT INTO outcome_batch ({', '.join(_BATCH_COLUMNS)}) "
            f"VALUES ({', '.join(['?'] * len(_BATCH_COLUMNS))})"
        )
        stored = (*_COLUMNS, "file_seq", "file_name", "received_at")
        updates = ", ".join(f"{c} = excluded.{c}" for c in stored if c not in _KEY)
        # Insert, or replace the held row unless it came from a file of a higher seq.
        self.upsert = (
            f"INSERT INTO event_outcomes ({', '.join(stored)}) "
            f"SELECT {', '.join((*_COLUMNS, 'file_seq'))}, "
            f"{mark}, {mark} FROM outcome_batch WHERE true ORDER BY row_number "
            f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {updates} "
            "WHERE event_outcomes.file_seq <= excluded.file_seq"
        )
        self.newer_held = f"SELECT 1 FROM event_outcomes WHERE file_seq > {mark} LIMIT 1"
        self.stale = (
            "SELECT b.row_number, o.file_name FROM outcome_batch b JOIN event_outcomes o ON "
            + " AND ".join(f"o.{c} = b.{c}" for c in _KEY)
            + " WHERE o.file_seq > b.file_seq"
        )
        insert = postgresql.insert if self.postgresql else sqlite.insert
        self.keep_refusal = insert(outcome_refusals).on_conflict_do_nothing()

    def write(
        self,
        conn: Connection,
        records: Sequence[om.OutcomeRecord],
        seq: int,
        name: str,
        now: str,
    ) -> dict[int, str]:
        """Store ``records`` (one per key) of the file ``name`` of seq ``seq``; the newer file
        held for each row that changed nothing."""
        if not records:
            return {}
        conn.exec_driver_sql(self.create)
        conn.exec_driver_sql("DELETE FROM outcome_batch")
        rows = [(*r, seq) for r in records]
        if self.postgresql:
            raw = conn.connection.dbapi_connection
            with raw.cursor() as cursor, cursor.copy(self.load) as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
        else:
            conn.exec_driver_sql(self.load, rows)
        stale: dict[int, str] = {}
        if conn.exec_driver_sql(self.newer_held, (seq,)).first() is not None:
            stale = {int(r[0]): str(r[1]) for r in conn.exec_driver_sql(self.stale)}
        conn.exec_driver_sql(self.upsert, (name, now))
        return stale


# -- reads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeFilter:
    """What the list of outcomes is narrowed to (None: any)."""

    stage_id: str | None = None
    event_id: str | None = None
    sp_id: str | None = None
    nic_id: str | None = None
    outcome: str | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        o = event_outcomes.c
        given = (
            (o.stage_id, self.stage_id),
            (o.event_id, self.event_id),
            (o.sp_id, self.sp_id),
            (o.nic_id, self.nic_id),
            (o.outcome, self.outcome),
        )
        return [column == value for column, value in given if value is not None]


def outcome_page(
    *, db: Database, narrowed: OutcomeFilter, after: int | None, limit: int
) -> tuple[list[RowMapping], int | None]:
    """A keyset page of the outcomes, in the order analytics first took them: the ``limit``
    after position ``after``, and the ``after`` of the next page (None on the last one)."""
    o = event_outcomes
    query = sa.select(o).where(*narrowed.conditions()).order_by(o.c.id).limit(limit + 1)
    if after is not None:
        query = query.where(o.c.id > after)
    with db.read() as conn:
        rows = conn.execute(query).all()
    items = [r._mapping for r in rows[:limit]]
    return items, int(items[-1]["id"]) if len(rows) > limit else None


def recent_files(*, db: Database, limit: int) -> list[tuple[RowMapping, list[RowMapping]]]:
    """The outcome files taken, newest first, each with its first refusals in row order."""
    f, r = file_claims, outcome_refusals
    with db.read() as conn:
        files = conn.execute(
            sa.select(f).where(f.c.source == SOURCE).order_by(f.c.id.desc()).limit(limit)
        ).all()
        refusals: dict[int, list[RowMapping]] = {row.id: [] for row in files}
        if refusals:
            found = conn.execute(
                sa.select(r)
                .where(r.c.file_id.in_(list(refusals)))
                .order_by(r.c.file_id, r.c.row_number)
            )
            for refusal in found:
                refusals[refusal.file_id].append(refusal._mapping)
    return [(row._mapping, refusals[row.id]) for row in files]
