"""Interval measurements: readers and writers (CSV, Parquet) and the ``IntervalBatch`` shape.

In memory a measurement is a row ``(sp_id, start, kwh)``: ``start`` the UTC instant the interval
begins, ``kwh`` the energy of the interval. The kernels take an ``IntervalBatch``: the rows of N
whole service points grouped by service point and sorted by start (a CSR layout: ``offsets[i]``
to ``offsets[i + 1]`` are the rows of service point ``i``). File layouts are in
``docs/contracts/analytics-files.md``: CSV and Parquet with columns ``sp_id, start, kwh``;
Green Button XML is read by ``espi.py``.

Big Parquet files are streamed one batch of whole service points at a time
(``iter_parquet_batches``); the file must then be grouped by ``sp_id``, which is how
``write_parquet`` writes it (row groups of whole service points, sorted by ``sp_id, start``).
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from derlink.analytics import sufficiency
from derlink.analytics.errors import InputFileError, UnsortedMeasurements
from derlink.analytics.sufficiency import WarningLog

Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
# kWh as read: float64, or float32 as a file stores it (not widened: half the memory); the
# kernels widen the values they compute with to float64.
KwhArray = npt.NDArray[np.floating[Any]]
ObjectArray = npt.NDArray[np.object_]

MEASUREMENT_SCHEMA: dict[str, Any] = {
    "sp_id": pl.Utf8,
    "start": pl.Datetime("us", "UTC"),
    "kwh": pl.Float64,
}
# Accepted spellings of the three columns (compared lower-case, without "_", "-" or spaces).
_ALIASES = {
    "sp_id": {"spid", "servicepointid", "servicepoint"},
    "start": {"start", "starttime", "intervalstart", "intervalstarttime", "startdatetime"},
    "kwh": {"kwh", "value", "usagekwh"},
}
OFFSET_AT_END = r"(Z|[+-]\d\d:?\d\d)$"


@dataclass(frozen=True)
class IntervalBatch:
    """The interval rows of N whole service points, grouped by service point.

    Readers of derlink's own files yield rows sorted by start; the kernels do not rely on it.
    """

    sp_ids: ObjectArray  # (N,) distinct service point ids
    offsets: Int64Array  # (N + 1,) rows of service point i are offsets[i]:offsets[i + 1]
    start_us: Int64Array  # (R,) interval start, UTC microseconds
    kwh: KwhArray  # (R,) energy of the interval (float64 or float32); NaN when no value

    @property
    def size(self) -> int:
        return len(self.sp_ids)

    @property
    def rows(self) -> int:
        return len(self.start_us)

    def counts(self) -> Int64Array:
        return np.diff(self.offsets)

    def row_sp(self) -> Int64Array:
        """The service point index of every row."""
        return np.repeat(np.arange(self.size, dtype=np.int64), self.counts())

    def select(self, indices: npt.NDArray[np.integer[Any]]) -> IntervalBatch:
        """The batch restricted to the service points at ``indices`` (in that order)."""
        idx = np.asarray(indices, dtype=np.int64)
        counts = self.counts()[idx]
        offsets = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        if len(idx) == self.size and np.array_equal(idx, np.arange(self.size)):
            return self
        starts = self.offsets[idx]
        rows = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1], dtype=np.int64)
        return IntervalBatch(self.sp_ids[idx], offsets, self.start_us[rows], self.kwh[rows])

    def to_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "sp_id": pl.Series(np.repeat(self.sp_ids, self.counts()).tolist(), dtype=pl.Utf8),
                "start": pl.Series(self.start_us, dtype=pl.Int64).cast(pl.Datetime("us", "UTC")),
                "kwh": self.kwh.astype(np.float64, copy=False),
            },
            schema=MEASUREMENT_SCHEMA,
        )

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> IntervalBatch:
        """Group and sort a long frame ``sp_id, start, kwh`` into a batch."""
        ordered = frame.select(
            pl.col("sp_id").cast(pl.Utf8),
            pl.col("start").cast(pl.Datetime("us", "UTC")).dt.epoch("us").alias("start_us"),
            pl.col("kwh").cast(pl.Float64).fill_null(float("nan")),
        ).sort(["sp_id", "start_us"])
        runs = (
            ordered.with_row_index("row")
            .group_by("sp_id", maintain_order=True)
            .agg(pl.col("row").first(), pl.len().alias("n"))
        )
        offsets = np.zeros(runs.height + 1, dtype=np.int64)
        np.cumsum(runs["n"].to_numpy(), out=offsets[1:])
        return cls(
            np.asarray(runs["sp_id"].to_list(), dtype=object),
            offsets,
            ordered["start_us"].to_numpy().astype(np.int64, copy=False),
            ordered["kwh"].to_numpy().astype(np.float64, copy=False),
        )


def empty_frame() -> pl.DataFrame:
    return pl.DataFrame(schema=MEASUREMENT_SCHEMA)


def _canonical_names(columns: Sequence[str], path: Path) -> dict[str, str]:
    """Map the file's column names to ``sp_id, start, kwh``; refuse a file missing one."""
    found: dict[str, str] = {}
    for column in columns:
        key = re.sub(r"[\s_\-()]", "", column.lower())
        for canonical, aliases in _ALIASES.items():
            if key in aliases or key == canonical.replace("_", ""):
                found.setdefault(canonical, column)
    missing = [name for name in _ALIASES if name not in found]
    if missing:
        raise InputFileError(
            f"{path.name}: measurement file lacks column(s) {', '.join(missing)}",
            columns=list(columns),
        )
    return {found[name]: name for name in _ALIASES}


def _clean_text_rows(raw: pl.DataFrame, warnings: WarningLog, source: str) -> pl.DataFrame:
    """Parse text columns; rows that do not parse become ``bad_row`` warnings, not errors."""
    parsed = raw.select(
        pl.col("sp_id").cast(pl.Utf8).str.strip_chars(),
        pl.when(pl.col("start").cast(pl.Utf8).str.contains(OFFSET_AT_END))
        # SPEC §2.3: timestamps carry an offset; a naive one is refused rather than guessed.
        .then(
            pl.col("start")
            .cast(pl.Utf8)
            .str.to_datetime(time_unit="us", time_zone="UTC", strict=False)
        )
        .otherwise(None)
        .alias("start"),
        pl.col("kwh").cast(pl.Utf8).str.strip_chars().cast(pl.Float64, strict=False),
        (pl.col("kwh").is_null() | (pl.col("kwh").cast(pl.Utf8).str.strip_chars() == "")).alias(
            "_blank"
        ),
    )
    bad = parsed.filter(
        pl.col("sp_id").is_null()
        | (pl.col("sp_id") == "")
        | pl.col("start").is_null()
        | (pl.col("kwh").is_null() & ~pl.col("_blank"))
    )
    if bad.height:
        per_sp = bad.group_by("sp_id").len()
        warnings.add(
            sufficiency.BAD_ROW,
            f"rows of {source} without a service point, an offset-aware start or a number",
            np.asarray(per_sp["sp_id"].to_list(), dtype=object),
            per_sp["len"].to_numpy(),
        )
    good = parsed.filter(
        pl.col("sp_id").is_not_null()
        & (pl.col("sp_id") != "")
        & pl.col("start").is_not_null()
        & (pl.col("kwh").is_not_null() | pl.col("_blank"))
    )
    return good.select(
        pl.col("sp_id").cast(pl.Utf8),
        pl.col("start").cast(pl.Datetime("us", "UTC")),
        pl.col("kwh").cast(pl.Float64).fill_null(float("nan")),
    )


def read_csv(path: Path, warnings: WarningLog | None = None) -> pl.DataFrame:
    """Read a measurement CSV (``sp_id,start,kwh``; ISO timestamps with an offset)."""
    log = warnings if warnings is not None else WarningLog()
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(f"{path.name}: not a readable CSV file: {exc}") from exc
    raw = raw.rename(_canonical_names(raw.columns, path))
    return _clean_text_rows(raw, log, path.name)


def read_parquet(path: Path, warnings: WarningLog | None = None) -> pl.DataFrame:
    """Read a whole measurement Parquet file into a long frame."""
    log = warnings if warnings is not None else WarningLog()
    try:
        raw = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(f"{path.name}: not a readable Parquet file: {exc}") from exc
    raw = raw.rename(_canonical_names(raw.columns, path))
    dtype = raw.schema["start"]
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            raise InputFileError(
                f"{path.name}: column start is a naive timestamp; it must be UTC-adjusted"
            )
        return raw.select(
            pl.col("sp_id").cast(pl.Utf8),
            pl.col("start").dt.convert_time_zone("UTC").cast(pl.Datetime("us", "UTC")),
            pl.col("kwh").cast(pl.Float64).fill_null(float("nan")),
        )
    return _clean_text_rows(raw, log, path.name)


def read_measurements(path: Path, warnings: WarningLog | None = None) -> pl.DataFrame:
    """Read a measurement file of any supported format (by suffix: csv, parquet, xml)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path, warnings)
    if suffix in {".parquet", ".pq"}:
        return read_parquet(path, warnings)
    if suffix in {".xml", ".espi"}:
        from derlink.analytics.espi import read_espi

        return read_espi(path, warnings=warnings)
    raise InputFileError(f"{path.name}: unknown measurement format {suffix!r}")


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
    names = _canonical_names(parquet.schema_arrow.names, path)
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


def frame_batches(frame: pl.DataFrame, sps_per_batch: int) -> Iterator[IntervalBatch]:
    """Batches of whole service points from an in-memory long frame."""
    batch = IntervalBatch.from_frame(frame)
    for first in range(0, batch.size, sps_per_batch):
        yield batch.select(np.arange(first, min(first + sps_per_batch, batch.size)))


def iter_batches(
    path: Path, sps_per_batch: int = 8192, warnings: WarningLog | None = None
) -> Iterator[IntervalBatch]:
    """Batches of whole service points from any measurement file.

    Parquet files in the streaming layout are streamed; anything else (CSV, XML, a Parquet file
    not grouped by service point) is read whole and sorted in memory.
    """
    log = warnings if warnings is not None else WarningLog()
    if path.suffix.lower() in {".parquet", ".pq"}:
        yielded = 0
        try:
            for batch in _restream(iter_parquet_batches(path), sps_per_batch):
                yielded += 1
                yield batch
            return
        except UnsortedMeasurements:
            if yielded:
                # Batches already went out: reading again would count service points twice.
                raise
            log.add(
                sufficiency.UNSORTED_FILE,
                f"{path.name} is not grouped by service point; it was read whole and sorted",
                [None],
            )
    yield from frame_batches(read_measurements(path, log), sps_per_batch)


def _restream(batches: Iterator[IntervalBatch], sps_per_batch: int) -> Iterator[IntervalBatch]:
    """Cut streamed batches into at most ``sps_per_batch`` service points each (views)."""
    for batch in batches:
        if batch.size <= sps_per_batch:
            yield batch
            continue
        for first in range(0, batch.size, sps_per_batch):
            last = min(first + sps_per_batch, batch.size)
            lo, hi = int(batch.offsets[first]), int(batch.offsets[last])
            yield IntervalBatch(
                batch.sp_ids[first:last],
                batch.offsets[first : last + 1] - lo,
                batch.start_us[lo:hi],
                batch.kwh[lo:hi],
            )
