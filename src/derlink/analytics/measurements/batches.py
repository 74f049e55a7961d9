"""Batches of whole service points from any measurement file, whatever its format.

A Parquet file in the streaming layout is streamed (``parquet.py``); any other file (CSV, XML,
a Parquet file not grouped by service point) is read whole and sorted in memory. Memory then
stays bounded by the batch size for the files derlink writes, whatever the population.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq

from derlink.analytics.errors import UnsortedMeasurements
from derlink.analytics.kernels import sufficiency
from derlink.analytics.kernels.intervals import IntervalBatch, frame_batches
from derlink.analytics.kernels.sufficiency import WarningLog
from derlink.analytics.measurements.parquet import iter_parquet_batches
from derlink.analytics.measurements.readers import read_measurements


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


def rows_in(path: Path) -> int | None:
    """The rows of a Parquet file, from its footer (None for other formats: not known ahead)."""
    if path.suffix.lower() in {".parquet", ".pq"}:
        return int(pq.ParquetFile(path).metadata.num_rows)
    return None
