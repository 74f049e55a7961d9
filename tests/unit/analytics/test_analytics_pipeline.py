"""Settling an event over a small in-memory population, end to end."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from derlink.analytics.kernels import sufficiency
from derlink.analytics.kernels.baselines.regression import RegressionMethod
from derlink.analytics.kernels.baselines.rules import CAISO_10_IN_10, PJM_HIGH_4_OF_5
from derlink.analytics.kernels.baselines.xofy import XofYMethod
from derlink.analytics.kernels.events import EventHistory, ServicePoints
from derlink.analytics.kernels.groups import Population
from derlink.analytics.kernels.intervals import IntervalBatch
from derlink.analytics.kernels.kwh_avoided import event_kwh_avoided
from derlink.analytics.kernels.synthetic import PopulationSpec, build_population
from derlink.analytics.kernels.weather import Weather

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


# The mean absolute error of TotalKwhSavedForPeriod against the true saving, as a share of the
# mean true saving, is what each method achieves on this population: 0.304 (CAISO), 0.422 (PJM)
# and 0.0044 (the regression), measured. The X-of-Y errors are the rules' own: the events fall
# on the hottest days, hotter than the like days, and the day-of adjustments are capped. The
# population is noiseless and seeded, so the figures are exact, not a sample; the bounds add
# about a tenth (X-of-Y) and 0.0016 (the regression, whose batched pseudo-inverse may round
# differently with another BLAS) for floating-point differences between machines.
@pytest.mark.parametrize(
    ("method", "bound"),
    [
        (XofYMethod(CAISO_10_IN_10), 0.33),
        (XofYMethod(PJM_HIGH_4_OF_5), 0.46),
        (RegressionMethod(), 0.006),
    ],
)
def test_every_participant_gets_a_row_with_a_saving_near_the_truth(world, method, bound):
    population, batches, truth, context = world
    event = population.events[-1]
    chosen = participants(population, event)
    run = event_kwh_avoided(
        batches, event=event, method=method, population=context, participants=chosen
    )
    frame = run.kwh_avoided()
    assert set(frame["SPId"].to_list()) == chosen
    joined = frame.join(
        truth.filter(pl.col("event_id") == event.event_id), left_on="SPId", right_on="sp_id"
    )
    error = (joined["TotalKwhSavedForPeriod"] - joined["saved_kwh"]).abs().mean()
    assert error < bound * joined["saved_kwh"].mean()


def test_the_regression_baseline_is_close_to_the_noiseless_counterfactual(world):
    population, batches, truth, context = world
    event = population.events[-1]
    run = event_kwh_avoided(
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
    run = event_kwh_avoided(
        [*batches, lonely],
        event=population.events[-1],
        method=XofYMethod(CAISO_10_IN_10),
        population=context,
    )
    assert "ZZ" not in run.kwh_avoided()["SPId"].to_list()
    # Not in the service point file either: no time zone, and none stated for the run.
    assert {w.qualified_name for w in run.warnings.for_sp("ZZ")} == {
        sufficiency.NO_DATA,
        sufficiency.NO_TIME_ZONE,
    }


def renamed(batch, sp_id):
    """The first service point of ``batch`` under another id (one the service points lack)."""
    rows = int(batch.offsets[1])
    return IntervalBatch(
        np.asarray([sp_id], dtype=object),
        np.asarray([0, rows]),
        batch.start_us[:rows],
        batch.kwh[:rows],
    )


def test_a_service_point_without_a_time_zone_is_an_error_unless_the_run_states_one(world):
    population, batches, _, context = world
    stranger = renamed(batches[0], "ZZ-NO-ZONE")
    event = population.events[-1]

    def run_with(points):
        return event_kwh_avoided(
            [stranger],
            event=event,
            method=XofYMethod(CAISO_10_IN_10),
            population=Population(service_points=points, history=EventHistory(population.events)),
            participants=frozenset({"ZZ-NO-ZONE"}),
        )

    unzoned = run_with(context.service_points)
    assert unzoned.kwh_avoided().is_empty()
    (warning,) = unzoned.warnings.for_sp("ZZ-NO-ZONE")
    assert warning.qualified_name == sufficiency.NO_TIME_ZONE
    assert unzoned.warnings.to_frame()["severity"].to_list() == ["error"]
    zoned = run_with(ServicePoints(population.service_points(), "America/Los_Angeles"))
    assert zoned.kwh_avoided()["SPId"].to_list() == ["ZZ-NO-ZONE"]


def test_without_a_participation_list_the_programs_service_points_are_settled(world):
    population, batches, _, context = world
    run = event_kwh_avoided(
        batches, event=population.events[-1], method=XofYMethod(CAISO_10_IN_10), population=context
    )
    assert run.kwh_avoided().height == SPEC.service_points
    assert run.service_points == SPEC.service_points


def test_progress_is_reported_per_batch(world):
    population, batches, _, context = world
    seen: list[int] = []
    event_kwh_avoided(
        batches,
        event=population.events[-1],
        method=XofYMethod(CAISO_10_IN_10),
        population=context,
        progress=seen.append,
    )
    assert seen == [25, 25, 10]


def test_service_points_are_found_in_order_out_of_order_and_not_at_all():
    points = ServicePoints(
        pl.DataFrame(
            {
                "sp_id": ["B", "A", "C"],
                "time_zone": ["America/New_York", None, "Asia/Tokyo"],
                "program_id": ["P1", "P2", None],
            }
        ),
        default_time_zone="UTC",
    )
    zones, programs, stations = points.lookup(np.asarray(["A", "B", "C"], dtype=object))
    assert zones.tolist() == ["UTC", "America/New_York", "Asia/Tokyo"]
    assert programs.tolist() == ["P2", "P1", None]
    zones, programs, _ = points.lookup(np.asarray(["C", "Z", "A"], dtype=object))
    assert zones.tolist() == ["Asia/Tokyo", "UTC", "UTC"]
    assert programs.tolist() == [None, None, "P2"]
    assert "A" in points and "Z" not in points
    assert stations.tolist() == [None, None, None]


def test_an_event_day_is_excluded_only_for_the_service_points_that_took_part():
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from derlink.analytics.kernels.events import Event
    from derlink.analytics.kernels.localtime import day_number

    la = ZoneInfo("America/Los_Angeles")
    listed = Event("E1", "P", "X1RE", datetime(2026, 7, 6, 16, tzinfo=la),
                   datetime(2026, 7, 6, 20, tzinfo=la))  # fmt: skip
    program_wide = Event("E2", "P", "X1RE", datetime(2026, 7, 7, 16, tzinfo=la),
                         datetime(2026, 7, 7, 20, tzinfo=la))  # fmt: skip
    history = EventHistory(
        [listed, program_wide], pl.DataFrame({"event_id": ["E1"], "sp_id": ["B"]})
    )
    days = np.asarray([day_number(date(2026, 7, d)) for d in (8, 7, 6)])
    out = history.excluded_days(
        np.asarray(["A", "B", "C"], dtype=object),
        np.asarray(["P", "P", "OTHER"], dtype=object),
        "America/Los_Angeles",
        days,
    )
    assert out.tolist() == [
        [False, True, False],  # A: only the program-wide event
        [False, True, True],  # B: both
        [False, False, False],  # C: another program, not listed
    ]


def test_event_intervals_without_a_reading_are_named(world):
    population, batches, _, context = world
    event = population.events[-1]
    first = batches[0]
    rows = int(first.offsets[1])
    at = int(np.flatnonzero(first.start_us[:rows] == event.start_us)[0]) + 1  # second interval
    kwh = first.kwh.copy()
    kwh[at] = np.nan
    holed = IntervalBatch(first.sp_ids[:1], first.offsets[:2], first.start_us[:rows], kwh[:rows])
    run = event_kwh_avoided(
        [holed], event=event, method=XofYMethod(CAISO_10_IN_10), population=context
    )
    (warning,) = [
        w
        for w in run.warnings.for_sp(str(first.sp_ids[0]))
        if w.qualified_name == sufficiency.EVENT_DATA_MISSING
    ]
    stamp = np.datetime_as_string(np.datetime64(int(first.start_us[at]), "us"), unit="s")
    assert (warning.data["count"], warning.data["detail"]) == (1, f"{stamp}Z")
