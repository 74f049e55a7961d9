"""The file-flow mechanism, on which every scheduled file flow is built.

    schedule (or run-now) → list the source store by the flow's prefix (an entry that cannot be
    taken — a link, a folder, a name not allowed or too long — is never opened: it is set aside
    once as ``Error-<its name made safe>`` and the technical recipients are told once) → one
    instance per file,
    its id made of the file's name and version (size and time), so that two workers listing at
    once start it once — the instance row is the claim;
    instance: inspect (still there, not over the size limit) → checksum (streamed) → take the
    receipt of that content (a re-delivered file completes as a duplicate, no second effect) →
    transfer, in batches, each batch a durable step (a crash resumes after the last finished
    batch) → rename the source ``Sent-<name>``;
    on a technical or business fault the source is renamed ``Error-<name>``; on a remote fault
    (a target down after its retries) it stays, and the next listing runs the instance again.

Two kinds of transfer: :class:`CopyFileFlow` copies the bytes to another store in resumable
parts; :class:`RecordFileFlow` reads CSV records in windows of bytes and hands each window's
rows to the flow, which reports per-row rejects (row number and reason) while good rows go on.
The pieces are the platform's one file-intake machinery (platform/intake): the content's
claim (receipts.py, on its claims), the records read from a position, the header and the
rows' shape checked, the renames.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from derlink.common.errors import BusinessFault, ConfigurationError, Fault, RemoteFault
from derlink.hub.catalog import FlowSpec
from derlink.hub.connections import Targets
from derlink.hub.model import FlowOutcome, RecordError
from derlink.hub.ports import FileMail, ReceiptBook
from derlink.hub.runtime.port import FlowContext
from derlink.platform.files import CHUNK, FileInfo, FileMissing, FileStore, checksum, iterate
from derlink.platform.intake.names import ERROR_TAG, SENT_TAG, rename_tagged
from derlink.platform.intake.reader import WINDOW, read_window
from derlink.platform.intake.records import Position, RowReject, check_shape, header_problem
from derlink.platform.intake.refusals import Refusals, takeable

#: Record errors kept on the instance and in the e-mail; the counts are always complete.
KEEP_ERRORS = 1000
_BATCH_ID = re.compile(r"[^A-Za-z0-9._\-]")


def batch_id(info: FileInfo) -> str:
    """The instance's batch id: readable, within the batch-id alphabet, unique per version."""
    digest = hashlib.sha256(info.name.encode()).hexdigest()[:8]
    return f"{_BATCH_ID.sub('_', info.name)[:60]}.{digest}.{info.version}"


class FileRefused(BusinessFault):
    """The file as a whole cannot be taken (too large, empty, wrong header)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, status=422, code=code)


@dataclass(frozen=True)
class FileOptions:
    """A file flow's configuration beyond its catalog row (where it lists and what): how much
    it takes."""

    max_bytes: int


@dataclass
class RowsResult:
    """What the target did with one window of rows."""

    succeeded: int = 0
    duplicates: int = 0
    errors: list[RecordError] = field(default_factory=list)
    #: Flow-specific counts, summed over the file into the instance's outcome.
    counts: dict[str, int] = field(default_factory=dict)


class FileFlow:
    """A scheduled file flow. Subclasses point at their catalog row (whose ``files`` names the
    stores and the prefix) and implement ``transfer``."""

    spec: ClassVar[FlowSpec]

    def __init__(
        self,
        *,
        targets: Targets,
        options: FileOptions,
        receipts: ReceiptBook,
        notifier: FileMail,
    ) -> None:
        if self.spec.files is None:
            raise ConfigurationError(f"{self.spec.code} names no stores in the flow catalog")
        self.exchange = self.spec.files
        self.targets = targets
        self.store = targets.store(self.exchange.source_store)
        self.options = options
        self.receipts = receipts
        self.notifier = notifier
        self.refusals = Refusals(self.store, self.spec.code, notifier)

    # listing ------------------------------------------------------------------------------
    async def scan(self) -> list[FileInfo]:
        """The files waiting in the source, the entries that cannot be taken set aside; the
        "no file" e-mail when there are none."""
        files, refused = takeable(await self.store.scan(self.exchange.prefix))
        await self.refusals.handle(refused)
        if not files:
            await self.notifier.no_file(
                flow=self.spec.code, location=self.store.location, prefix=self.exchange.prefix
            )
        return files

    def keys(self, record: dict[str, Any]) -> list[tuple[str, str]]:
        return [("fileName", record["fileName"]), ("fileVersion", record["version"])]

    async def ready(self) -> bool:
        """Whether the target answers now; a file that met it down waits until it does (so a
        long outage is one fault and one e-mail per file, not one per listing)."""
        return True

    # one file -----------------------------------------------------------------------------
    async def run(self, ctx: FlowContext, message: dict[str, Any]) -> FlowOutcome:
        found = message["files"][0]
        name = found["fileName"]
        size = await ctx.step("inspect", self._inspect, name, found["size"])
        digest = await ctx.step("checksum", self._checksum, name)
        holder = await ctx.step("claim", self._claim, ctx.instance_id, digest, name, size)
        if holder != ctx.instance_id:
            renamed = await ctx.step("rename-sent", self._rename, name, SENT_TAG)
            return FlowOutcome(
                notes={
                    "file": name,
                    "checksum": digest,
                    "duplicateOf": holder,
                    "renamedTo": renamed,
                }
            )
        outcome = await self.transfer(ctx, name, size)
        renamed = await ctx.step("rename-sent", self._rename, name, SENT_TAG)
        outcome.notes.update(file=name, checksum=digest, bytes=size, renamedTo=renamed)
        await ctx.step("notify-complete", self._notify_complete, ctx.instance_id, outcome.to_dict())
        return outcome

    async def transfer(self, ctx: FlowContext, name: str, size: int) -> FlowOutcome:
        raise NotImplementedError

    async def on_fault(self, ctx: FlowContext, message: dict[str, Any], fault: Fault) -> None:
        if fault.category == "remote":
            return  # the file stays for the next run
        await ctx.step("rename-error", self._rename_error, message["files"][0]["fileName"])

    # steps ----------------------------------------------------------------------------------
    async def _inspect(self, name: str, listed_size: int) -> int:
        try:
            info = await self.store.stat(name)
        except FileMissing:
            # A resubmitted instance whose file an earlier run set aside: take it back.
            try:
                await self.store.rename(ERROR_TAG + name, name)
            except FileMissing:
                raise FileMissing(
                    f"{name} is no longer in {self.store.location}: it was renamed or removed "
                    "after it was listed",
                    file=name,
                ) from None
            info = await self.store.stat(name)
        if info.size > self.options.max_bytes:
            raise FileRefused(
                f"{name} has {info.size:,} bytes, over the limit of {self.options.max_bytes:,}",
                code="HUB-FILE-TOO-LARGE",
            )
        return info.size

    async def _checksum(self, name: str) -> str:
        return await checksum(self.store, name)

    async def _claim(self, instance_id: str, digest: str, name: str, size: int) -> str:
        return await asyncio.to_thread(
            self.receipts.take,
            flow=self.spec.code,
            checksum=digest,
            instance_id=instance_id,
            file_name=name,
            size=size,
        )

    async def _rename(self, name: str, tag: str) -> str:
        """Rename ``name`` to ``<tag><name>`` (``.2``, ``.3``… if taken); the new name."""
        return await rename_tagged(self.store, name, tag)

    async def _rename_error(self, name: str) -> str:
        try:
            return await self._rename(name, ERROR_TAG)
        except FileMissing:
            return ""  # nothing left to set aside

    async def _notify_complete(self, instance_id: str, outcome: dict[str, Any]) -> None:
        await self.notifier.file_complete(
            flow=self.spec.code, instance_id=instance_id, outcome=outcome
        )


class CopyFileFlow(FileFlow):
    """Copies each file to a target store, part by part (a crash resumes at the next part)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.exchange.target_store is None:
            raise ConfigurationError(f"{self.spec.code} names no target store in the catalog")
        self.target_store = self.targets.store(self.exchange.target_store)

    async def transfer(self, ctx: FlowContext, name: str, size: int) -> FlowOutcome:
        parts = await copy_file(ctx, self.store, self.target_store, name, size)
        return FlowOutcome(
            processed=1,
            succeeded=1,
            notes={"parts": parts, "target": self.target_store.location},
        )


async def copy_file(
    ctx: FlowContext, source: FileStore, target: FileStore, name: str, size: int, step: str = ""
) -> int:
    """Copy ``name`` from ``source`` to ``target`` part by part, each part a durable step (a
    crash resumes at the next part; the target publishes the file whole at the end); the
    number of parts. ``step`` prefixes the steps' names."""

    async def part(upload: str, number: int, offset: int) -> str:
        data = await source.read_range(name, offset, CHUNK)
        return await target.upload_part(upload, number, offset, data)

    async def empty() -> None:
        await target.write(name, iterate(b""))

    if size == 0:
        await ctx.step(f"{step}write-empty", empty)
        return 0
    upload = await ctx.step(f"{step}begin-upload", target.begin_upload, name)
    parts: list[str] = []
    for number, offset in enumerate(range(0, size, CHUNK), start=1):
        parts.append(await ctx.step(f"{step}part-{number}", part, upload, number, offset))
    await ctx.step(f"{step}complete-upload", target.complete_upload, upload, parts)
    return len(parts)


class RecordFileFlow(FileFlow):
    """Reads a CSV file with a fixed header in windows of records and delivers their rows."""

    header: ClassVar[tuple[str, ...]]
    #: The part the rows go to (``cpm``, ``derms``): its health is checked before any row, so
    #: that a file meeting it down waits for the next run.
    delivers_to: ClassVar[Literal["cpm", "derms"]]
    #: The bytes one batch of records reads; a record longer than this widens its window.
    window: int = WINDOW

    async def _health(self) -> None:
        target = self.targets.cpm if self.delivers_to == "cpm" else self.targets.derms
        await target.get("/api/v1/health")

    async def ready(self) -> bool:
        try:
            await self._health()
        except RemoteFault:
            return False
        return True

    async def deliver(self, name: str, rows: list[tuple[int, list[str]]]) -> RowsResult:
        """Hand one window's rows (row number, fields) of the file ``name`` to the target."""
        raise NotImplementedError

    async def transfer(self, ctx: FlowContext, name: str, size: int) -> FlowOutcome:
        # Fail fast, before any row, when the target is down: the file stays for the next run.
        await ctx.step(f"health-{self.delivers_to}", self._health)
        offset, row = await ctx.step("read-header", self._header, name, size)
        processed = succeeded = duplicates = rejected = batches = 0
        errors: list[dict[str, str]] = []
        counts: dict[str, int] = {}
        while offset < size:
            batches += 1
            result = await ctx.step(f"batch-{batches}", self._batch, name, size, offset, row)
            offset, row = result["next"], result["nextRow"]
            processed += result["rows"]
            succeeded += result["succeeded"]
            duplicates += result["duplicates"]
            rejected += result["rejected"]
            errors.extend(result["errors"][: KEEP_ERRORS - len(errors)])
            for key, n in result["counts"].items():
                counts[key] = counts.get(key, 0) + n
        return FlowOutcome(
            processed=processed,
            succeeded=succeeded,
            errors=[RecordError(**e) for e in errors],
            notes={"rejected": rejected, "duplicates": duplicates, "batches": batches, **counts},
        )

    async def _header(self, name: str, size: int) -> Position:
        """Check the header; where the batches start: the first record, which is the header
        (read again, and passed over, by the first batch)."""
        first = None
        if size > 0:
            window = await read_window(
                self.store, name, Position(), size=size, window=64 * 1024, width=len(self.header)
            )
            first = window.records[0][1] if window.records else None
        problem = header_problem(first, self.header)
        if problem is not None and problem.empty:
            raise FileRefused(f"{name}: {problem.reason}", code="HUB-FILE-EMPTY")
        if problem is not None:
            raise FileRefused(
                f"{name} has the wrong header: {problem.reason}", code="HUB-FILE-HEADER"
            )
        return Position()

    async def _batch(self, name: str, size: int, offset: int, row: int) -> dict[str, Any]:
        window = await read_window(
            self.store,
            name,
            Position(offset, row),
            size=size,
            window=self.window,
            width=len(self.header),
        )
        records = [(n, fields) for n, fields in window.records if n > 1]  # not the header
        shaped = check_shape(
            records,
            width=len(self.header),
            suspect=window.suspect,
            columns_code="HUB-FILE-COLUMNS",
            encoding_code="HUB-FILE-ENCODING",
        )
        good: list[tuple[int, list[str]]] = []
        errors: list[RecordError] = []
        for number, fields in shaped:
            if isinstance(fields, RowReject):
                errors.append(RecordError(f"row {number}", fields.code, fields.reason))
            else:
                good.append((number, fields))
        result = await self.deliver(name, good) if good else RowsResult()
        errors.extend(result.errors)
        return {
            "next": window.next.offset,
            "nextRow": window.next.row,
            "rows": len(records),
            "succeeded": result.succeeded,
            "duplicates": result.duplicates,
            "rejected": len(errors),
            "errors": [e.to_dict() for e in errors[:KEEP_ERRORS]],
            "counts": result.counts,
        }
