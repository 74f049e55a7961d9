"""The synthetic population: deterministic, weather driven, with a known saving."""

from __future__ import annotations

import numpy as np
import polars as pl

from derlink.analytics.kernels.synthetic import PopulationSpec, build_population


def test_the_truth_is_the_counterfactual_minus_the_actual_load():
    population = build_population(PopulationSpec(service_points=30, days=20, events=2))
    truth = pl.concat([part.truth for part in population.batches(10)])
    assert truth.height == 30 * 2
    assert np.allclose(truth["saved_kwh"], truth["counterfactual_kwh"] - truth["actual_kwh"])
    takers = truth.filter(pl.col("takes_part"))
    assert (takers["saved_kwh"] > 0).all()
    assert (truth.filter(~pl.col("takes_part"))["saved_kwh"] == 0).all()


def test_the_same_seed_gives_the_same_loads_whatever_the_batch_size():
    population = build_population(PopulationSpec(service_points=12, days=5, events=1))
    small = np.concatenate([p.batch.kwh for p in population.batches(5)])
    large = next(iter(population.batches(100))).batch.kwh
    assert small.shape == large.shape
    first_of_small = next(iter(population.batches(5))).batch
    assert np.array_equal(first_of_small.kwh, next(iter(population.batches(5))).batch.kwh)


def test_events_fall_on_weekdays_at_the_configured_local_hour():
    population = build_population(PopulationSpec(service_points=5, days=30, events=3))
    assert len(population.events) == 3
    for event in population.events:
        assert event.start.weekday() < 5
        assert event.start.hour == 16
        assert (event.end - event.start).total_seconds() == 4 * 3600


def test_every_time_zone_gets_a_whole_local_period():
    spec = PopulationSpec(
        service_points=4, days=3, events=0, time_zones=("America/Los_Angeles", "America/New_York")
    )
    batch = next(iter(build_population(spec).batches(10))).batch
    assert batch.sp_ids.tolist() == sorted(batch.sp_ids.tolist())
    assert batch.counts().tolist() == [72, 72, 72, 72]
    assert batch.start_us[0] != batch.start_us[72]  # local midnights differ
