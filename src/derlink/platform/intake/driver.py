"""The intake driver: takes the files of one kind from a store, a file at a time, through the
kind's handler, and writes one output file (an acknowledgement) per input.

A run lists the source store by the kind's prefix and takes each file in turn. An entry it
cannot take (a link, a folder, a name not allowed or too long) is never opened: it is set aside
once as ``Error-<its name made safe>`` and reported once to the technical recipients
(refusals.Refusals). Then, per file:

1. **stat**: an empty file, or one over ``max_file_bytes``, is refused unread: its output says
   so (row 1) and the input is renamed ``Error-``;
2. **claim**: the file's SHA-256 (streamed) is claimed (claims.FileClaims.claim): of two runs
   (or processes) one takes it, the other skips it. A content claimed and done before is a
   re-delivery: renamed ``Duplicate-``, no second effect. A claim whose run is dead, and a
   failed run's claim without output, are taken over;
3. **stream**: the records are read chunk by chunk (reader.stream_records), their shape checked
   (records.check_shape), validated by the handler and stored by it in batches, one
   transaction per batch that also proves this run still holds the file, while the output is
   written from an async generator that yields each batch's rows once the batch is committed.
   The store publishes the output atomically when the generator ends, so a failure mid-file
   publishes nothing;
4. **finish**: the claim is marked ``Acked`` (or ``Refused`` for a bad header) with its counts,
   then the input is renamed ``Acked-`` (or ``Error-``).

A crash mid-file leaves the claim ``Processing`` and the input under its name: the next run
takes it over and processes it again from the start; a handler stores rows idempotently, so the
stored data and the output come out the same. A run that fails (the file vanishes mid-read, the
store or the database fails) records the error on the claim, ``Refused`` with no output, and
the next run takes the file again if it is still (or again) there, up to ``max_attempts`` runs;
then it is renamed ``Error-``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from derlink.common.errors import DerlinkError, TechnicalFault
from derlink.platform.database import Database
from derlink.platform.files import (
    FileMissing,
    FileStore,
    UnsafeName,
    checksum,
    iterate,
)
from derlink.platform.intake.claims import (
    Claim,
    ClaimLost,
    Counts,
    FileClaims,
    FileState,
    GiveUp,
    Known,
    live_run,
)
from derlink.platform.intake.names import ACKED_TAG, DUPLICATE_TAG, ERROR_TAG, rename_tagged
from derlink.platform.intake.reader import stream_records
from derlink.platform.intake.records import (
    Record,
    RowReject,
    check_shape,
    csv_text,
    header_problem,
)
from derlink.platform.intake.refusals import RefusalReport, Refusals, takeable

log = logging.getLogger("derlink.intake")

#: Rows per database transaction.
BATCH_ROWS = 20_000
#: Bytes per read from the store: small enough that a chunk's records stay a few MB.
READ_CHUNK = 1024 * 1024


class FileChanged(TechnicalFault):
    """The file's bytes differ from the ones its checksum was taken of."""

    code = "DL-INTAKE-FILE-CHANGED"


class _Stopped(Exception):
    """The intake is stopping: leave the file for the next run."""


# -- what a file kind provides ---------------------------------------------------------------


@dataclass(frozen=True)
class IntakeCodes:
    """A file kind's reason codes for what the machinery refuses."""

    #: The file is empty: no header.
    empty: str
    #: The first row is not the header.
    header: str
    #: The file is over the size limit.
    size: str
    #: A row that is unreadable or has the wrong number of columns.
    columns: str
    #: A row with bytes that are not UTF-8.
    encoding: str

    @classmethod
    def named(cls, prefix: str) -> IntakeCodes:
        """``<prefix>-EMPTY``, ``-HEADER``, ``-SIZE``, ``-COLUMNS`` and ``-ENCODING``."""
        return cls(
            *(f"{prefix}-{what}" for what in ("EMPTY", "HEADER", "SIZE", "COLUMNS", "ENCODING"))
        )


@dataclass(frozen=True)
class IntakeSpec:
    """A file kind, as data: where its files are found and what their output is."""

    #: The claims' source: claims of two kinds never meet.
    source: str
    #: The file-name prefix of the input files listed.
    prefix: str
    header: tuple[str, ...]
    #: The output of ``<name>`` is ``<output_prefix><name>``.
    output_prefix: str
    output_header: tuple[str, ...]
    codes: IntakeCodes


class Accepted(Protocol):
    """A row the kind's validation took."""

    @property
    def row_number(self) -> int: ...


class FileWork(Protocol):
    """One file's pass through a kind's handler; it may keep state across the file's batches
    (rows seen before, say). ``check`` runs in file order."""

    def check(
        self, rows: Sequence[tuple[int, list[str] | RowReject]]
    ) -> list[Accepted | RowReject]:
        """Each row (its number, and its fields or the machinery's reject of its shape) as an
        accepted row or a reject, in the same order."""
        ...

    def store(self, conn: Connection, rows: Sequence[Accepted]) -> Mapping[int, Any]:
        """Store accepted rows idempotently, in the transaction that holds the claim; a note per
        row number where the output row needs one (a ``RowReject``: a row the stored data
        refuses, counted as rejected)."""
        ...

    def output_rows(
        self, rows: Sequence[Accepted | RowReject], notes: Mapping[int, Any]
    ) -> list[Sequence[Any]]:
        """The output row of each input row, in order (``notes``: what ``store`` said, by row
        number)."""
        ...


class IntakeHandler(Protocol):
    """A file kind the driver takes in."""

    spec: IntakeSpec

    def new_file(self, name: str) -> FileWork:
        """The pass through one file, named ``name``."""
        ...

    def refused_row(self, reject: RowReject) -> Sequence[Any]:
        """The one output row of a file refused whole (row 1)."""
        ...

    def keys(self, fields: Sequence[str]) -> tuple[str, ...]:
        """What names a row the machinery rejects (its output row shows them)."""
        ...


def output_rows(
    rows: Sequence[Accepted | RowReject],
    notes: Mapping[int, Any],
    *,
    accepted: Callable[[Any, Any], Sequence[Any]],
    rejected: Callable[[RowReject], Sequence[Any]],
) -> list[Sequence[Any]]:
    """The output row of each input row, in order, for a kind whose ``store`` notes a row it
    refuses as a ``RowReject``: ``rejected`` of a row the machinery, the kind's check or its
    store rejected; else ``accepted`` of the row and its note."""
    out: list[Sequence[Any]] = []
    for r in rows:
        note = notes.get(r.row_number)
        if isinstance(r, RowReject):
            out.append(rejected(r))
        elif isinstance(note, RowReject):
            out.append(rejected(note))
        else:
            out.append(accepted(r, note))
    return out


@dataclass(frozen=True)
class FileSummary:
    """What a run did with one file."""

    name: str
    state: FileState
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    output: str | None = None
    renamed_to: str | None = None
    error: str | None = None

    def wire(self) -> dict[str, Any]:
        """The summary in the APIs' field names (an intake run's answer)."""
        return {
            "name": self.name,
            "state": str(self.state),
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "ackFile": self.output,
            "renamedTo": self.renamed_to,
            "error": self.error,
        }


# -- the driver --------------------------------------------------------------------------------


@dataclass
class _FileWork:
    """The state of one file's pass: the kind's work, the batch and the counts."""

    work: FileWork
    batch_rows: int
    digest: Any = field(default_factory=hashlib.sha256)
    header_seen: bool = False
    refusal: RowReject | None = None
    batch: list[Accepted | RowReject] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)


class FileIntake:
    """Takes the files of ``handler``'s kind from ``source`` and writes their outputs to
    ``output``, claiming them in ``db`` (its ``file_claims`` table)."""

    def __init__(
        self,
        handler: IntakeHandler,
        *,
        db: Database,
        claims: FileClaims,
        source: FileStore,
        output: FileStore,
        max_file_bytes: int,
        batch_rows: int = BATCH_ROWS,
        chunk_size: int = READ_CHUNK,
        refused: RefusalReport | None = None,
    ) -> None:
        """``refused``: who hears of the entries set aside (the log alone when None)."""
        self.handler = handler
        self.spec = handler.spec
        self.db = db
        self.claims = claims
        self.source = source
        self.output = output
        self.max_file_bytes = max_file_bytes
        self.batch_rows = batch_rows
        self.chunk_size = chunk_size
        self.refusals = Refusals(source, self.spec.source, refused)
        self._stopping = False

    def stop(self) -> None:
        """Ask the runs going on to stop at their next chunk, leaving their file for later."""
        self._stopping = True

    async def run_once(self) -> list[FileSummary]:
        """Take every file of the kind in the source now; what became of each one taken."""
        with live_run() as run:
            summaries = []
            files, refused = takeable(await self.source.scan(self.spec.prefix))
            await self.refusals.handle(refused)
            for listed in files:
                if self._stopping:
                    break
                try:
                    summary = await self._take(listed.name, run)
                except Exception:  # one file's trouble must not keep the others waiting
                    log.exception("file %s could not be taken", listed.name)
                    continue
                if summary is not None:
                    log.info(
                        "file %s: %s (%d rows, %d accepted, %d rejected)",
                        summary.name,
                        summary.state,
                        summary.rows,
                        summary.accepted,
                        summary.rejected,
                    )
                    summaries.append(summary)
            return summaries

    # -- the steps of one file -----------------------------------------------------------------

    async def _take(self, name: str, run: str) -> FileSummary | None:
        codes = self.spec.codes
        try:
            info = await self.source.stat(name)
            if info.size == 0:
                return await self._refuse_unread(name, info.size, self._empty())
            if info.size > self.max_file_bytes:
                reason = f"the file has {info.size} bytes, over the limit of {self.max_file_bytes}"
                return await self._refuse_unread(name, info.size, RowReject(1, codes.size, reason))
            held = await asyncio.to_thread(self.claims.held_by_live_run, self.spec.source, name)
            if held:
                return None
            digest = await checksum(self.source, name)
        except FileMissing:
            log.info("file %s went away before it was taken", name)
            return None
        claim = await asyncio.to_thread(
            lambda: self.claims.claim(
                source=self.spec.source, name=name, size=info.size, checksum=digest, run=run
            )
        )
        if claim is None:
            return None
        if isinstance(claim, Known):
            return await self._duplicate(name, claim)
        if isinstance(claim, GiveUp):
            return await self._give_up(name, claim)
        return await self._process(name, claim, run)

    def _empty(self) -> RowReject:
        """Why a file without a record (not even its header) is refused: row 1."""
        problem = header_problem(None, self.spec.header)
        assert problem is not None
        return RowReject(1, self.spec.codes.empty, problem.reason)

    async def _refuse_unread(self, name: str, size: int, why: RowReject) -> FileSummary | None:
        """Refuse a file without reading it: the output first (a repeat replaces it with the
        same content), then the rename, which only one run can do, then the record."""
        output = self.spec.output_prefix + name
        text = csv_text([self.handler.refused_row(why)], header=self.spec.output_header)
        await self.output.write(output, iterate(text.encode()))
        renamed = await self._rename(name, ERROR_TAG)
        if renamed is None:
            return None
        await asyncio.to_thread(
            lambda: self.claims.record_refusal(
                source=self.spec.source,
                name=name,
                size=size,
                output=output,
                renamed=renamed,
                error=f"{why.code}: {why.reason}",
            )
        )
        return FileSummary(
            name, FileState.REFUSED, output=output, renamed_to=renamed, error=why.reason
        )

    async def _duplicate(self, name: str, known: Known) -> FileSummary | None:
        if known.state == FileState.ACKED and known.name == name and known.renamed_to is None:
            # Our own run published the output and stopped before renaming: finish it.
            renamed = await self._rename(name, ACKED_TAG)
            if renamed is not None:
                await asyncio.to_thread(self.claims.set_renamed, known.file_id, renamed)
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

    async def _give_up(self, name: str, give_up: GiveUp) -> FileSummary:
        renamed = await self._rename(name, ERROR_TAG)
        error = (
            f"given up after {self.claims.max_attempts} attempts; "
            f"last: {give_up.error or 'a crash'}"
        )
        await asyncio.to_thread(self.claims.record_end, give_up.file_id, None, renamed, error)
        return FileSummary(name, FileState.REFUSED, renamed_to=renamed, error=error)

    async def _process(self, name: str, claim: Claim, run: str) -> FileSummary | None:
        output = self.spec.output_prefix + name
        work = _FileWork(self.handler.new_file(name), self.batch_rows)
        try:
            with ThreadPoolExecutor(1, thread_name_prefix=f"intake-{self.spec.source}") as worker:
                await self.output.write(output, self._output(name, claim, run, work, worker))
        except _Stopped:
            log.info("file %s left for the next run: the intake is stopping", name)
            return None
        except ClaimLost:
            log.warning("file %s was taken over by another run", name)
            return None
        except Exception as exc:
            return await self._fail(name, claim, run, exc)
        state = FileState.REFUSED if work.refusal else FileState.ACKED
        error = f"{work.refusal.code}: {work.refusal.reason}" if work.refusal else None
        finished = await asyncio.to_thread(
            lambda: self.claims.finish(
                claim, run, state=state, counts=work.counts, output=output, error=error
            )
        )
        if not finished:
            log.warning("file %s was taken over before it was marked", name)
            return None
        renamed = await self._rename(name, ERROR_TAG if work.refusal else ACKED_TAG)
        if renamed is None:
            error = (error + "; " if error else "") + "the input was gone before its rename"
        await asyncio.to_thread(self.claims.set_renamed, claim.file_id, renamed, error)
        return FileSummary(
            name,
            state,
            rows=work.counts.rows,
            accepted=work.counts.accepted,
            rejected=work.counts.rejected,
            output=output,
            renamed_to=renamed,
            error=error,
        )

    async def _output(
        self, name: str, claim: Claim, run: str, work: _FileWork, worker: Executor
    ) -> AsyncIterator[bytes]:
        """The output file, batch by batch, as the input is read and stored.

        The validation and the database work run on one worker thread of their own: spread
        over the loop's default pool, their buffers grew one malloc arena per thread (about
        30 MB more peak memory on a 100,000-row file)."""
        loop = asyncio.get_running_loop()
        yield csv_text([], header=self.spec.output_header).encode()
        reading = stream_records(
            self.source,
            name,
            chunk_size=self.chunk_size,
            width=len(self.spec.header),
            executor=worker,
        )
        async with contextlib.aclosing(reading) as batches:
            async for batch in batches:
                if self._stopping:
                    raise _Stopped
                work.digest.update(batch.raw)
                last = not batch.raw  # the last batch holds what the end of the file completed
                if last and work.digest.hexdigest() != claim.checksum:
                    raise FileChanged(
                        f"{name} changed while it was read: taken again on the next run"
                    )
                text = await loop.run_in_executor(
                    worker, self._feed, work, batch.records, batch.suspect, last, claim, run
                )
                if text:
                    yield text.encode()
                if work.refusal is not None:
                    return

    async def _fail(self, name: str, claim: Claim, run: str, exc: Exception) -> FileSummary:
        if isinstance(exc, FileMissing):
            error = (
                f"{name} went away while it was read (renamed or removed): nothing published; "
                "a new delivery of the same file is taken again"
            )
        elif isinstance(exc, DerlinkError):
            error = f"{exc.code}: {exc.message}"
        else:
            error = f"{type(exc).__name__}: {exc}"
        log.error("file %s failed (attempt %d): %s", name, claim.attempts, error)
        renamed = None
        if claim.attempts >= self.claims.max_attempts and not isinstance(exc, FileMissing):
            renamed = await self._rename(name, ERROR_TAG)
            error = f"given up after {claim.attempts} attempts; last: {error}"
        await asyncio.to_thread(self.claims.record_end, claim.file_id, run, renamed, error)
        return FileSummary(name, FileState.REFUSED, renamed_to=renamed, error=error)

    async def _rename(self, name: str, tag: str) -> str | None:
        """``<tag><name>`` (``.2``, ``.3``… if taken); None if the file is gone."""
        try:
            return await rename_tagged(self.source, name, tag)
        except FileMissing:
            return None
        except UnsafeName:
            log.error("file %s cannot be renamed with %s: name too long", name, tag)
            return None

    # -- validating and storing (in the worker thread) -----------------------------------------

    def _feed(
        self,
        work: _FileWork,
        records: list[Record],
        suspect: bool,
        last: bool,
        claim: Claim,
        run: str,
    ) -> str:
        """Validate one chunk's records; store every full batch (and, at the end, the rest); the
        output text of what was stored."""
        spec = self.spec
        if records and not work.header_seen:
            work.header_seen = True
            problem = header_problem(records[0][1], spec.header)
            if problem is not None:
                work.refusal = RowReject(1, spec.codes.header, problem.reason)
                return csv_text([self.handler.refused_row(work.refusal)])
            records = records[1:]
        if records:
            shaped = check_shape(
                records,
                width=len(spec.header),
                suspect=suspect,
                columns_code=spec.codes.columns,
                encoding_code=spec.codes.encoding,
                keys=self.handler.keys,
            )
            work.batch.extend(work.work.check(shaped))
        out: list[str] = []
        while len(work.batch) >= work.batch_rows:
            out.append(self._flush(work, claim, run))
        if last:
            if not work.header_seen:
                work.refusal = self._empty()
                return csv_text([self.handler.refused_row(work.refusal)])
            out.append(self._flush(work, claim, run))
        return "".join(out)

    def _flush(self, work: _FileWork, claim: Claim, run: str) -> str:
        items, work.batch = work.batch[: work.batch_rows], work.batch[work.batch_rows :]
        accepted = [i for i in items if not isinstance(i, RowReject)]
        counts = work.counts
        with self.db.begin() as conn:
            notes = work.work.store(conn, accepted) if accepted else {}
            # A row the store could not apply is a reject too.
            refused = sum(1 for note in notes.values() if isinstance(note, RowReject))
            work.counts = Counts(
                rows=counts.rows + len(items),
                accepted=counts.accepted + len(accepted) - refused,
                rejected=counts.rejected + len(items) - len(accepted) + refused,
            )
            # The counts commit with the batch they count.
            self.claims.heartbeat(conn, claim, run, work.counts)
        return csv_text(work.work.output_rows(items, notes))
