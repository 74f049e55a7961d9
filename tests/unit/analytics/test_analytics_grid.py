"""Placing interval rows on the UTC grid, and the sufficiency warnings that come out."""

from __future__ import annotations

import numpy as np
import pytest
from analytics_helpers import HOUR_US, batch

from derlink.analytics.kernels import sufficiency
from derlink.analytics.kernels.grid import (
    ValueBounds,
    build_grid,
    detect_interval_seconds,
    interval_supported,
)
from derlink.analytics.kernels.sufficiency import WarningLog

T0 = 1_780_000_000 // 3600 * 3600 * 1_000_000  # an hour boundary


def regular(values):
    return [(T0 + i * HOUR_US, v) for i, v in enumerate(values)]


def counts_by_name(log: WarningLog) -> dict[tuple[str, str], int]:
    frame = log.to_frame()
    return {(r["sp_id"], r["qualified_name"]): r["count"] for r in frame.iter_rows(named=True)}


def test_service_points_read_at_the_same_instants_become_a_view_of_the_batch():
    rows = batch({"A": regular([1, 2, 3]), "B": regular([4, 5, 6])})
    log = WarningLog()
    grid = build_grid(
        rows,
        start_us=T0,
        end_us=T0 + 3 * HOUR_US,
        interval_s=3600,
        bounds=ValueBounds(),
        warnings=log,
    )
    assert grid.dense().tolist() == [[1, 2, 3], [4, 5, 6]]
    assert np.shares_memory(grid.kwh, rows.kwh)
    assert len(log) == 0


def test_a_gap_is_nan_and_a_warning_with_its_count():
    rows = batch({"A": [(T0, 1.0), (T0 + 3 * HOUR_US, 4.0)], "B": regular([1, 1, 1, 1])})
    log = WarningLog()
    grid = build_grid(
        rows,
        start_us=T0,
        end_us=T0 + 4 * HOUR_US,
        interval_s=3600,
        bounds=ValueBounds(),
        warnings=log,
    )
    assert np.isnan(grid.dense()[0, 1:3]).all()
    assert counts_by_name(log) == {("A", sufficiency.GAP): 2}


def test_intervals_before_the_first_reading_are_a_short_history_not_a_gap():
    rows = batch({"A": [(T0 + 2 * HOUR_US, 1.0), (T0 + 3 * HOUR_US, 1.0)]})
    log = WarningLog()
    build_grid(
        rows,
        start_us=T0,
        end_us=T0 + 4 * HOUR_US,
        interval_s=3600,
        bounds=ValueBounds(),
        warnings=log,
    )
    assert counts_by_name(log) == {("A", sufficiency.SHORT_HISTORY): 2}


def grid_of(rows, hours, bounds=None, log=None, **extra):
    return build_grid(
        rows,
        start_us=T0,
        end_us=T0 + hours * HOUR_US,
        interval_s=3600,
        bounds=bounds or ValueBounds(),
        warnings=log if log is not None else WarningLog(),
        **extra,
    )


def details(log, sp_id, name):
    (warning,) = [w for w in log.for_sp(sp_id) if w.qualified_name == name]
    return warning.data["count"], warning.data["detail"]


def test_identical_duplicates_are_kept_once_and_reported_with_their_interval():
    rows = batch({"A": [(T0, 1.0), (T0, 1.0), (T0 + HOUR_US, 5.0)]})
    log = WarningLog()
    grid = grid_of(rows, 2, log=log)
    assert grid.dense().tolist() == [[1.0, 5.0]]
    assert counts_by_name(log) == {("A", sufficiency.DUPLICATE): 1}
    assert details(log, "A", sufficiency.DUPLICATE)[1] == "2026-05-28T20:00:00Z"


def test_conflicting_duplicates_are_an_error_naming_the_interval_and_the_row_is_empty():
    rows = batch(
        {
            "A": [(T0, 1.0), (T0, 3.0), (T0 + HOUR_US, 5.0)],  # two values for one hour
            "B": [(T0, 2.0), (T0 + HOUR_US, 2.5)],
        }
    )
    log = WarningLog()
    grid = grid_of(rows, 2, log=log)
    assert np.isnan(grid.dense()[0]).all()  # not averaged: A is not computed at all
    assert grid.dense()[1].tolist() == [2.0, 2.5]
    assert counts_by_name(log) == {("A", sufficiency.CONFLICTING_DUPLICATE): 1}
    assert details(log, "A", sufficiency.CONFLICTING_DUPLICATE)[1] == "2026-05-28T20:00:00Z"
    assert log.to_frame()["severity"].to_list() == ["error"]


def test_readings_off_the_interval_grid_are_dropped_and_reported():
    rows = batch({"A": [(T0, 1.0), (T0 + HOUR_US // 2, 9.0), (T0 + HOUR_US, 2.0)]})
    log = WarningLog()
    grid = build_grid(
        rows,
        start_us=T0,
        end_us=T0 + 2 * HOUR_US,
        interval_s=3600,
        bounds=ValueBounds(),
        warnings=log,
    )
    assert grid.dense().tolist() == [[1.0, 2.0]]
    assert counts_by_name(log) == {("A", sufficiency.MISALIGNED): 1}
    assert details(log, "A", sufficiency.MISALIGNED)[1] == "2026-05-28T20:30:00Z"


def history(n=40, spikes=None, scale=1.0):
    """``n`` hourly readings between 1 and 2 kWh (× ``scale``), ``spikes`` {column: value}."""
    values = [scale * (1.0 + (i % 5) / 4) for i in range(n)]
    for column, value in (spikes or {}).items():
        values[column] = value
    return values


def test_negative_values_and_outliers_are_read_as_missing_and_named():
    rows = batch({"A": regular(history(spikes={1: -0.5, 2: 2000.0})), "B": regular(history())})
    log = WarningLog()
    grid = grid_of(rows, 40, log=log)
    assert np.isnan(grid.dense()[0, 1:3]).all()
    assert grid.dense()[1].tolist() == history()
    assert counts_by_name(log) == {
        ("A", sufficiency.OUT_OF_RANGE): 1,
        ("A", sufficiency.OUTLIER): 1,
    }
    assert details(log, "A", sufficiency.OUTLIER)[1] == "2026-05-28T22:00:00Z"


def test_an_outlier_is_judged_against_the_service_points_own_history():
    # 30 kWh in an hour: far above a home's own readings, ordinary for a larger customer.
    home = history(spikes={7: 30.0})
    business = history(scale=10.0, spikes={7: 30.0})
    log = WarningLog()
    grid = grid_of(batch({"HOME": regular(home), "SHOP": regular(business)}), 40, log=log)
    assert np.isnan(grid.dense()[0, 7]) and grid.dense()[1, 7] == 30.0
    assert counts_by_name(log) == {("HOME", sufficiency.OUTLIER): 1}
    # The rule's parameters are settings: a looser factor keeps the reading.
    loose = WarningLog()
    kept = grid_of(batch({"HOME": regular(home)}), 40, ValueBounds(outlier_factor=20.0), loose)
    assert kept.dense()[0, 7] == 30.0 and len(loose) == 0


def test_a_service_point_whose_readings_look_like_watt_hours_is_flagged_and_kept():
    rows = batch({"WH": regular(history(scale=800.0)), "KWH": regular(history())})
    log = WarningLog()
    grid = grid_of(rows, 40, log=log)
    assert grid.dense()[0].tolist() == history(scale=800.0)
    assert counts_by_name(log) == {("WH", sufficiency.WH_NOT_KWH): 1}
    assert details(log, "WH", sufficiency.WH_NOT_KWH)[1] == "median 1200 kWh per hour"


def test_a_missing_value_in_the_file_counts_as_a_gap():
    rows = batch({"A": regular([1.0, float("nan"), 2.0])})
    log = WarningLog()
    build_grid(
        rows,
        start_us=T0,
        end_us=T0 + 3 * HOUR_US,
        interval_s=3600,
        bounds=ValueBounds(),
        warnings=log,
    )
    assert counts_by_name(log) == {("A", sufficiency.GAP): 1}


def test_history_beyond_the_window_is_ignored():
    rows = batch({"A": regular([1, 2, 3, 4, 5])})
    grid = build_grid(
        rows,
        start_us=T0 + HOUR_US,
        end_us=T0 + 3 * HOUR_US,
        interval_s=3600,
        bounds=ValueBounds(),
        warnings=WarningLog(),
    )
    assert grid.dense().tolist() == [[2, 3]]


def test_the_interval_length_is_detected_per_service_point():
    rows = batch(
        {
            "hourly": regular([1, 1, 1]),
            "quarter": [(T0 + i * HOUR_US // 4, 1.0) for i in range(6)],
            "gappy": [
                (T0, 1.0),
                (T0 + 3 * HOUR_US, 1.0),
                (T0 + 4 * HOUR_US, 1.0),
                (T0 + 5 * HOUR_US, 1.0),
            ],
            "single": [(T0, 1.0)],
        }
    )
    assert detect_interval_seconds(rows).tolist() == [3600, 900, 3600, 0]


@pytest.mark.parametrize(
    ("seconds", "ok"), [(900, True), (3600, True), (7 * 60, False), (0, False)]
)
def test_only_intervals_that_tile_a_day_are_supported(seconds, ok):
    assert interval_supported(np.asarray([seconds])).tolist() == [ok]


def test_a_batch_read_at_one_regular_step_gets_that_step_everywhere():
    quarter = HOUR_US // 4
    rows = batch(
        {
            "A": [(T0 + i * quarter, 1.0) for i in range(30)],
            "B": [(T0 + i * quarter, 1.0) for i in range(30)],
            "backwards": [(T0 + (29 - i) * quarter, 1.0) for i in range(30)],
        }
    )
    assert detect_interval_seconds(rows).tolist() == [900, 900, 900]
    assert detect_interval_seconds(rows.select(np.asarray([0, 1]))).tolist() == [900, 900]


def test_the_interval_length_is_found_even_when_rows_are_not_sorted():
    rows = batch({"shuffled": [(T0 + i * HOUR_US // 2, 1.0) for i in (5, 0, 3, 1, 4, 2)]})
    assert detect_interval_seconds(rows).tolist() == [1800]


def test_a_grid_over_part_of_a_batch_reads_only_its_members():
    rows = batch(
        {
            "A": regular(history()),
            "B": regular(history(spikes={3: 500.0})),
            "C": regular(history(spikes={5: 60.0})),
        }
    )
    log = WarningLog()
    grid = grid_of(rows, 40, log=log, members=np.asarray([0, 2]))
    assert grid.sp_ids.tolist() == ["A", "C"]
    assert grid.dense()[0].tolist() == history()
    assert np.isnan(grid.dense()[1, 5])  # 60 kWh is an outlier for C: read as missing
    assert grid.take(np.asarray([[1], [0]])).shape == (2, 2, 1)
    assert counts_by_name(log) == {("C", sufficiency.OUTLIER): 1}


def test_members_all_regular_in_a_batch_with_an_irregular_other_keep_their_columns():
    # C (not a member) has a gap, so the batch as a whole is not regular; the members alone
    # are, and their grid must still start at the window's start, not at their first reading.
    rows = batch(
        {
            "A": regular([1, 2, 3, 4]),
            "B": regular([5, 6, 7, 8]),
            "C": [(T0, 1.0), (T0 + 3 * HOUR_US, 4.0)],
        }
    )
    grid = build_grid(
        rows,
        start_us=T0 + HOUR_US,
        end_us=T0 + 4 * HOUR_US,
        interval_s=3600,
        bounds=ValueBounds(),
        warnings=WarningLog(),
        members=np.asarray([0, 1]),
    )
    assert grid.start_us == T0 + HOUR_US
    assert grid.dense().tolist() == [[2.0, 3.0, 4.0], [6.0, 7.0, 8.0]]


def test_single_precision_values_are_read_as_float64():
    rows = batch({"A": regular([1.5, 2.25, 3.0]), "B": regular([0.1, 0.2, 0.3])})
    single = type(rows)(rows.sp_ids, rows.offsets, rows.start_us, rows.kwh.astype(np.float32))
    log = WarningLog()
    grid = build_grid(
        single,
        start_us=T0,
        end_us=T0 + 3 * HOUR_US,
        interval_s=3600,
        bounds=ValueBounds(),
        warnings=log,
    )
    values = grid.dense()
    assert values.dtype == np.float64
    assert values[0].tolist() == [1.5, 2.25, 3.0]
    assert np.allclose(values[1], [0.1, 0.2, 0.3], rtol=1e-7)
    assert len(log) == 0


def test_the_cheap_outlier_screen_misses_no_outlier_the_full_rule_finds():
    # Rows of ordinary loads with rare spikes of every size: the grid's count of outliers per
    # row is the rule applied to every value of the row.
    generator = np.random.default_rng(3)
    values = generator.gamma(2.0, 0.6, (300, 240))
    spikes = generator.random(values.shape) < 0.004
    values[spikes] *= generator.uniform(2, 60, spikes.sum())
    # Rows whose mean is above their 95th percentile: mostly 0.2 kWh, 4 % of readings 2.5 kWh
    # (outliers: above 10 × 0.2). Only a true lower bound of the percentile keeps them.
    values[:20] = 0.2
    values[:20, ::25] = 2.5
    rows = batch({f"S{i:03d}": regular(row.tolist()) for i, row in enumerate(values)})
    log = WarningLog()
    grid_of(rows, 240, log=log)
    ordered = np.sort(values, axis=1)
    percentile = ordered[:, int(np.ceil(0.95 * 240)) - 1]
    expected = (values > 10 * percentile[:, None]).sum(axis=1)
    found = counts_by_name(log)
    counted = [found.get((f"S{i:03d}", sufficiency.OUTLIER), 0) for i in range(300)]
    assert counted == expected.tolist()
    assert all(c == 10 for c in counted[:20])
    assert sum(counted[20:]) > 0
