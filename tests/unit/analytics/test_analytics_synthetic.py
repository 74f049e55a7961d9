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


def test_the_same_seed_gives_the_same_noiseless_loads_whatever_the_batch_size():
    # Only the noiseless load: the noise is drawn per batch (its generator is seeded with the
    # batch's first service point and time zone), so with noise the loads depend on the batch
    # size. Two time zones, so that batches are also reassembled in service point order.
    spec = PopulationSpec(
        service_points=12,
        days=5,
        events=1,
        noise=0.0,
        time_zones=("America/Los_Angeles", "America/New_York"),
    )
    population = build_population(spec)
    whole = next(iter(build_population(spec).batches(spec.service_points)))
    for size in (5, 7):
        parts = list(population.batches(size))
        assert [p.batch.size for p in parts] == [size] * (12 // size) + [12 % size]
        assert (
            np.concatenate([p.batch.sp_ids for p in parts]).tolist() == whole.batch.sp_ids.tolist()
        )
        assert np.array_equal(
            np.concatenate([p.batch.counts() for p in parts]), whole.batch.counts()
        )
        assert np.array_equal(
            np.concatenate([p.batch.start_us for p in parts]), whole.batch.start_us
        )
        assert np.array_equal(np.concatenate([p.batch.kwh for p in parts]), whole.batch.kwh)
        truth = pl.concat([p.truth for p in parts]).sort("event_id", "sp_id")
        assert truth.equals(whole.truth.sort("event_id", "sp_id"))


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
