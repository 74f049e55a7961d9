"""Write a synthetic population to the documented input files (for trials and benchmarks)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

from derlink.analytics.kernels.intervals import IntervalBatch
from derlink.analytics.kernels.synthetic import PopulationSpec, build_population
from derlink.analytics.measurements.parquet import write_parquet
from derlink.analytics.runs.inputs import events_to_dicts


def write_population(
    folder: Path,
    *,
    service_points: int,
    days: int = 46,
    events: int = 3,
    seed: int = 7,
    sps_per_batch: int = 8192,
    progress: Callable[[int], None] | None = None,
    spec: PopulationSpec | None = None,
) -> dict[str, Path]:
    """measurements.parquet, service_points.csv, events.csv, participation.csv,
    weather.parquet and truth.parquet (the known saving per service point per event)."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen = spec or PopulationSpec(
        service_points=service_points, days=days, events=events, seed=seed, final_event=True
    )
    population = build_population(chosen)
    paths = {
        "measurements": folder / "measurements.parquet",
        "service_points": folder / "service_points.csv",
        "events": folder / "events.csv",
        "participation": folder / "participation.csv",
        "weather": folder / "weather.parquet",
        "truth": folder / "truth.parquet",
    }
    truths: list[pl.DataFrame] = []

    def batches() -> Iterator[IntervalBatch]:
        for part in population.batches(sps_per_batch):
            truths.append(part.truth)
            yield part.batch
            if progress is not None:
                progress(part.batch.size)

    write_parquet(batches(), paths["measurements"])
    population.service_points().rename(
        {
            "sp_id": "SPId",
            "time_zone": "TimeZone",
            "program_id": "ProgramId",
            "station_id": "StationId",
        }
    ).write_csv(paths["service_points"])
    pl.DataFrame(events_to_dicts(population.events)).write_csv(paths["events"])
    population.participation().rename({"event_id": "EventId", "sp_id": "SPId"}).write_csv(
        paths["participation"]
    )
    population.temperatures().write_parquet(paths["weather"])
    pl.concat(truths).write_parquet(paths["truth"])
    return paths
