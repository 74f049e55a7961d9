"""Claims on files, by content: what makes a re-delivered file have no second effect and
keeps two runs off one file.

A part that takes files keeps a ``file_claims`` table (:func:`claims_table`) in its own
database. A row names a content (``source`` – the file kind or flow – and the file's SHA-256);
inserting it is the claim, so of two runs, processes or workers that meet the same content –
the same file delivered twice, under one name or two – one inserts and the other does not.
A claim is held one of two ways:

- **leased by a run** (:meth:`FileClaims.claim`, the intake driver): the run's id names its
  host and process, and every batch it stores moves ``heartbeat_at`` on in the same
  transaction (:meth:`FileClaims.heartbeat`, which also proves the run still holds the file).
  A run whose process is gone, or whose heartbeat is older than the lease, is dead: the next
  run takes the claim over and takes the file again. A run that failed before publishing
  anything leaves the claim ``Refused`` without output, to be taken again while it has
  attempts left;
- **held by a durable instance** (:meth:`FileClaims.hold`, the hub's file flows): the hub's
  runtime resumes the instance after a crash, so the claim is never taken over; it is released
  (:meth:`FileClaims.release`) when its instance is discarded, so the content may come again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from derlink.common.clock import Clock, parse_iso
from derlink.common.errors import TechnicalFault
from derlink.platform.database import Database

log = logging.getLogger("derlink.intake")

#: A file name (platform.files.safe_name allows 200 characters), and one with a tag before it.
NAME = 200
TS = 40

#: A Processing claim whose heartbeat is older than this is taken over, whoever holds it.
LEASE_S = 300.0
#: Runs a file gets before it is given up and renamed Error-.
MAX_ATTEMPTS = 5


class FileState(StrEnum):
    """Where a claimed file is.

    ``Processing``: a run holds it (``holder``; ``heartbeat_at`` moves on with every batch).
    ``Acked``: its output is published and the input renamed. ``Refused``: refused whole with an
    output (empty, wrong header, over the size limit), or a run failed before publishing
    anything (``error`` says why, ``output`` is empty): such a file is taken again while it has
    attempts left. ``Held``: held by a durable instance of the hub. ``Duplicate`` is never
    stored: it is what a run reports for a file whose content is claimed already.
    """

    PROCESSING = "Processing"
    ACKED = "Acked"
    REFUSED = "Refused"
    HELD = "Held"
    DUPLICATE = "Duplicate"


def claims_table(metadata: sa.MetaData) -> sa.Table:
    """The ``file_claims`` table of a part that takes files."""
    return sa.Table(
        "file_claims",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        #: The file kind or flow that took the file: claims of two sources never meet.
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        #: SHA-256 of the content. Empty for a file refused unread (empty, too large).
        sa.Column("checksum", sa.String(64), nullable=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        #: Data rows read, and how many were accepted and rejected.
        sa.Column("rows", sa.Integer, nullable=False, default=0),
        sa.Column("accepted", sa.Integer, nullable=False, default=0),
        sa.Column("rejected", sa.Integer, nullable=False, default=0),
        #: The acknowledgement or error file published for it.
        sa.Column("output", sa.String(NAME), nullable=True),
        #: What the input was renamed to (Acked-…, Error-…), once it was.
        sa.Column("renamed_to", sa.String(NAME + 20), nullable=True),
        sa.Column("received_at", sa.String(TS), nullable=False),
        sa.Column("finished_at", sa.String(TS), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        #: The run (``host/pid/token``) or the durable instance holding the claim.
        sa.Column("holder", sa.String(120), nullable=True),
        sa.Column("heartbeat_at", sa.String(TS), nullable=True),
        #: Runs that took the file; a file that failed this often is given up (Error-).
        sa.Column("attempts", sa.Integer, nullable=False, default=1),
        sa.UniqueConstraint("source", "checksum", name="uq_file_claims_checksum"),
        sa.Index("ix_file_claims_name", "source", "name", "state"),
        sa.Index("ix_file_claims_holder", "holder"),
    )


class ClaimLost(TechnicalFault):
    """Another run took this file over (this one was thought dead): this run stops it."""

    code = "DL-INTAKE-CLAIM-LOST"


@dataclass(frozen=True)
class Claim:
    """This run holds the file."""

    file_id: int
    checksum: str
    attempts: int


@dataclass(frozen=True)
class Known:
    """The content is claimed already: a re-delivery (or our own unfinished rename)."""

    file_id: int
    name: str
    state: str
    renamed_to: str | None


@dataclass(frozen=True)
class GiveUp:
    """A file that failed (or crashed) ``max_attempts`` times."""

    file_id: int
    error: str | None


@dataclass(frozen=True)
class Counts:
    """A file's rows so far: read, accepted, rejected."""

    rows: int = 0
    accepted: int = 0
    rejected: int = 0


# -- runs and whether they are alive -----------------------------------------------------------

_HOST = socket.gethostname()[:60]
#: The runs of this process that are going on now.
_LIVE_RUNS: set[str] = set()


def new_run_id() -> str:
    """``host/pid/token``: enough to tell, on this host, whether the run's process is alive."""
    return f"{_HOST}/{os.getpid()}/{secrets.token_hex(6)}"


@contextlib.contextmanager
def live_run() -> Iterator[str]:
    """A run of this process, alive until the block ends."""
    run = new_run_id()
    _LIVE_RUNS.add(run)
    try:
        yield run
    finally:
        _LIVE_RUNS.discard(run)


def run_alive(run_id: str | None) -> bool:
    """Whether the run may still be working. A run of another host counts as alive: only its
    lease expiring frees its file."""
    if not run_id:
        return False
    host, _, rest = run_id.partition("/")
    pid_text = rest.partition("/")[0]
    if host != _HOST or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    if pid == os.getpid():
        return run_id in _LIVE_RUNS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user holds that pid: alive
        return True
    return True


# -- the claims ----------------------------------------------------------------------------------


class FileClaims:
    """The claims of one part's ``file_claims`` table (:func:`claims_table`)."""

    def __init__(
        self,
        db: Database,
        table: sa.Table,
        clock: Clock,
        *,
        lease_s: float = LEASE_S,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.db = db
        self.table = table
        self.clock = clock
        self.lease_s = lease_s
        self.max_attempts = max_attempts

    def _now(self) -> str:
        return self.clock.now().isoformat()

    def _insert_new(
        self,
        conn: Connection,
        *,
        source: str,
        name: str,
        size: int,
        checksum: str,
        state: FileState,
        holder: str,
        heartbeat_at: str | None,
    ) -> int | None:
        """The claim's row, unless the content is claimed already: its id, or None. (An INSERT …
        ON CONFLICT DO NOTHING, the same on SQLite and PostgreSQL: the unique content decides.)"""
        insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        f = self.table
        inserted = conn.execute(
            insert(f)
            .values(
                source=source,
                name=name,
                checksum=checksum,
                size=size,
                state=state,
                rows=0,
                accepted=0,
                rejected=0,
                received_at=self._now(),
                holder=holder,
                heartbeat_at=heartbeat_at,
                attempts=1,
            )
            .on_conflict_do_nothing(index_elements=[f.c.source, f.c.checksum])
            .returning(f.c.id)
        ).scalar()
        return None if inserted is None else int(inserted)

    # -- leased by a run -------------------------------------------------------------------

    def held_by_live_run(self, source: str, name: str) -> bool:
        """Whether a live run is on a file of this name: skip it without reading it."""
        f = self.table.c
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(f.holder, f.heartbeat_at).where(
                    f.source == source, f.name == name, f.state == FileState.PROCESSING
                )
            ).all()
        return any(self._holds(r.holder, r.heartbeat_at) for r in rows)

    def _holds(self, run_id: str | None, heartbeat_at: str | None) -> bool:
        if heartbeat_at is None or not run_alive(run_id):
            return False
        return parse_iso(heartbeat_at) > self.clock.now() - timedelta(seconds=self.lease_s)

    def claim(
        self, *, source: str, name: str, size: int, checksum: str, run: str
    ) -> Claim | Known | GiveUp | None:
        """Claim a content for ``run``: Claim (it is this run's now), Known (claimed and done
        before: a duplicate), GiveUp (it failed too often), or None (a live run holds it)."""
        f = self.table
        now = self._now()
        with self.db.begin() as conn:
            inserted = self._insert_new(
                conn,
                source=source,
                name=name,
                size=size,
                checksum=checksum,
                state=FileState.PROCESSING,
                holder=run,
                heartbeat_at=now,
            )
            if inserted is not None:
                return Claim(inserted, checksum, 1)
            row = conn.execute(
                sa.select(f).where(f.c.source == source, f.c.checksum == checksum)
            ).first()
            if row is None:  # removed meanwhile: the next run inserts it
                return None
            if row.state == FileState.PROCESSING:
                if self._holds(row.holder, row.heartbeat_at):
                    return None
            elif not _failed_without_effect(row.state, row.output, row.renamed_to):
                return Known(row.id, row.name, row.state, row.renamed_to)
            if row.attempts >= self.max_attempts:
                return GiveUp(row.id, row.error)
            taken = conn.execute(
                f.update()
                .where(f.c.id == row.id, f.c.state == row.state, f.c.attempts == row.attempts)
                .values(
                    name=name,
                    size=size,
                    state=FileState.PROCESSING,
                    holder=run,
                    heartbeat_at=now,
                    attempts=row.attempts + 1,
                    finished_at=None,
                )
            ).rowcount
        if taken != 1:
            return None
        log.warning(
            "file %s taken over (attempt %d) from %s",
            name,
            row.attempts + 1,
            row.holder or f"a failed run: {row.error}",
        )
        return Claim(row.id, checksum, row.attempts + 1)

    def heartbeat(self, conn: Connection, claim: Claim, run: str, counts: Counts) -> None:
        """Inside the transaction that stores a batch: prove ``run`` still holds the file (else
        :class:`ClaimLost`, and the batch rolls back) and move its heartbeat on."""
        f = self.table.c
        owned = conn.execute(
            self.table.update()
            .where(f.id == claim.file_id, f.holder == run, f.state == FileState.PROCESSING)
            .values(
                heartbeat_at=self._now(),
                rows=counts.rows,
                accepted=counts.accepted,
                rejected=counts.rejected,
            )
        ).rowcount
        if owned != 1:
            raise ClaimLost(f"file {claim.file_id} is held by another run now")

    def finish(
        self,
        claim: Claim,
        run: str,
        *,
        state: FileState,
        counts: Counts,
        output: str,
        error: str | None,
    ) -> bool:
        """The file is done (its output published); False if another run took it over."""
        f = self.table
        with self.db.begin() as conn:
            done = conn.execute(
                f.update()
                .where(f.c.id == claim.file_id, f.c.holder == run)
                .values(
                    state=state,
                    rows=counts.rows,
                    accepted=counts.accepted,
                    rejected=counts.rejected,
                    output=output,
                    finished_at=self._now(),
                    error=error,
                    holder=None,
                )
            ).rowcount
        return bool(done == 1)

    def set_renamed(self, file_id: int, renamed: str | None, error: str | None = None) -> None:
        """Record the input's new name (or, if it was gone, why it has none) unless a run that
        finished the same file recorded one already."""
        f = self.table
        values: dict[str, Any] = {"renamed_to": renamed} if renamed else {"error": error}
        with self.db.begin() as conn:
            conn.execute(
                f.update().where(f.c.id == file_id, f.c.renamed_to.is_(None)).values(values)
            )

    def record_refusal(
        self, *, source: str, name: str, size: int, output: str, renamed: str, error: str
    ) -> None:
        """A file refused unread (empty, too large): its output published, the input renamed."""
        now = self._now()
        with self.db.begin() as conn:
            conn.execute(
                self.table.insert().values(
                    source=source,
                    name=name,
                    checksum=None,
                    size=size,
                    state=FileState.REFUSED,
                    rows=0,
                    accepted=0,
                    rejected=0,
                    output=output,
                    renamed_to=renamed,
                    received_at=now,
                    finished_at=now,
                    error=error,
                    attempts=1,
                )
            )

    def record_end(self, file_id: int, run: str | None, renamed: str | None, error: str) -> None:
        """A file that failed, or was given up: Refused, no output, the error kept. ``run``:
        only while this run still holds it."""
        f = self.table
        where = [f.c.id == file_id] + ([f.c.holder == run] if run else [])
        with self.db.begin() as conn:
            conn.execute(
                f.update()
                .where(*where)
                .values(
                    state=FileState.REFUSED,
                    error=error,
                    output=None,
                    renamed_to=renamed,
                    holder=None,
                    finished_at=self._now(),
                )
            )

    # -- held by a durable instance ------------------------------------------------------------

    def hold(self, *, source: str, checksum: str, holder: str, name: str, size: int) -> str:
        """Claim a content for a durable ``holder``; the holder it has (maybe this one)."""
        f = self.table
        with self.db.begin() as conn:
            self._insert_new(
                conn,
                source=source,
                name=name,
                size=size,
                checksum=checksum,
                state=FileState.HELD,
                holder=holder,
                heartbeat_at=None,
            )
            found: str = conn.execute(
                sa.select(f.c.holder).where(f.c.source == source, f.c.checksum == checksum)
            ).scalar_one()
        return found

    def release(self, holder: str, conn: Connection | None = None) -> int:
        """Forget the claims a durable holder has (it was discarded), in ``conn``'s transaction
        when given (the discard's own), else in one of its own."""
        f = self.table
        statement = f.delete().where(f.c.holder == holder, f.c.state == FileState.HELD)
        if conn is not None:
            return int(conn.execute(statement).rowcount or 0)
        with self.db.begin() as own:
            return int(own.execute(statement).rowcount or 0)


def _failed_without_effect(state: str, output: str | None, renamed_to: str | None) -> bool:
    """A run failed on the file before publishing anything, and it was not given up."""
    return state == FileState.REFUSED and output is None and renamed_to is None
