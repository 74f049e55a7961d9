"""The streaming Parquet layout: written in row groups of whole service points, read in batches.

Big Parquet files are streamed one batch of whole service points at a time
(``iter_parquet_batches``); the file must then be grouped by ``sp_id``, which is how
``write_parquet`` writes it (row groups of whole service points, sorted by ``sp_id, start``).
The layout is in ``docs/contracts/analytics-files.md``; why each of its choices was made, in
``docs/benchmarks-analytics.md``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from derlink.analytics.errors import InputFileError, UnsortedMeasurements
from derlink.analytics.kernels.intervals import Int64Array, IntervalBatch, KwhArray, ObjectArray
from derlink.analytics.measurements.readers import canonical_names

# The streaming layout ``write_parquet`` writes (docs/contracts/analytics-files.md). Bump the
# version when it changes, so that cached files written by an older layout are rewritten.
STREAMING_LAYOUT_VERSION = 2
STREAMING_SCHEMA = pa.schema(
    [
        # Required (non-null) columns: a missing kWh value is NaN, so no definition levels are
        # stored, and none have to be decoded.
        pa.field("sp_id", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("start", pa.timestamp("us", tz="UTC"), nullable=False),
        # Double precision. (Single precision would halve the bytes and save a sixth of a
        # run's CPU, but like days whose loads tie to the watt-hour, common with meter
        # readings, would then be ordered by its rounding: PJM's and NYISO's day selections
        # changed for 0.1 % of service points. docs/benchmarks-analytics.md.)
        pa.field("kwh", pa.float64(), nullable=False),
    ]
)


def write_parquet(batches: Sequence[IntervalBatch] | Iterator[IntervalBatch], path: Path) -> int:
    """Write batches in the streaming layout: row groups of whole service points.

    Rows are sorted by ``sp_id, start`` within each batch, and callers pass batches in
    ``sp_id`` order; ``sp_id`` is dictionary encoded and ``start`` delta encoded, which makes the
    two columns nearly free to store and to read. Returns the number of rows written.
    """
    schema = STREAMING_SCHEMA
    written = 0
    with pq.ParquetWriter(
        path,
        schema,
        # LZ4 for every column: kWh values are most of the file and LZ4 decodes them three
        # times faster than zstd; ids and instants compress to almost nothing either way, and
        # zstd's setup per page cost more than decoding them (docs/benchmarks-analytics.md).
        compression="lz4",
        use_dictionary=["sp_id"],
        column_encoding={"start": "DELTA_BINARY_PACKED", "kwh": "PLAIN"},
    ) as writer:
        for batch in batches:
            indices = np.repeat(np.arange(batch.size, dtype=np.int32), batch.counts())
            table = pa.table(
                {
                    "sp_id": pa.DictionaryArray.from_arrays(
                        pa.array(indices), pa.array(batch.sp_ids.tolist(), type=pa.string())
                    ),
                    "start": pa.array(batch.start_us, type=pa.timestamp("us", tz="UTC")),
                    "kwh": pa.array(batch.kwh, type=pa.float64()),
                },
                schema=schema,
            )
            writer.write_table(table, row_group_size=max(1, batch.rows))
            written += batch.rows
    return written


def write_frame_parquet(frame: pl.DataFrame, path: Path, sps_per_row_group: int = 8192) -> int:
    """Write a long frame in the streaming layout (sorted, whole service points per row group)."""
    batch = IntervalBatch.from_frame(frame)
    parts = [
        batch.select(np.arange(i, min(i + sps_per_row_group, batch.size)))
        for i in range(0, max(batch.size, 1), sps_per_row_group)
    ]
    return write_parquet([p for p in parts if p.size], path)


# --- streaming -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    names: ObjectArray
    offsets: Int64Array
    start_us: Int64Array
    kwh: KwhArray


def _single(column: pa.ChunkedArray) -> pa.Array:
    """One array for a column: the chunk itself when there is one (no copy)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _chunk_from_table(table: pa.Table, columns: dict[str, str], path: Path) -> _Chunk:
    sp = _single(table.column(columns["sp_id"]))
    if not pa.types.is_dictionary(sp.type):
        sp = sp.cast(pa.string()).dictionary_encode()
    indices = sp.indices.to_numpy(zero_copy_only=False)
    dictionary = sp.dictionary.to_numpy(zero_copy_only=False).astype(object, copy=False)
    start = table.column(columns["start"])
    if not pa.types.is_timestamp(start.type) or start.type.tz is None:
        raise InputFileError(
            f"{path.name}: column start must be a UTC-adjusted timestamp, not {start.type}"
        )
    if start.type.unit != "us":
        start = start.cast(pa.timestamp("us", tz="UTC"))
    start_us = _single(start).to_numpy(zero_copy_only=False).view(np.int64)
    kwh_column = table.column(columns["kwh"])
    if kwh_column.type not in (pa.float64(), pa.float32()):
        kwh_column = kwh_column.cast(pa.float64())
    kwh = _single(kwh_column).to_numpy(zero_copy_only=False)
    rows = len(indices)
    if rows == 0:
        empty = np.zeros(1, dtype=np.int64)
        return _Chunk(np.asarray([], dtype=object), empty, start_us, kwh)
    change = np.flatnonzero(indices[1:] != indices[:-1]) + 1
    offsets = np.concatenate(([0], change, [rows])).astype(np.int64)
    if len(np.unique(indices[offsets[:-1]])) != len(offsets) - 1:
        # A service point's rows are scattered inside this chunk: group them here (the row
        # groups' statistics already showed that no other chunk holds them).
        order = np.lexsort((start_us, indices))
        indices, start_us, kwh = indices[order], start_us[order], kwh[order]
        change = np.flatnonzero(indices[1:] != indices[:-1]) + 1
        offsets = np.concatenate(([0], change, [rows])).astype(np.int64)
    names = dictionary[indices[offsets[:-1]]]
    return _Chunk(names, offsets, start_us.astype(np.int64, copy=False), kwh)


def _row_groups_in_order(parquet: pq.ParquetFile, column: str) -> bool | None:
    """Whether row groups hold increasing, non-overlapping ranges of ``column`` (None: unknown).

    Adjacent row groups may share one value (a service point cut by a row-group boundary).
    """
    position = parquet.schema_arrow.get_field_index(column)
    previous_max: object = None
    for group in range(parquet.num_row_groups):
        stats = parquet.metadata.row_group(group).column(position).statistics
        if stats is None or not stats.has_min_max:
            return None
        low, high = stats.min, stats.max
        if previous_max is not None and low < previous_max:
            return False
        previous_max = high
    return True


def _split_last(chunk: _Chunk) -> tuple[_Chunk, _Chunk]:
    """(chunk without its last service point, that last service point alone): views."""
    cut = int(chunk.offsets[-2])
    head = _Chunk(chunk.names[:-1], chunk.offsets[:-1], chunk.start_us[:cut], chunk.kwh[:cut])
    tail = _Chunk(chunk.names[-1:], chunk.offsets[-2:] - cut, chunk.start_us[cut:], chunk.kwh[cut:])
    return head, tail


def _prepend(tail: _Chunk, chunk: _Chunk) -> _Chunk:
    """A chunk whose first service point continues ``tail``'s (the file split it)."""
    n = len(tail.start_us)
    offsets = np.concatenate(([0], chunk.offsets[1:] + n))
    return _Chunk(
        chunk.names,
        offsets.astype(np.int64),
        np.concatenate((tail.start_us, chunk.start_us)),
        np.concatenate((tail.kwh, chunk.kwh)),
    )


def _to_batch(chunk: _Chunk) -> IntervalBatch:
    # Rows of a service point need no sorting: the grid's fast path checks the exact instants,
    # and anything else takes the general path, which places rows in any order.
    return IntervalBatch(chunk.names, chunk.offsets, chunk.start_us, chunk.kwh)


def iter_parquet_batches(
    path: Path, rows_per_batch: int = 8_000_000, prefetch: bool = True, readers: int = 2
) -> Iterator[IntervalBatch]:
    """Stream a measurement Parquet file as batches of whole service points.

    The file must be grouped by ``sp_id`` (the layout ``write_parquet`` produces); a service point
    split across row groups is stitched back together. A file that is not grouped raises
    ``UnsortedMeasurements`` (callers fall back to ``read_parquet`` and sort in memory).
    With ``prefetch``, ``readers`` threads decode the next chunks while the caller computes.
    """
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputFileError(f"{path.name}: not a readable Parquet file: {exc}") from exc
    names = canonical_names(parquet.schema_arrow.names, path)
    columns = {canonical: original for original, canonical in names.items()}
    parquet = pq.ParquetFile(path, read_dictionary=[columns["sp_id"]])
    if _row_groups_in_order(parquet, columns["sp_id"]) is False:
        raise UnsortedMeasurements(
            f"{path.name}: row groups are not in sp_id order; the streaming layout groups rows "
            "by sp_id (write it with derlink's writer or sort it first)"
        )
    wanted = [columns["sp_id"], columns["start"], columns["kwh"]]

    def pieces() -> Iterator[tuple[int, int | None]]:
        """(row group, batch within it or None for the whole group), in file order."""
        for group in range(parquet.num_row_groups):
            rows = parquet.metadata.row_group(group).num_rows
            if rows <= rows_per_batch * 3 // 2:
                yield group, None
            else:
                yield from ((group, b) for b in range(-(-rows // rows_per_batch)))

    local = threading.local()

    def load(piece: tuple[int, int | None]) -> _Chunk:
        # Each reader thread has its own file handle and decodes on its own thread only:
        # concurrent reads through one ParquetFile, each fanning out to arrow's small thread
        # pool, were seen to deadlock.
        reader = getattr(local, "parquet", None)
        if reader is None:
            reader = local.parquet = pq.ParquetFile(path, read_dictionary=[columns["sp_id"]])
        group, part = piece
        table = reader.read_row_group(group, columns=wanted, use_threads=False)
        if part is not None:
            table = table.slice(part * rows_per_batch, rows_per_batch)
        return _chunk_from_table(table, columns, path)

    def chunks() -> Iterator[_Chunk]:
        if not prefetch:
            yield from (load(piece) for piece in pieces())
            return
        # Decoding runs on worker threads (pyarrow and numpy release the GIL): while the
        # caller computes on one chunk, the next ones are being read, in file order.
        with ThreadPoolExecutor(max_workers=readers) as pool:
            queue = pieces()
            pending = deque(pool.submit(load, piece) for piece in islice(queue, readers))
            while pending:
                current = pending.popleft().result()
                following = next(queue, None)
                if following is not None:
                    pending.append(pool.submit(load, following))
                yield current

    seen: set[str] = set()
    previous: _Chunk | None = None
    for chunk in chunks():
        if len(chunk.names) == 0:
            continue
        if previous is not None:
            if previous.names[-1] == chunk.names[0]:
                previous, tail = _split_last(previous)
                chunk = _prepend(tail, chunk)
            if len(previous.names):
                yield _checked(previous, seen, path)
        previous = chunk
    if previous is not None and len(previous.names):
        yield _checked(previous, seen, path)


def _checked(chunk: _Chunk, seen: set[str], path: Path) -> IntervalBatch:
    names = chunk.names.tolist()
    before = len(seen)
    seen.update(names)
    if len(seen) != before + len(names):
        raise UnsortedMeasurements(
            f"{path.name}: rows of a service point are not contiguous; the streaming layout "
            "groups rows by sp_id (write it with derlink's writer or sort it first)"
        )
    return _to_batch(chunk)
