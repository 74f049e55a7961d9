"""The in-memory measurement shapes: long frames and batches of whole service points."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
from analytics_helpers import batch

from derlink.analytics.kernels.intervals import IntervalBatch, frame_batches


def frame(rows):
    return pl.DataFrame(
        {
            "sp_id": [r[0] for r in rows],
            "start": [datetime(2026, 7, 1, r[1], tzinfo=UTC) for r in rows],
            "kwh": [r[2] for r in rows],
        }
    )


def test_a_frame_becomes_a_batch_grouped_by_service_point_and_sorted_by_start():
    result = IntervalBatch.from_frame(frame([("B", 1, 2.0), ("A", 1, 1.5), ("B", 0, 1.0)]))
    assert result.sp_ids.tolist() == ["A", "B"]
    assert result.offsets.tolist() == [0, 1, 3]
    assert result.kwh.tolist() == [1.5, 1.0, 2.0]


def test_a_batch_round_trips_through_a_frame():
    original = frame([("A", 0, 1.0), ("A", 1, 2.0), ("B", 0, 3.0)])
    assert IntervalBatch.from_frame(original).to_frame().equals(original)


def test_selecting_service_points_keeps_their_rows_together():
    rows = batch({"A": [(1, 1.0)], "B": [(1, 2.0), (2, 3.0)], "C": [(1, 4.0)]})
    chosen = rows.select(np.asarray([2, 1]))
    assert chosen.sp_ids.tolist() == ["C", "B"]
    assert chosen.kwh.tolist() == [4.0, 2.0, 3.0]
    assert chosen.offsets.tolist() == [0, 1, 3]


def test_frames_are_cut_into_batches_of_whole_service_points():
    parts = list(frame_batches(frame([(s, h, 1.0) for s in "ABCDE" for h in range(3)]), 2))
    assert [p.sp_ids.tolist() for p in parts] == [["A", "B"], ["C", "D"], ["E"]]
    assert all(p.rows == 3 * p.size for p in parts)
