"""The enrollment intake (SPEC OUAI-ENR, OUAI-ENR-ACK): extract files in, subscriptions and one
ack file per input out.

A run lists analytics' object storage for ``ENROLL_SYNC`` files and takes each in turn:

1. **stat**: an empty file, or one over ``max_file_bytes``, is refused unread (AN-EMPTY,
   AN-SIZE): its ack file says so and the input is renamed ``Error-``;
2. **claim**: the file's SHA-256 (streamed) goes into ``enrollment_files``, whose unique
   checksum is the claim: of two runs (or processes) one inserts, the other skips the file.
   A checksum already there is a re-delivery: renamed ``Duplicate-``, no second effect. A
   ``Processing`` row whose run is dead (its process is gone, or its heartbeat is older than
   the lease) and a failed run's ``Refused`` row without an ack file are taken over;
3. **stream**: the file is read in chunks, split into records, validated and upserted in one
   transaction per batch, while the ack file is written from an async generator that yields
   each batch's ack rows once the batch is committed. The store publishes the ack atomically
   when the generator ends, so a failure mid-file publishes nothing;
4. **finish**: the row is marked ``Acked`` (or ``Refused`` for a bad header) with its counts,
   then the input is renamed ``Acked-`` (or ``Error-``).

A crash mid-file leaves a ``Processing`` row and the input under its name: the next run takes
it over and processes it again from the start. The upserts keep the highest version of each
subscription, so the stored data and the ack file come out the same. A run that fails (the
file vanishes mid-read, the store or the database fails) records the error on the row, state
``Refused`` with no ack file, and the next run takes the file again if it is still (or again)
there, up to ``max_attempts`` runs; then it is renamed ``Error-``.

The reads at the end (files taken, subscriptions by page, by id and by status) are what the API
answers with: plain rows, which ``api.py`` turns into its schemas.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from derlink.analytics.enrollments import model as er
from derlink.analytics.enrollments.tables import FileState, enrollment_files, subscriptions
from derlink.common.clock import Clock, parse_iso
from derlink.common.errors import DerlinkError, NotFound, TechnicalFault
from derlink.contracts.enrollment_files import ACK_PREFIX, EXTRACT_PREFIX
from derlink.platform.database import Database
from derlink.platform.files import FileExists, FileMissing, FileStore, UnsafeName, checksum

log = logging.getLogger("derlink.analytics.intake")

PREFIX = EXTRACT_PREFIX
ACKED_TAG = "Acked-"
ERROR_TAG = "Error-"
DUPLICATE_TAG = "Duplicate-"

#: Rows per database transaction.
BATCH_ROWS = 20_000
#: Bytes per read from the store: small enough that a chunk's records stay a few MB.
READ_CHUNK = 1024 * 1024
#: A Processing row whose heartbeat is older than this is taken over, whoever holds it.
LEASE_S = 300.0
#: Runs a file gets before it is given up and renamed Error-.
MAX_ATTEMPTS = 5

# Subscription ids per SELECT: under SQLite's limit of bound parameters.
_LOOKUP = 5000


class ClaimLost(TechnicalFault):
    """Another run took this file over (this one was thought dead): this run stops it."""

    code = "DL-ANALYTICS-CLAIM-LOST"


class FileChanged(TechnicalFault):
    """The file's bytes differ from the ones its checksum was taken of."""

    code = "DL-ANALYTICS-FILE-CHANGED"


class _Stopped(Exception):
    """The intake is stopping: leave the file for the next run."""


@dataclass(frozen=True)
class FileSummary:
    """What a run did with one file."""

    name: str
    state: FileState
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    ack_file: str | None = None
    renamed_to: str | None = None
    error: str | None = None


# -- runs and whether they are alive -----------------------------------------------------------

_HOST = socket.gethostname()[:60]
#: The runs of this process that are going on now.
_LIVE_RUNS: set[str] = set()


def new_run_id() -> str:
    """``host/pid/token``: enough to tell, on this host, whether the run's process is alive."""
    return f"{_HOST}/{os.getpid()}/{secrets.token_hex(6)}"


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


# -- one file's run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    file_id: int
    checksum: str
    attempts: int


@dataclass(frozen=True)
class _Known:
    """The checksum is already here: a re-delivery (or our own unfinished rename)."""

    file_id: int
    name: str
    state: str
    renamed_to: str | None


@dataclass(frozen=True)
class _GiveUp:
    """A file that failed (or crashed) ``max_attempts`` times."""

    file_id: int
    error: str | None


@dataclass
class _FileWork:
    """The state of one file's pass: splitter, validator, batch and counts."""

    batch_rows: int
    splitter: er.RecordSplitter = field(default_factory=er.RecordSplitter)
    rows: er.ExtractRows = field(default_factory=er.ExtractRows)
    digest: Any = field(default_factory=hashlib.sha256)
    header_seen: bool = False
    refusal: er.RowReject | None = None
    batch: list[er.SubscriptionRecord | er.RowReject] = field(default_factory=list)
    read: int = 0
    accepted: int = 0
    rejected: int = 0


class EnrollmentIntake:
    """Takes enrollment extract files from ``storage`` and writes ack files to ``content``."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        storage: FileStore,
        content: FileStore,
        max_file_bytes: int,
        *,
        batch_rows: int = BATCH_ROWS,
        chunk_size: int = READ_CHUNK,
        lease_s: float = LEASE_S,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.db = db
        self.clock = clock
        self.storage = storage
        self.content = content
        self.max_file_bytes = max_file_bytes
        self.batch_rows = batch_rows
        self.chunk_size = chunk_size
        self.lease_s = lease_s
        self.max_attempts = max_attempts
        self._stopping = False
        self._sql = _SubscriptionSql(db.engine.dialect.paramstyle)

    def stop(self) -> None:
        """Ask the runs going on to stop at their next chunk, leaving their file for later."""
        self._stopping = True

    async def run_once(self) -> list[FileSummary]:
        """Take every enrollment file in the storage now; what became of each one taken."""
        run = new_run_id()
        _LIVE_RUNS.add(run)
        try:
            summaries = []
            for listed in await self.storage.list_files(PREFIX):
                if self._stopping:
                    break
                try:
                    summary = await self._take(listed.name, run)
                except Exception:  # one file's trouble must not keep the others waiting
                    log.exception("enrollment file %s could not be taken", listed.name)
                    continue
                if summary is not None:
                    log.info(
                        "enrollment file %s: %s (%d rows, %d accepted, %d rejected)",
                        summary.name,
                        summary.state,
                        summary.rows,
                        summary.accepted,
                        summary.rejected,
                    )
                    summaries.append(summary)
            return summaries
        finally:
            _LIVE_RUNS.discard(run)

    # -- the steps of one file -----------------------------------------------------------------

    async def _take(self, name: str, run: str) -> FileSummary | None:
        try:
            info = await self.storage.stat(name)
            if info.size == 0:
                return await self._refuse_unread(name, info.size, er.empty_file())
            if info.size > self.max_file_bytes:
                reason = f"the file has {info.size} bytes, over the limit of {self.max_file_bytes}"
                return await self._refuse_unread(
                    name, info.size, er.RowReject(1, er.AN_SIZE, reason)
                )
            if await asyncio.to_thread(self._held_by_live_run, name):
                return None
            digest = await checksum(self.storage, name)
        except FileMissing:
            log.info("enrollment file %s went away before it was taken", name)
            return None
        claim = await asyncio.to_thread(self._claim, name, info.size, digest, run)
        if claim is None:
            return None
        if isinstance(claim, _Known):
            return await self._duplicate(name, claim)
        if isinstance(claim, _GiveUp):
            return await self._give_up(name, claim)
        return await self._process(name, claim, run)

    async def _refuse_unread(self, name: str, size: int, why: er.RowReject) -> FileSummary | None:
        """Refuse a file without reading it: the ack first (a repeat replaces it with the same
        content), then the rename, which only one run can do, then the record."""
        ack_name = ACK_PREFIX + name
        text = er.ack_text([er.rejected_row(why)], with_header=True)
        await self.content.write(ack_name, _chunks(text.encode()))
        renamed = await self._rename(name, ERROR_TAG)
        if renamed is None:
            return None
        await asyncio.to_thread(self._record_refusal, name, size, ack_name, renamed, why)
        return FileSummary(
            name, FileState.REFUSED, ack_file=ack_name, renamed_to=renamed, error=why.reason
        )

    async def _duplicate(self, name: str, known: _Known) -> FileSummary | None:
        if known.state == FileState.ACKED and known.name == name and known.renamed_to is None:
            # Our own run published the ack and stopped before renaming: finish it.
            renamed = await self._rename(name, ACKED_TAG)
            if renamed is not None:
                await asyncio.to_thread(self._set_renamed, known.file_id, renamed)
            return None
        renamed = await self._rename(name, DUPLICATE_TAG)
        if renamed is None:
            return None
        return FileSummary(
            name,
            FileState.DUPLICATE,
            renamed_to=renamed,
            error=f"the same content as {known.name} (file {known.file_id}): not taken again",
        )

    async def _give_up(self, name: str, give_up: _GiveUp) -> FileSummary:
        renamed = await self._rename(name, ERROR_TAG)
        error = f"given up after {self.max_attempts} attempts; last: {give_up.error or 'a crash'}"
        await asyncio.to_thread(self._record_end, give_up.file_id, None, renamed, error)
        return FileSummary(name, FileState.REFUSED, renamed_to=renamed, error=error)

    async def _process(self, name: str, claim: _Claim, run: str) -> FileSummary | None:
        ack_name = ACK_PREFIX + name
        work = _FileWork(self.batch_rows)
        try:
            with ThreadPoolExecutor(1, thread_name_prefix="enrollment-intake") as worker:
                stream = self._ack_stream(name, claim, run, work, worker)
                await self.content.write(ack_name, stream)
        except _Stopped:
            log.info("enrollment file %s left for the next run: the intake is stopping", name)
            return None
        except ClaimLost:
            log.warning("enrollment file %s was taken over by another run", name)
            return None
        except Exception as exc:
            return await self._fail(name, claim, run, exc)
        state = FileState.REFUSED if work.refusal else FileState.ACKED
        error = f"{work.refusal.code}: {work.refusal.reason}" if work.refusal else None
        if not await asyncio.to_thread(self._finish, claim, run, state, work, ack_name, error):
            log.warning("enrollment file %s was taken over before it was marked", name)
            return None
        renamed = await self._rename(name, ERROR_TAG if work.refusal else ACKED_TAG)
        if renamed is None:
            error = (error + "; " if error else "") + "the input was gone before its rename"
        await asyncio.to_thread(self._set_renamed, claim.file_id, renamed, error)
        return FileSummary(
            name,
            state,
            rows=work.read,
            accepted=work.accepted,
            rejected=work.rejected,
            ack_file=ack_name,
            renamed_to=renamed,
            error=error,
        )

    async def _ack_stream(
        self, name: str, claim: _Claim, run: str, work: _FileWork, worker: Executor
    ) -> AsyncIterator[bytes]:
        """The ack file, batch by batch, as the input is read and stored.

        The parsing and the database work run on one worker thread of their own: spread over
        the loop's default pool, their buffers grew one malloc arena per thread (about 30 MB
        more peak memory on a 100,000-row file)."""
        loop = asyncio.get_running_loop()
        yield er.ack_text([], with_header=True).encode()
        chunks = self.storage.read(name, chunk_size=self.chunk_size)
        try:
            async for chunk in chunks:
                if self._stopping:
                    raise _Stopped
                text = await loop.run_in_executor(worker, self._feed, work, chunk, claim, run, name)
                if text:
                    yield text.encode()
                if work.refusal is not None:
                    return
        finally:
            close = getattr(chunks, "aclose", None)  # the store's file handle, now
            if close is not None:
                await close()
        if work.digest.hexdigest() != claim.checksum:
            raise FileChanged(f"{name} changed while it was read: taken again on the next run")
        text = await loop.run_in_executor(worker, self._feed, work, None, claim, run, name)
        if text:
            yield text.encode()

    async def _fail(self, name: str, claim: _Claim, run: str, exc: Exception) -> FileSummary:
        if isinstance(exc, FileMissing):
            error = (
                f"{name} went away while it was read (renamed or removed): nothing published; "
                "a new delivery of the same file is taken again"
            )
        elif isinstance(exc, DerlinkError):
            error = f"{exc.code}: {exc.message}"
        else:
            error = f"{type(exc).__name__}: {exc}"
        log.error("enrollment file %s failed (attempt %d): %s", name, claim.attempts, error)
        renamed = None
        if claim.attempts >= self.max_attempts and not isinstance(exc, FileMissing):
            renamed = await self._rename(name, ERROR_TAG)
            error = f"given up after {claim.attempts} attempts; last: {error}"
        await asyncio.to_thread(self._record_end, claim.file_id, run, renamed, error)
        return FileSummary(name, FileState.REFUSED, renamed_to=renamed, error=error)

    async def _rename(self, name: str, tag: str) -> str | None:
        """``<tag><name>`` (``.2``, ``.3``… if taken); None if the file is gone."""
        target = f"{tag}{name}"
        for n in range(2, 1000):
            try:
                await self.storage.rename(name, target)
                return target
            except FileExists:
                target = f"{tag}{name}.{n}"
            except FileMissing:
                return None
            except UnsafeName:
                log.error("enrollment file %s cannot be renamed %s: name too long", name, target)
                return None
        return None

    # -- parsing and storing (in a worker thread) ----------------------------------------------

    def _feed(
        self, work: _FileWork, chunk: bytes | None, claim: _Claim, run: str, name: str
    ) -> str:
        """Push one chunk (None: the end) through the splitter and validator; store every full
        batch; the ack text of what was stored."""
        if chunk is None:
            records = work.splitter.finish()
        else:
            work.digest.update(chunk)
            records = work.splitter.feed(chunk)
        if records and not work.header_seen:
            work.header_seen = True
            work.refusal = er.header_problem(records[0][1])
            if work.refusal is not None:
                return er.ack_text([er.rejected_row(work.refusal)])
            records = records[1:]
        out: list[str] = []
        work.batch.extend(work.rows.check_all(records, suspect=work.splitter.suspect))
        while len(work.batch) >= work.batch_rows:
            out.append(self._flush(work, claim, run, name))
        if chunk is None:
            if not work.header_seen:
                work.refusal = er.empty_file()
                return er.ack_text([er.rejected_row(work.refusal)])
            out.append(self._flush(work, claim, run, name))
        return "".join(out)

    def _flush(self, work: _FileWork, claim: _Claim, run: str, name: str) -> str:
        items, work.batch = work.batch[: work.batch_rows], work.batch[work.batch_rows :]
        records = [i for i in items if isinstance(i, er.SubscriptionRecord)]
        work.read += len(items)
        work.accepted += len(records)
        work.rejected += len(items) - len(records)
        held = self._store(records, claim, run, name, work)
        rows = [
            er.accepted_row(i, held.get(i.row_number))
            if isinstance(i, er.SubscriptionRecord)
            else er.rejected_row(i)
            for i in items
        ]
        return er.ack_text(rows)

    def _store(
        self,
        records: Sequence[er.SubscriptionRecord],
        claim: _Claim,
        run: str,
        name: str,
        work: _FileWork,
    ) -> dict[int, int]:
        """Upsert a batch, keeping each subscription's highest version, in one transaction that
        also proves this run still holds the file. The version held for each stale row."""
        now = self._now()
        with self.db.begin() as conn:
            owned = conn.execute(
                enrollment_files.update()
                .where(
                    enrollment_files.c.id == claim.file_id,
                    enrollment_files.c.run_id == run,
                    enrollment_files.c.state == FileState.PROCESSING,
                )
                .values(
                    heartbeat_at=now,
                    rows=work.read,
                    accepted=work.accepted,
                    rejected=work.rejected,
                )
            ).rowcount
            if owned != 1:
                raise ClaimLost(f"{name} is held by another run now")
            if not records:
                return {}
            held = self._sql.held_versions(conn, {r.subscription_id for r in records})
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
                self._sql.write(conn, writes.values(), now, name)
        return stale

    # -- the claim (in a worker thread) --------------------------------------------------------

    def _held_by_live_run(self, name: str) -> bool:
        """Whether a live run is on a file of this name: skip it without reading it."""
        f = enrollment_files
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(f.c.run_id, f.c.heartbeat_at).where(
                    f.c.name == name, f.c.state == FileState.PROCESSING
                )
            ).all()
        return any(self._holds(r.run_id, r.heartbeat_at) for r in rows)

    def _holds(self, run_id: str | None, heartbeat_at: str | None) -> bool:
        if heartbeat_at is None or not run_alive(run_id):
            return False
        return parse_iso(heartbeat_at) > self.clock.now() - timedelta(seconds=self.lease_s)

    def _claim(
        self, name: str, size: int, digest: str, run: str
    ) -> _Claim | _Known | _GiveUp | None:
        f = enrollment_files
        now = self._now()
        with self.db.begin() as conn:
            inserted = conn.execute(
                _insert(self.db.dialect, f)
                .values(
                    name=name,
                    checksum=digest,
                    size=size,
                    state=FileState.PROCESSING,
                    rows=0,
                    accepted=0,
                    rejected=0,
                    received_at=now,
                    run_id=run,
                    heartbeat_at=now,
                    attempts=1,
                )
                .on_conflict_do_nothing(index_elements=[f.c.checksum])
                .returning(f.c.id)
            ).scalar()
            if inserted is not None:
                return _Claim(int(inserted), digest, 1)
            row = conn.execute(sa.select(f).where(f.c.checksum == digest)).first()
            if row is None:  # removed meanwhile: the next run inserts it
                return None
            if row.state == FileState.PROCESSING:
                if self._holds(row.run_id, row.heartbeat_at):
                    return None
            elif not _failed_without_effect(row.state, row.ack_file, row.renamed_to):
                return _Known(row.id, row.name, row.state, row.renamed_to)
            if row.attempts >= self.max_attempts:
                return _GiveUp(row.id, row.error)
            taken = conn.execute(
                f.update()
                .where(
                    f.c.id == row.id,
                    f.c.state == row.state,
                    f.c.attempts == row.attempts,
                )
                .values(
                    name=name,
                    size=size,
                    state=FileState.PROCESSING,
                    run_id=run,
                    heartbeat_at=now,
                    attempts=row.attempts + 1,
                    finished_at=None,
                )
            ).rowcount
        if taken != 1:
            return None
        log.warning(
            "enrollment file %s taken over (attempt %d) from %s",
            name,
            row.attempts + 1,
            row.run_id or f"a failed run: {row.error}",
        )
        return _Claim(row.id, digest, row.attempts + 1)

    def _finish(
        self,
        claim: _Claim,
        run: str,
        state: FileState,
        work: _FileWork,
        ack_name: str,
        error: str | None,
    ) -> bool:
        f = enrollment_files
        with self.db.begin() as conn:
            done = conn.execute(
                f.update()
                .where(f.c.id == claim.file_id, f.c.run_id == run)
                .values(
                    state=state,
                    rows=work.read,
                    accepted=work.accepted,
                    rejected=work.rejected,
                    ack_file=ack_name,
                    finished_at=self._now(),
                    error=error,
                    run_id=None,
                )
            ).rowcount
        return bool(done == 1)

    def _set_renamed(self, file_id: int, renamed: str | None, error: str | None = None) -> None:
        """Record the input's new name (or, if it was gone, why it has none) unless a run that
        finished the same file recorded one already."""
        f = enrollment_files
        values: dict[str, Any] = {"renamed_to": renamed} if renamed else {"error": error}
        with self.db.begin() as conn:
            conn.execute(
                f.update().where(f.c.id == file_id, f.c.renamed_to.is_(None)).values(values)
            )

    def _record_refusal(
        self, name: str, size: int, ack_name: str, renamed: str, why: er.RowReject
    ) -> None:
        now = self._now()
        with self.db.begin() as conn:
            conn.execute(
                enrollment_files.insert().values(
                    name=name,
                    checksum=None,
                    size=size,
                    state=FileState.REFUSED,
                    rows=0,
                    accepted=0,
                    rejected=0,
                    ack_file=ack_name,
                    renamed_to=renamed,
                    received_at=now,
                    finished_at=now,
                    error=f"{why.code}: {why.reason}",
                    attempts=1,
                )
            )

    def _record_end(self, file_id: int, run: str | None, renamed: str | None, error: str) -> None:
        """A file that failed, or was given up: Refused, no ack file, the error kept. ``run``:
        only while this run still holds it."""
        f = enrollment_files
        where = [f.c.id == file_id] + ([f.c.run_id == run] if run else [])
        with self.db.begin() as conn:
            conn.execute(
                f.update()
                .where(*where)
                .values(
                    state=FileState.REFUSED,
                    error=error,
                    ack_file=None,
                    renamed_to=renamed,
                    run_id=None,
                    finished_at=self._now(),
                )
            )

    def _now(self) -> str:
        moment: datetime = self.clock.now()
        return moment.isoformat()


def _failed_without_effect(state: str, ack_file: str | None, renamed_to: str | None) -> bool:
    """A run failed on the file before publishing anything, and it was not given up."""
    return state == FileState.REFUSED and ack_file is None and renamed_to is None


# -- statements ---------------------------------------------------------------------------------


def _insert(dialect: str, table: sa.Table) -> Any:
    """An INSERT with the dialect's ON CONFLICT clauses (SQLite and PostgreSQL share them)."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


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


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


# -- reads ----------------------------------------------------------------------------------


def recent_files(*, db: Database, limit: int) -> list[RowMapping]:
    """The enrollment files taken, newest first."""
    f = enrollment_files
    with db.read() as conn:
        rows = conn.execute(sa.select(f).order_by(f.c.id.desc()).limit(limit)).all()
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
