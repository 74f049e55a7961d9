"""kWh avoided as a run: one event's measurements in, its kWh avoided, kW drop and warnings
files out (Oracle's layouts, docs/contracts/analytics-files.md).

The baseline method is the one the program methods file names for the event's program, else
the one asked for. The files are named ``KWHAVOIDED_``, ``KWDROP_`` and ``WARNINGS_`` followed
by the event id and the UTC time they were written, so that a run never overwrites another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from derlink.analytics.kernels.baselines.methods import method_of
from derlink.analytics.kernels.events import Event
from derlink.analytics.kernels.groups import Population
from derlink.analytics.kernels.kwh_avoided import KwhAvoidedRun, event_kwh_avoided
from derlink.analytics.kernels.sufficiency import WarningLog
from derlink.analytics.runs.inputs import (
    find_event,
    program_method,
    read_events,
    read_participants,
)
from derlink.analytics.runs.outputs import write_csv
from derlink.analytics.runs.population import RunInputs, read_population
from derlink.analytics.runs.progress import Progress, tracked_batches


@dataclass(frozen=True)
class KwhAvoided:
    """A computed kWh avoided (or baselines) run: the kernel's result and every warning,
    reading included."""

    run: KwhAvoidedRun
    warnings: WarningLog


@dataclass(frozen=True)
class KwhAvoidedFiles:
    """Where a kWh avoided run wrote its three files."""

    kwh_avoided: Path
    kw_drop: Path
    warnings: Path


def compute_kwh_avoided(
    *,
    measurements: Path,
    events: Path,
    event_id: str,
    method: str,
    program_methods: Path | None,
    inputs: RunInputs,
    batch_size: int,
    progress: Progress,
) -> KwhAvoided:
    """kWh avoided of the event ``event_id`` for its participants: the ones the participation
    file lists for it, else the service points of its program.

    Raises ``UnknownEvent`` and ``UnknownMethod`` (``ValueError``s) for a name not found, and
    ``AnalyticsError`` for a file that cannot be used.
    """
    all_events = read_events(events)
    event = find_event(all_events, event_id)
    chosen = method
    if program_methods is not None:
        chosen = program_method(program_methods, event.program_id, method)
    population = read_population(inputs, all_events)
    participants = None
    if inputs.participation is not None:
        participants = read_participants(inputs.participation, event_id)
    return kwh_avoided_over(
        measurements,
        event=event,
        method=chosen,
        population=population,
        participants=participants,
        label=f"{event_id} ({chosen})",
        batch_size=batch_size,
        progress=progress,
    )


def kwh_avoided_over(
    measurements: Path,
    *,
    event: Event,
    method: str,
    population: Population,
    participants: frozenset[str] | None,
    label: str,
    batch_size: int,
    progress: Progress,
) -> KwhAvoided:
    """The kernel over the measurement file's batches, under the method named ``method``, its
    warnings after the reading's. (The baselines run is this too, for the program.)"""
    log = WarningLog()
    run = event_kwh_avoided(
        tracked_batches(measurements, batch_size, log, label, progress),
        event=event,
        method=method_of(method),
        population=population,
        participants=participants,
    )
    log.extend(run.warnings)
    return KwhAvoided(run, log)


def write_kwh_avoided(result: KwhAvoided, out_dir: Path) -> KwhAvoidedFiles:
    """Write the kWh avoided, kW drop and warnings files into ``out_dir``."""
    stem = f"{result.run.event.event_id}_{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    return KwhAvoidedFiles(
        kwh_avoided=write_csv(result.run.kwh_avoided(), out_dir / f"KWHAVOIDED_{stem}.csv"),
        kw_drop=write_csv(result.run.kw_drop(), out_dir / f"KWDROP_{stem}.csv"),
        warnings=write_csv(result.warnings.to_frame(), out_dir / f"WARNINGS_{stem}.csv"),
    )


@dataclass(frozen=True)
class WarningKind:
    """One kind of warning of a run: how many service points it concerns, and the first few."""

    name: str
    description: str
    service_points: int
    examples: list[str]


@dataclass(frozen=True)
class RunSummary:
    """What a kWh avoided run settled, said at its end."""

    participants: int
    settled: int
    without_baseline: int
    total_kwh_avoided: float
    warnings: list[WarningKind]


def summarize(result: KwhAvoided, *, examples: int = 3) -> RunSummary:
    """The run's summary: service points settled and without a baseline, the total kWh
    avoided, and each kind of warning with the first ``examples`` service points it names."""
    savings = result.run.savings
    participants = sum(len(s.sp_ids) for s in savings)
    settled = sum(int(s.with_baseline().sum()) for s in savings)
    frame = result.run.kwh_avoided()
    total = float(frame["TotalKwhSavedForPeriod"].sum()) if frame.height else 0.0
    kinds = []
    found = result.warnings.to_frame()
    if found.height:
        grouped = (
            found.group_by("qualified_name", maintain_order=True)
            .agg(
                pl.col("description").first(),
                pl.col("sp_id").n_unique().alias("service_points"),
                pl.col("sp_id").unique(maintain_order=True).head(examples).alias("examples"),
            )
            .sort("service_points", descending=True)
        )
        kinds = [
            WarningKind(r["qualified_name"], r["description"], r["service_points"], r["examples"])
            for r in grouped.iter_rows(named=True)
        ]
    return RunSummary(participants, settled, participants - settled, round(total, 4), kinds)
