"""Reading a file's records from a store, from any record boundary, in batches.

Two ways, one splitter (records.RecordSplitter), so both read the same records:

- :func:`stream_records` reads the file forward (``FileStore.read``) and yields the records
  of each chunk with the position after them: a run that takes a file from start to end;
- :func:`read_window` reads one window of whole records at a position (``read_range``): a
  durable step of the hub, which a crash resumes at the position its last step returned.

``width``, the number of columns of the file kind, is what a record spanning lines must have
(records.RecordSplitter): a stray quote costs its own row, never the rows after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from concurrent.futures import Executor
from dataclasses import dataclass

from derlink.platform.files import CHUNK, FileMissing, FileStore
from derlink.platform.intake.records import Position, Record, RecordSplitter

#: A file's first record.
START = Position()
#: The bytes one window reads; a record longer than this widens its window.
WINDOW = 2 * 1024 * 1024


@dataclass(frozen=True)
class RecordBatch:
    """The records read in one go, and where the next ones start."""

    records: list[Record]
    #: Some of these bytes were not UTF-8 (records.check_shape rejects the rows they spoiled).
    suspect: bool
    #: The position after the last record: a record boundary.
    next: Position
    #: The bytes read to make the batch, for a running checksum (stream_records only).
    raw: bytes = b""


async def stream_records(
    store: FileStore,
    name: str,
    *,
    start: Position = START,
    chunk_size: int = CHUNK,
    width: int | None = None,
    executor: Executor | None = None,
) -> AsyncGenerator[RecordBatch, None]:
    """The file's records from ``start`` to its end, one batch per chunk read (a batch may be
    empty while a record spans chunks); the last batch, with no bytes of its own, holds what
    the end of the file completed. ``executor``: where the splitting runs (the event loop
    when None)."""
    loop = asyncio.get_running_loop()
    splitter = RecordSplitter(first_row=start.row, width=width)
    row = start.row
    chunks = store.read(name, start.offset, chunk_size)
    try:
        async for chunk in chunks:
            if executor is None:
                records = splitter.feed(chunk)
            else:
                records = await loop.run_in_executor(executor, splitter.feed, chunk)
            row += len(records)
            yield RecordBatch(
                records, splitter.suspect, Position(start.offset + splitter.consumed, row), chunk
            )
    finally:
        close = getattr(chunks, "aclose", None)  # the store's file handle, now
        if close is not None:
            await close()
    records = splitter.finish()
    row += len(records)
    yield RecordBatch(records, splitter.suspect, Position(start.offset + splitter.consumed, row))


async def read_window(
    store: FileStore,
    name: str,
    start: Position,
    *,
    size: int,
    window: int = WINDOW,
    width: int | None = None,
) -> RecordBatch:
    """The whole records in about ``window`` bytes from ``start`` of a file of ``size`` bytes
    (at least one record, reading on while one is longer than the window; a record is at most
    records.LINE_MAX_BYTES, so that ends)."""
    splitter = RecordSplitter(first_row=start.row, width=width)
    records: list[Record] = []
    suspect = False
    offset = start.offset
    while True:
        data = await store.read_range(name, offset, window)
        if not data:
            raise FileMissing(f"{name} ended at {offset:,} bytes, before its listed size")
        offset += len(data)
        records.extend(splitter.feed(data))
        suspect = suspect or splitter.suspect
        at_end = offset >= size
        if at_end:
            records.extend(splitter.finish())
            suspect = suspect or splitter.suspect
            break
        if records and not splitter.skipping:
            break
    return RecordBatch(
        records, suspect, Position(start.offset + splitter.consumed, start.row + len(records))
    )
