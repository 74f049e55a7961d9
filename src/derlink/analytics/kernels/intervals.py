"""Interval measurements in memory: the ``IntervalBatch`` shape every kernel starts from.

A measurement is a row ``(sp_id, start, kwh)``: ``start`` the UTC instant the interval begins,
``kwh`` the energy of the interval. The kernels take an ``IntervalBatch``: the rows of N whole
service points grouped by service point and sorted by start (a CSR layout: ``offsets[i]`` to
``offsets[i + 1]`` are the rows of service point ``i``). A long frame ``sp_id, start, kwh``
converts both ways. Reading and writing files is ``measurements/``'s work.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

Int64Array = npt.NDArray[np.int64]
# kWh as read: float64, or float32 as a file stores it (not widened: half the memory); the
# kernels widen the values they compute with to float64.
KwhArray = npt.NDArray[np.floating[Any]]
ObjectArray = npt.NDArray[np.object_]

MEASUREMENT_SCHEMA: dict[str, Any] = {
    "sp_id": pl.Utf8,
    "start": pl.Datetime("us", "UTC"),
    "kwh": pl.Float64,
}


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


def frame_batches(frame: pl.DataFrame, sps_per_batch: int) -> Iterator[IntervalBatch]:
    """Batches of whole service points from an in-memory long frame."""
    batch = IntervalBatch.from_frame(frame)
    for first in range(0, batch.size, sps_per_batch):
        yield batch.select(np.arange(first, min(first + sps_per_batch, batch.size)))
