"""The CalTRACK-hourly regression, fitted for many service points at once."""

from __future__ import annotations

import numpy as np
import pytest

from derlink.analytics.kernels.baselines.regression import (
    HourlyModels,
    RegressionMethod,
    _fit_bins,
    fit_hourly,
    hourly_from_grid,
    hours_of_week,
)
from derlink.analytics.kernels.localtime import US_PER_SECOND

HOURS = 24 * 7 * 6


def temperatures(n: int, hours: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hour = np.arange(hours)
    return 72 + 12 * np.sin(2 * np.pi * (hour - 9) / 24)[None, :] + rng.normal(0, 4, (n, hours))


def test_a_load_from_the_model_family_is_recovered_exactly():
    how = np.arange(HOURS) % 168
    t = temperatures(3, HOURS)
    profile = 1.0 + 0.5 * np.sin(2 * np.pi * how / 24)
    load = profile[None, :] + np.asarray([[0.05], [0.1], [0.0]]) * np.maximum(t - 75.0, 0.0)
    models = fit_hourly(np.asarray(["A", "B", "C"], dtype=object), load, t, how)
    t_new = temperatures(3, 168, seed=1)
    expected = profile[None, :168] + np.asarray([[0.05], [0.1], [0.0]]) * np.maximum(
        t_new - 75.0, 0.0
    )
    assert models.predict(t_new, how[:168]) == pytest.approx(expected, abs=1e-8)


def test_bins_with_too_few_hours_are_dropped_from_the_outside_in():
    t = np.concatenate([np.full(25, 50.0), np.full(25, 60.0), np.full(25, 70.0), [20.0]])[None, :]
    keep = _fit_bins(t, np.ones_like(t, dtype=bool), (30.0, 45.0, 55.0, 65.0, 75.0, 90.0), 20)
    # (−∞,30] holds one hour → 30 goes; (90,∞) and (75,90] are empty → 90 then 75 go;
    # (30,45] then holds the single 20 °F hour → 45 goes too.
    assert keep.tolist() == [[False, False, True, True, False, False]]


def test_zero_readings_are_missing_like_in_eemeter():
    how = np.arange(HOURS) % 168
    t = temperatures(1, HOURS)
    load = np.full((1, HOURS), 2.0)
    load[0, :168] = 0.0  # a week of zeros would drag a fit down if counted
    models = fit_hourly(np.asarray(["A"], dtype=object), load, t, how)
    assert models.predict(t[:, :24], how[:24]) == pytest.approx(np.full((1, 24), 2.0))
    assert models.training_hours.tolist() == [HOURS - 168]


def test_too_little_training_data_gives_no_prediction():
    how = np.arange(HOURS) % 168
    t = temperatures(1, HOURS)
    training = np.zeros((1, HOURS), dtype=bool)
    training[0, :100] = True
    models = fit_hourly(
        np.asarray(["A"], dtype=object), np.ones((1, HOURS)), t, how, RegressionMethod(), training
    )
    assert np.isnan(models.predict(t[:, :5], how[:5])).all()


def test_models_survive_a_round_trip_through_a_dict():
    how = np.arange(HOURS) % 168
    t = temperatures(2, HOURS)
    load = 1.0 + 0.1 * np.maximum(t - 70.0, 0.0)
    models = fit_hourly(np.asarray(["A", "B"], dtype=object), load, t, how)
    again = HourlyModels.from_dict(models.to_dict())
    assert again.predict(t[:, :48], how[:48]) == pytest.approx(models.predict(t[:, :48], how[:48]))


def test_hours_of_the_week_are_local():
    # 2026-07-06 is a Monday; 07:00 UTC is midnight in Los Angeles (PDT)
    start = 1_783_321_200 * US_PER_SECOND
    how = hours_of_week(start + np.arange(3) * 3600 * US_PER_SECOND, "America/Los_Angeles")
    assert how.tolist() == [0, 1, 2]


def test_sub_hourly_intervals_are_summed_into_hours():
    kwh = np.asarray([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]])
    assert hourly_from_grid(kwh, 900).tolist() == [[10.0, 26.0]]
