"""X-of-Y day selection, averaging and day-of adjustment, on hand-computed cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from derlink.analytics.kernels.baselines.rules import (
    CAISO_10_IN_10,
    NYISO_5_OF_10,
    PJM_HIGH_4_OF_5,
    PRESETS,
    AdjustmentKind,
    DayOfAdjustment,
    DaySelection,
    Pick,
    XofYRule,
    preset,
)
from derlink.analytics.kernels.baselines.windows import PriorDays
from derlink.analytics.kernels.baselines.xofy import xofy_baseline
from derlink.analytics.kernels.localtime import DayType, DayTypeScheme

WEEKDAY = DayType.WEEKDAY
NO_ADJUSTMENT = DayOfAdjustment()


def prior(loads, *, adjust=None, event_adjust=None, k=2):
    """One service point; ``loads[d]`` is the flat load of prior day d (d = 0 most recent)."""
    days = len(loads)
    window = np.repeat(np.asarray(loads, dtype=float)[None, :, None], k, axis=2)
    adjust_values = (
        np.asarray(adjust, dtype=float)[None, :, None]
        if adjust is not None
        else np.zeros((1, days, 0))
    )
    actual_adjust = (
        np.asarray([[event_adjust]], dtype=float) if event_adjust is not None else np.zeros((1, 0))
    )
    return PriorDays(
        event_day=1000,
        day_numbers=1000 - 1 - np.arange(days),
        window=window,
        adjust=adjust_values,
        event_window=np.zeros((1, k)),
        event_adjust=actual_adjust,
        interval_starts_us=np.arange(k, dtype=np.int64),
    )


def run(days, rule, *, excluded=None, types=None):
    n_days = days.window.shape[1]
    return xofy_baseline(
        days,
        rule,
        excluded=np.zeros((1, n_days), dtype=bool) if excluded is None else excluded,
        day_types=np.zeros(n_days, dtype=np.int8) if types is None else np.asarray(types, np.int8),
        event_day_type=WEEKDAY,
    )


CAISO_PLAIN = replace(CAISO_10_IN_10, adjustment=NO_ADJUSTMENT)
PJM_PLAIN = replace(PJM_HIGH_4_OF_5, adjustment=NO_ADJUSTMENT, low_usage_fraction=None)


def test_ten_in_ten_averages_the_ten_most_recent_like_days():
    loads = list(range(1, 13))  # day 0 = 1 … day 11 = 12
    result = run(prior(loads), CAISO_PLAIN)
    assert result.baseline.tolist() == [[5.5, 5.5]]  # mean of 1..10
    assert result.days_used.tolist() == [10]


def test_days_of_another_type_are_skipped_for_older_like_days():
    loads = list(range(1, 15))
    types = [0] * 14
    types[2] = types[3] = DayType.WEEKEND_OR_HOLIDAY  # a weekend (or a holiday) in between
    result = run(prior(loads), CAISO_PLAIN, types=types)
    assert result.baseline[0, 0] == pytest.approx(np.mean([1, 2, 5, 6, 7, 8, 9, 10, 11, 12]))


def test_the_service_points_own_event_days_are_not_baseline_days():
    loads = list(range(1, 15))
    excluded = np.zeros((1, 14), dtype=bool)
    excluded[0, 0] = True
    result = run(prior(loads), CAISO_PLAIN, excluded=excluded)
    assert result.baseline[0, 0] == pytest.approx(np.mean(range(2, 12)))


def test_a_day_missing_an_event_interval_is_not_a_like_day():
    days = prior(list(range(1, 13)))
    days.window[0, 0, 1] = np.nan
    result = run(days, CAISO_PLAIN)
    assert result.baseline[0, 0] == pytest.approx(np.mean(range(2, 12)))


def test_the_lookback_limits_how_far_back_like_days_are_found():
    rule = replace(CAISO_PLAIN, lookback_days=7)
    result = run(prior(list(range(1, 13))), rule)
    assert result.candidates.tolist() == [7]
    assert result.baseline[0, 0] == pytest.approx(4.0)


def test_fewer_like_days_than_the_minimum_give_no_baseline():
    types = [0] * 4 + [DayType.WEEKEND_OR_HOLIDAY] * 8
    result = run(prior([1.0] * 12), CAISO_PLAIN, types=types)
    assert np.isnan(result.baseline).all()
    assert result.days_used.tolist() == [0]
    assert result.candidates.tolist() == [4]


def test_between_the_minimum_and_y_days_the_baseline_uses_what_there_is():
    types = [0] * 6 + [DayType.WEEKEND_OR_HOLIDAY] * 6
    result = run(prior(list(range(1, 13))), CAISO_PLAIN, types=types)
    assert result.days_used.tolist() == [6]
    assert result.baseline[0, 0] == pytest.approx(3.5)


def test_high_4_of_5_keeps_the_four_highest_of_the_five_most_recent():
    result = run(prior([5, 1, 4, 3, 2, 100]), PJM_PLAIN)
    assert result.baseline[0, 0] == pytest.approx(3.5)  # 5, 4, 3, 2 (the sixth is not in Y)


def test_ties_go_to_the_more_recent_day():
    rule = replace(
        PJM_PLAIN,
        selections={WEEKDAY: DaySelection(y_days=3, x_days=1, pick=Pick.HIGHEST, min_days=1)},
    )
    days = prior([2.0, 2.0, 1.0])
    days.window[0, 0, :] = [1.0, 3.0]  # day 0 and day 1 have the same mean load (2.0)
    days.window[0, 1, :] = [3.0, 1.0]
    result = run(days, rule)
    assert result.baseline.tolist() == [[1.0, 3.0]]


def test_middle_x_of_y_drops_the_highest_and_the_lowest():
    rule = XofYRule(
        name="middle-8-of-10",
        day_types=DayTypeScheme.WEEKDAY_WEEKEND,
        selections={WEEKDAY: DaySelection(y_days=10, x_days=8, pick=Pick.MIDDLE, min_days=8)},
    )
    loads = [10, 1, 2, 3, 4, 5, 6, 7, 8, 0]
    result = run(prior(loads), rule)
    assert result.baseline[0, 0] == pytest.approx(np.mean([1, 2, 3, 4, 5, 6, 7, 8]))


def test_middle_with_an_odd_surplus_drops_more_from_the_top():
    rule = XofYRule(
        name="middle-2-of-5",
        day_types=DayTypeScheme.WEEKDAY_WEEKEND,
        selections={WEEKDAY: DaySelection(y_days=5, x_days=2, pick=Pick.MIDDLE, min_days=2)},
    )
    result = run(prior([1, 2, 3, 4, 5]), rule)
    # surplus of 3: two dropped from the top (5, 4), one from the bottom (1) → 2 and 3 remain
    assert result.baseline[0, 0] == pytest.approx(2.5)


def test_low_usage_days_are_replaced_by_older_ones():
    rule = replace(PJM_PLAIN, low_usage_fraction=0.25)
    # average of the first five = 3.3; day 2 (0.5) is below a quarter of it
    result = run(prior([4, 4, 0.5, 4, 4, 2]), rule)
    assert result.baseline[0, 0] == pytest.approx(4.0)  # highest 4 of 4, 4, 4, 4, 2


def adjusted(kind, *, actual, cap_up=None, cap_down=None):
    rule = replace(
        CAISO_PLAIN,
        selections={WEEKDAY: DaySelection(y_days=2, x_days=2, pick=Pick.ALL, min_days=1)},
        adjustment=DayOfAdjustment(kind=kind, cap_up=cap_up, cap_down=cap_down),
    )
    return run(prior([2.0, 2.0], adjust=[1.0, 1.0], event_adjust=actual), rule)


def test_a_multiplicative_adjustment_scales_by_actual_over_baseline_in_the_window():
    result = adjusted(AdjustmentKind.MULTIPLICATIVE, actual=1.1)
    assert result.baseline[0, 0] == pytest.approx(2.2)
    assert result.adjustment[0] == pytest.approx(1.1)
    assert not result.adjustment_capped[0]


def test_a_multiplicative_adjustment_stops_at_its_cap():
    up = adjusted(AdjustmentKind.MULTIPLICATIVE, actual=1.5, cap_up=0.2, cap_down=0.2)
    down = adjusted(AdjustmentKind.MULTIPLICATIVE, actual=0.5, cap_up=0.2, cap_down=0.2)
    assert up.baseline[0, 0] == pytest.approx(2.4)
    assert down.baseline[0, 0] == pytest.approx(1.6)
    assert up.adjustment_capped[0] and down.adjustment_capped[0]


def test_an_additive_adjustment_shifts_by_the_difference_in_the_window():
    result = adjusted(AdjustmentKind.ADDITIVE, actual=1.5)
    assert result.baseline[0, 0] == pytest.approx(2.5)


def test_an_additive_cap_is_a_share_of_the_windows_baseline():
    result = adjusted(AdjustmentKind.ADDITIVE, actual=1.5, cap_up=0.2)
    assert result.baseline[0, 0] == pytest.approx(2.2)
    assert result.adjustment_capped[0]


def test_an_additive_adjustment_never_makes_the_baseline_negative():
    result = adjusted(AdjustmentKind.ADDITIVE, actual=-5.0 + 1.0)
    assert result.baseline[0, 0] == 0.0


def test_without_data_in_the_adjustment_window_the_baseline_stays_unadjusted():
    result = adjusted(AdjustmentKind.MULTIPLICATIVE, actual=np.nan)
    assert result.baseline[0, 0] == pytest.approx(2.0)
    assert result.adjustment_missing[0]


def test_the_presets_cite_their_published_rules():
    assert set(PRESETS) == {"caiso-10-in-10", "pjm-high-4-of-5", "nyiso-5-of-10"}
    assert "BPM for Metering" in CAISO_10_IN_10.citation
    assert "Manual 11" in PJM_HIGH_4_OF_5.citation
    assert "NYISO" in NYISO_5_OF_10.citation
    assert CAISO_10_IN_10.adjustment.cap_up == 0.2
    assert PJM_HIGH_4_OF_5.adjustment.kind is AdjustmentKind.ADDITIVE
    assert NYISO_5_OF_10.adjustment.ends_before == timedelta(hours=2)


def test_a_rule_survives_a_round_trip_through_a_dict():
    for rule in PRESETS.values():
        assert XofYRule.from_dict(rule.to_dict()) == rule


def test_an_unknown_preset_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match="caiso-10-in-10"):
        preset("ercot-middle-8-of-10")
