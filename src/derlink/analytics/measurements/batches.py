"""Batches of whole service points from any measurement file, whatever its format.

A Parquet file in the streaming layout is streamed (``parquet.py``); any other file (CSV, XML,
a Parquet file not grouped by service point) is read whole and sorted in memory. Memory then
stays bounded by the batch size for the files derlink writes, whatever the population.
Timestamps without a zone are read in the zone the run states (``naive_zone``), or refused; a
Parquet file with such timestamps is read whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from derlink.analytics.errors import InputFileError, UnsortedMeasurements
from derlink.analytics.kernels import sufficiency
from derlink.analytics.kernels.intervals import IntervalBatch, frame_batches
from derlink.analytics.kernels.sufficiency import WarningLog
from derlink.analytics.measurements.parquet import iter_parquet_batches
from derlink.analytics.measurements.readers import canonical_names, read_measurements


def iter_batches(
    path: Path,
    sps_per_batch: int = 8192,
    warnings: WarningLog | None = None,
    naive_zone: str | None = None,
) -> Iterator[IntervalBatch]:
    """Batches of whole service points from any measurement file.

    Parquet files in the streaming layout are streamed; anything else (CSV, XML, a Parquet file
    not grouped by service point) is read whole and sorted in memory.
    """
    log = warnings if warnings is not None else WarningLog()
    if path.suffix.lower() in {".parquet", ".pq"} and not _naive_parquet(path, naive_zone):
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
    yield from frame_batches(read_measurements(path, log, naive_zone), sps_per_batch)


def _naive_parquet(path: Path, naive_zone: str | None) -> bool:
    """A Parquet file whose start column has no zone, and a zone stated for it."""
    if naive_zone is None:
        return False
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException):
        return False  # the streaming reader says what is wrong with the file
    names = canonical_names(schema.names, path)
    start = schema.field(next(k for k, v in names.items() if v == "start")).type
    return bool(pa.types.is_timestamp(start) and start.tz is None)


def _restream(batches: Iterator[IntervalBatch], sps_per_batch: int) -> Iterator[IntervalBatch]:
    """Cut streamed batches into at most ``sps_per_batch`` service points each (views)."""
    for batch in batches:
        if batch.size <= sps_per_batch:
            yield batch
            continue
        for first in range(0, batch.size, sps_per_batch):
            yield _view(batch, first, min(first + sps_per_batch, batch.size))


def _view(batch: IntervalBatch, first: int, last: int) -> IntervalBatch:
    """Service points ``first … last - 1`` of a batch, as views of its arrays."""
    lo, hi = int(batch.offsets[first]), int(batch.offsets[last])
    return IntervalBatch(
        batch.sp_ids[first:last],
        batch.offsets[first : last + 1] - lo,
        batch.start_us[lo:hi],
        batch.kwh[lo:hi],
    )


@dataclass(frozen=True)
class MeasurementBatches:
    """A measurement file opened for a run: its rows (for a progress total) and its batches."""

    total_rows: int
    batches: Iterator[IntervalBatch]


def open_measurements(
    path: Path, sps_per_batch: int, warnings: WarningLog, naive_zone: str | None = None
) -> MeasurementBatches:
    """A file's batches and row count: a streamed Parquet file's from its footer; any other
    file is read whole here (so its rows are known before its first batch)."""
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"} and not _naive_parquet(path, naive_zone):
        try:
            rows = int(pq.ParquetFile(path).metadata.num_rows)
        except (OSError, pa.ArrowException) as exc:
            raise InputFileError(f"{path.name}: not a readable Parquet file: {exc}") from exc
        return MeasurementBatches(rows, iter_batches(path, sps_per_batch, warnings))
    frame = read_measurements(path, warnings, naive_zone)
    return MeasurementBatches(frame.height, frame_batches(frame, sps_per_batch))


def in_pieces(batch: IntervalBatch, max_rows: int) -> Iterator[IntervalBatch]:
    """A batch as consecutive views of whole service points of about ``max_rows`` rows each
    (a service point with more rows is a piece of its own)."""
    if batch.rows <= max_rows:
        yield batch
        return
    # Each piece starts at the first service point at or past a multiple of max_rows.
    starts = np.searchsorted(batch.offsets, np.arange(max_rows, batch.rows, max_rows), "left")
    cuts = np.unique(np.r_[0, starts, batch.size])
    for first, last in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
        yield _view(batch, first, last)
