"""Settling an event over a small in-memory population, end to end."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from derlink.analytics import sufficiency
from derlink.analytics.baselines.regression import RegressionMethod
from derlink.analytics.baselines.rules import CAISO_10_IN_10, PJM_HIGH_4_OF_5
from derlink.analytics.events import EventHistory, ServicePoints
from derlink.analytics.measurements import IntervalBatch
from derlink.analytics.pipeline import Population, settle_event
from derlink.analytics.synthetic import PopulationSpec, build_population
from derlink.analytics.weather import Weather

SPEC = PopulationSpec(service_points=60, days=46, events=3, noise=0.0, seed=3)


@pytest.fixture(scope="module")
def world():
    population = build_population(SPEC)
    parts = list(population.batches(25))
    truth = pl.concat([p.truth for p in parts])
    context = Population(
        service_points=ServicePoints(population.service_points()),
        history=EventHistory(population.events, population.participation()),
        weather=Weather.from_frame(population.temperatures()),
    )
    return population, [p.batch for p in parts], truth, context


def participants(population, event):
    frame = population.participation().filter(pl.col("event_id") == event.event_id)
    return frozenset(frame["sp_id"].to_list())


@pytest.mark.parametrize("method", [CAISO_10_IN_10, PJM_HIGH_4_OF_5, RegressionMethod()])
def test_every_participant_gets_a_row_with_a_saving_near_the_truth(world, method):
    population, batches, truth, context = world
    event = population.events[-1]
    chosen = participants(population, event)
    run = settle_event(batches, event=event, method=method, population=context, participants=chosen)
    frame = run.kwh_avoided()
    assert set(frame["SPId"].to_list()) == chosen
    joined = frame.join(
        truth.filter(pl.col("event_id") == event.event_id), left_on="SPId", right_on="sp_id"
    )
    error = (joined["TotalKwhSavedForPeriod"] - joined["saved_kwh"]).abs().mean()
    assert error < 0.6 * joined["saved_kwh"].mean()


def test_the_regression_baseline_is_close_to_the_noiseless_counterfactual(world):
    population, batches, truth, context = world
    event = population.events[-1]
    run = settle_event(
        batches,
        event=event,
        method=RegressionMethod(),
        population=context,
        participants=participants(population, event),
    )
    joined = run.kwh_avoided().join(
        truth.filter(pl.col("event_id") == event.event_id), left_on="SPId", right_on="sp_id"
    )
    relative = (joined["TotalKwhSavedForPeriod"] - joined["saved_kwh"]).abs() / joined[
        "counterfactual_kwh"
    ]
    assert relative.median() < 0.05


def test_a_service_point_with_one_reading_is_reported_not_settled(world):
    population, batches, _, context = world
    lonely = IntervalBatch(
        np.asarray(["ZZ"], dtype=object),
        np.asarray([0, 1]),
        batches[0].start_us[:1],
        batches[0].kwh[:1],
    )
    run = settle_event(
        [*batches, lonely],
        event=population.events[-1],
        method=CAISO_10_IN_10,
        population=context,
    )
    assert "ZZ" not in run.kwh_avoided()["SPId"].to_list()
    assert [w.qualified_name for w in run.warnings.for_sp("ZZ")] == [sufficiency.NO_DATA]


def test_without_a_participation_list_the_programs_service_points_are_settled(world):
    population, batches, _, context = world
    run = settle_event(
        batches, event=population.events[-1], method=CAISO_10_IN_10, population=context
    )
    assert run.kwh_avoided().height == SPEC.service_points
    assert run.service_points == SPEC.service_points


def test_progress_is_reported_per_batch(world):
    population, batches, _, context = world
    seen: list[int] = []
    settle_event(
        batches,
        event=population.events[-1],
        method=CAISO_10_IN_10,
        population=context,
        progress=seen.append,
    )
    assert seen == [25, 25, 10]
