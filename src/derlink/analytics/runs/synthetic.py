"""Write a synthetic population to the documented input files (for trials and benchmarks).

Who took part in each event comes as DERMS's outcome file (``OUTCOME_<stamp>_000001.csv``,
stamped at the last event's end): one device per service point (``SYN-HE``, ``NIC-<SPId>``),
called to every event; one that took part is ``D1SP`` over the event's window, one that did
not is ``D1CN`` (cancelled before the event), so that the participants the file gives are the
service points whose load was cut."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time
from pathlib import Path

import polars as pl

from derlink.analytics.kernels.intervals import IntervalBatch
from derlink.analytics.kernels.synthetic import (
    PopulationSpec,
    SyntheticPopulation,
    build_population,
)
from derlink.analytics.measurements.parquet import write_parquet
from derlink.analytics.runs.inputs import events_to_dicts
from derlink.contracts.event_files import OUTCOME_HEADER, outcome_file_name


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
    """measurements.parquet, service_points.csv, events.csv, an outcome file (``outcomes``),
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
        "outcomes": folder / outcome_file_name(max(e.end for e in population.events), 1)
        if population.events
        else folder / outcome_file_name(datetime.combine(chosen.first_day, time(), UTC), 1),
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
    outcome_rows(population).write_csv(paths["outcomes"], null_value="")
    population.temperatures().write_parquet(paths["weather"])
    pl.concat(truths).write_parquet(paths["truth"])
    return paths


def outcome_rows(population: SyntheticPopulation) -> pl.DataFrame:
    """The population's outcome file: every service point called to every event, in event then
    service point order (``RecordId`` running on)."""
    windows = pl.DataFrame(
        {
            "event_id": [e.event_id for e in population.events],
            "start": [e.start.isoformat() for e in population.events],
            "end": [e.end.isoformat() for e in population.events],
        },
        schema={"event_id": pl.Utf8, "start": pl.Utf8, "end": pl.Utf8},
    )
    took = pl.col("takes_part")
    return (
        population.outcomes()
        .join(windows, on="event_id", how="left", maintain_order="left")
        .select(
            pl.int_range(1, pl.len() + 1).cast(pl.Utf8).alias("RecordId"),
            ("DR-" + pl.col("event_id")).alias("EventId"),
            pl.col("event_id").alias("StageId"),
            pl.lit(population.spec.program_id).alias("ProgramId"),
            pl.lit("SYN-HE").alias("HeadEndSystem"),
            ("NIC-" + pl.col("sp_id")).alias("NicId"),
            ("D-" + pl.col("sp_id")).alias("DeviceId"),
            pl.col("sp_id").alias("SPId"),
            pl.when(took).then(pl.lit("D1SP")).otherwise(pl.lit("D1CN")).alias("Outcome"),
            pl.lit("").alias("ErrorMessage"),
            pl.when(took).then(pl.col("start")).alias("ParticipationStartTime"),
            pl.when(took).then(pl.col("end")).alias("ParticipationEndTime"),
            pl.lit(None, pl.Utf8).alias("MeasuredKw"),
        )
        .select(list(OUTCOME_HEADER))
    )
