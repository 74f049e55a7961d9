"""Load-reduction forecasts: shrinkage toward the program, and the P10–P90 band."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from derlink.analytics.kernels.baselines.regression import RegressionMethod
from derlink.analytics.kernels.events import Event, EventHistory, ServicePoints
from derlink.analytics.kernels.forecast import FORECAST_HEAD, ResponseStats, forecast_window
from derlink.analytics.kernels.groups import Population
from derlink.analytics.kernels.synthetic import PopulationSpec, build_population
from derlink.analytics.kernels.weather import Weather


def kwh_rows(rows):
    return pl.DataFrame(
        {
            "SPId": [r[0] for r in rows],
            "TotalKwh": [r[1] for r in rows],
            "TotalKwhSavedForPeriod": [r[2] for r in rows],
        }
    )


def test_response_ratios_are_shrunk_toward_the_program_mean():
    stats = ResponseStats.from_history(
        kwh_rows(
            [("A", 8.0, 2.0), ("A", 7.0, 3.0), ("A", 9.0, 1.0), ("B", 10.0, 0.0), ("B", 9.0, 1.0)]
        )
    )
    events, ratio, sd = stats.shrunk(np.asarray(["A", "B", "NEW"], dtype=object))
    assert events.tolist() == [3, 2, 0]
    assert ratio[2] == pytest.approx(stats.program_mean)
    assert min(0.2, stats.program_mean) <= ratio[0] <= 0.2  # A's own mean is 0.2
    assert sd[2] > sd[0]  # a newcomer is less certain


def test_without_history_every_service_point_gets_the_default_ratio():
    stats = ResponseStats.from_history(kwh_rows([]), default_ratio=0.15)
    _, ratio, _ = stats.shrunk(np.asarray(["A"], dtype=object))
    assert ratio.tolist() == [0.15]


@pytest.fixture(scope="module")
def world():
    population = build_population(PopulationSpec(service_points=40, days=46, events=2, seed=5))
    batches = [p.batch for p in population.batches(20)]
    context = Population(
        service_points=ServicePoints(population.service_points()),
        history=EventHistory(population.events, population.participation()),
        weather=Weather.from_frame(population.temperatures()),
    )
    last = population.events[-1]
    window = Event(
        "NEXT",
        last.program_id,
        "X1RE",
        last.start + timedelta(days=1),
        last.end + timedelta(days=1),
    )
    return batches, context, window


def test_a_forecast_has_a_band_around_the_expected_reduction(world):
    batches, context, window = world
    stats = ResponseStats.from_history(kwh_rows([("SP00000000", 8.0, 2.0)]), default_ratio=0.2)
    run = forecast_window(batches, window=window, responses=stats, population=context)
    frame = run.frame()
    assert frame.columns[: len(FORECAST_HEAD)] == FORECAST_HEAD
    assert frame.height == 40
    assert {"ExpectedKw4", "P10Kw4", "P90Kw4"} <= set(frame.columns)
    assert (frame["P10Kw1"] <= frame["ExpectedKw1"]).all()
    assert (frame["ExpectedKw1"] <= frame["P90Kw1"]).all()
    assert frame["ExpectedKw1"].mean() > 0


def test_the_regression_can_predict_the_load_with_forecast_temperatures(world):
    batches, context, window = world
    stats = ResponseStats.from_history(kwh_rows([]), default_ratio=0.2)
    frame = forecast_window(
        batches, window=window, responses=stats, population=context, method=RegressionMethod()
    ).frame()
    assert frame.height == 40
    assert frame["ResponseRatio"].to_list() == [0.2] * 40
