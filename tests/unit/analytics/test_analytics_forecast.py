"""Load-reduction forecasts: shrinkage toward the program, and the P10–P90 band."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from derlink.analytics.kernels.baselines.regression import RegressionMethod
from derlink.analytics.kernels.baselines.rules import CAISO_10_IN_10
from derlink.analytics.kernels.baselines.xofy import XofYMethod
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


@pytest.fixture(scope="module")
def known_responses():
    """400 service points whose response to the next window is known, drawn as the forecast's
    model has it: each has a true response ratio (mean 0.2, sd 0.06 between service points),
    and each event, past or next, adds its own independent deviation (sd 0.04). The loads are
    the synthetic population's, noiseless and without events, so that the window's true load
    is known: the load the population has there."""
    spec = PopulationSpec(service_points=400, days=46, events=0, noise=0.0, seed=6)
    population = build_population(spec)
    batches = [p.batch for p in population.batches(128)]
    zone = ZoneInfo(spec.time_zones[0])
    day = spec.first_day + timedelta(days=spec.days - 1)
    while day.weekday() >= 5:  # the last weekday: the whole history before it
        day -= timedelta(days=1)
    start = datetime(day.year, day.month, day.day, 16, tzinfo=zone)
    window = Event("NEXT", spec.program_id, "X1RE", start, start + timedelta(hours=4))
    rng = np.random.default_rng(1006)
    ids = population.sp_ids
    ratio = rng.normal(0.2, 0.06, len(ids))
    past_events = rng.integers(0, 6, len(ids))  # newcomers (0) to regulars (5)
    history_ids = np.repeat(ids, past_events).tolist()
    past = np.repeat(ratio, past_events) + rng.normal(0.0, 0.04, len(history_ids))
    history = kwh_rows(list(zip(history_ids, 10.0 * (1.0 - past), 10.0 * past, strict=True)))
    realized_ratio = ratio + rng.normal(0.0, 0.04, len(ids))
    # The window's true load (kWh of an hour: its mean kW), the reduction expected of each
    # service point (its true ratio) and the one it makes (with the next event's deviation).
    rows = pl.concat([p.to_frame() for p in batches]).filter(
        pl.col("start").dt.epoch("us").is_between(window.start_us, window.end_us, closed="left")
    )
    truth = rows.join(
        pl.DataFrame({"sp_id": ids, "ratio": ratio, "realized": realized_ratio}), on="sp_id"
    ).select(
        "sp_id",
        pl.col("start").dt.epoch("us").alias("start_us"),
        (pl.col("kwh") * pl.col("ratio")).alias("true_kw"),
        (pl.col("kwh") * pl.col("realized")).alias("realized_kw"),
    )
    context = Population(
        service_points=ServicePoints(population.service_points()),
        weather=Weather.from_frame(population.temperatures()),
    )
    return batches, context, window, ResponseStats.from_history(history), truth


def band_rows(run):
    """One row per service point per interval: ``sp_id, start_us, expected, p10, p90`` (kW)."""
    parts = [
        pl.DataFrame(
            {
                "sp_id": g.sp_ids.tolist(),
                "start_us": [int(s)] * len(g.sp_ids),
                "expected": g.expected_kw[:, k],
                "p10": g.p10_kw[:, k],
                "p90": g.p90_kw[:, k],
            }
        )
        for g in run.groups
        for k, s in enumerate(g.interval_starts_us.tolist())
    ]
    return pl.concat(parts)


# Measured on this world (seed 6): the P10–P90 band holds 79.1 % of the realized reductions
# with the regression, whose load is nearly exact here, and 78.9 % with CAISO's like days; the
# total expected reduction is within 0.3 % (regression) and 2.5 % (like days) of the true one,
# each service point's within 11.7 % and 15.9 % on average (the shrinkage of a few events).
# Over seeds 1–20 of the same world: coverage 74–84 % (regression) and 67–82 % (like days, whose
# load misses the window's weather: the band has the like days' spread, not the weather's),
# totals within 1.8 % and 16 %, service points within 13 % and 23 %. With 400 service points
# the coverage varies by about 2 points (binomial), so the bounds are 80 % ± 8 points for the
# regression, and the like days' range over the seeds with a little room; the errors' bounds
# are their largest over the seeds with a little room.
@pytest.mark.parametrize(
    ("method", "coverage", "total_error", "point_error"),
    [
        (XofYMethod(CAISO_10_IN_10), (0.64, 0.88), 0.18, 0.26),
        (RegressionMethod(), (0.72, 0.88), 0.03, 0.15),
    ],
)
def test_a_forecast_has_a_band_around_the_expected_reduction(
    known_responses, method, coverage, total_error, point_error
):
    batches, context, window, responses, truth = known_responses
    run = forecast_window(
        batches, window=window, responses=responses, population=context, method=method
    )
    frame = run.frame()
    assert frame.columns[: len(FORECAST_HEAD)] == FORECAST_HEAD
    assert frame.height == 400
    assert {"ExpectedKw4", "P10Kw4", "P90Kw4"} <= set(frame.columns)
    assert (frame["P10Kw1"] <= frame["ExpectedKw1"]).all()
    assert (frame["ExpectedKw1"] <= frame["P90Kw1"]).all()
    joined = band_rows(run).join(truth, on=["sp_id", "start_us"])
    assert joined.height == 400 * 4
    inside = (joined["p10"] <= joined["realized_kw"]) & (joined["realized_kw"] <= joined["p90"])
    low, high = coverage
    assert low <= inside.mean() <= high
    true_total = joined["true_kw"].sum()
    assert abs(joined["expected"].sum() - true_total) <= total_error * true_total
    error = (joined["expected"] - joined["true_kw"]).abs().mean()
    assert error <= point_error * joined["true_kw"].mean()


def test_the_regression_can_predict_the_load_with_forecast_temperatures(world):
    batches, context, window = world
    stats = ResponseStats.from_history(kwh_rows([]), default_ratio=0.2)
    frame = forecast_window(
        batches, window=window, responses=stats, population=context, method=RegressionMethod()
    ).frame()
    assert frame.height == 40
    assert frame["ResponseRatio"].to_list() == [0.2] * 40
