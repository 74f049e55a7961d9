"""kWh avoided as a run: events' measurements in, their kWh avoided, kW drop and warnings files
out (Oracle's layouts, docs/contracts/analytics-files.md).

One run settles several events under several methods in one pass over the measurements. An
event's methods are the one the program methods file names for its program, else the ones asked
for; ``params`` change the methods' parameters (``methods.method_of``). The files are named
``KWHAVOIDED_``, ``KWDROP_`` and ``WARNINGS_`` followed by the event id, the method and the UTC
time they were written, so that a run never overwrites another.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from derlink.analytics.kernels.baselines.methods import BaselineMethod, method_of
from derlink.analytics.kernels.events import Event
from derlink.analytics.kernels.groups import Population
from derlink.analytics.kernels.kwh_avoided import KwhAvoidedRun, Settlement, settle_all
from derlink.analytics.kernels.sufficiency import ERRORS, WarningLog
from derlink.analytics.runs.inputs import find_event, program_method, read_events
from derlink.analytics.runs.outputs import write_csv
from derlink.analytics.runs.population import RunInputs, read_population, require_weather
from derlink.analytics.runs.progress import Progress, tracked_batches
from derlink.analytics.runs.summary import WarningKind, warning_kinds


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


@dataclass(frozen=True)
class Asked:
    """What a kWh avoided run is asked to settle: events, methods and their parameters."""

    event_ids: Sequence[str]
    methods: Sequence[str]
    program_methods: Path | None = None
    params: Mapping[str, str] | None = None


def method_label(name: str, params: Mapping[str, str] | None) -> str:
    """A method's name with the parameters a run changed: ``caiso-10-in-10[lookback_days=30]``."""
    if not params:
        return name
    return f"{name}[{','.join(f'{k}={v}' for k, v in params.items())}]"


def _method_names(event: Event, asked: Asked) -> list[str]:
    """The methods ``event`` is settled under: its program's, else the ones asked for."""
    if asked.program_methods is not None:
        return [program_method(asked.program_methods, event.program_id, asked.methods[0])]
    return list(dict.fromkeys(asked.methods))


def _asked_for(
    events: Sequence[Event], asked: Asked, inputs: RunInputs
) -> list[tuple[Event, BaselineMethod, str]]:
    """Each (event, method, its label) to settle, in the order asked."""
    chosen = [
        (e, _method_names(e, asked)) for e in (find_event(events, i) for i in asked.event_ids)
    ]
    require_weather(inputs, [name for _, names in chosen for name in names])
    return [
        (event, method_of(name, asked.params), method_label(name, asked.params))
        for event, names in chosen
        for name in names
    ]


def compute_kwh_avoided(
    *,
    measurements: Path,
    events: Path,
    asked: Asked,
    inputs: RunInputs,
    batch_size: int,
    progress: Progress,
) -> list[KwhAvoided]:
    """kWh avoided of each event asked for, under each method, for its participants: the
    service points the outcome files give as taking part in it, else (an event they do not
    list, or no outcome file) the service points of its program. One pass over the
    measurements; one result per (event, method), in the order asked.

    Raises ``UnknownEvent``, ``UnknownMethod`` and ``UnknownParameter`` (``ValueError``s) for a
    name not found, ``MissingWeather`` for the regression without weather, and
    ``AnalyticsError`` for a file that cannot be used.
    """
    all_events = read_events(events)
    chosen = _asked_for(all_events, asked, inputs)
    log = WarningLog()
    population = read_population(inputs, all_events, warnings=log)
    settlements = [
        Settlement(event, method, label, population.history.participants(event.event_id))
        for event, method, label in chosen
    ]
    return settle_over(
        measurements,
        settlements,
        log,
        population=population,
        label=", ".join(f"{s.event.event_id} ({s.method_name})" for s in settlements),
        batch_size=batch_size,
        progress=progress,
        naive_zone=inputs.timestamps_zone,
    )


def settle_over(
    measurements: Path,
    settlements: Sequence[Settlement],
    log: WarningLog,
    *,
    population: Population,
    label: str,
    batch_size: int,
    progress: Progress,
    naive_zone: str | None,
) -> list[KwhAvoided]:
    """The kernel over the measurement file's batches for each settlement, each one's warnings
    after the reading's (``log``, which may hold the other inputs' already). (The baselines run
    is this too, for the program.)"""
    runs = settle_all(
        tracked_batches(measurements, batch_size, log, label, progress, naive_zone),
        settlements,
        population,
    )
    results = []
    for run in runs:
        warnings = WarningLog()
        warnings.extend(log)
        warnings.extend(run.warnings)
        results.append(KwhAvoided(run, warnings))
    return results


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")


def write_kwh_avoided(result: KwhAvoided, out_dir: Path) -> KwhAvoidedFiles:
    """Write the kWh avoided, kW drop and warnings files into ``out_dir``."""
    run = result.run
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    stem = f"{_safe(run.event.event_id)}_{_safe(run.method)}_{stamp}"
    return KwhAvoidedFiles(
        kwh_avoided=write_csv(run.kwh_avoided(), out_dir / f"KWHAVOIDED_{stem}.csv"),
        kw_drop=write_csv(run.kw_drop(), out_dir / f"KWDROP_{stem}.csv"),
        warnings=write_csv(result.warnings.to_frame(), out_dir / f"WARNINGS_{stem}.csv"),
    )


@dataclass(frozen=True)
class RunSummary:
    """What a kWh avoided run settled for one event under one method, said at its end."""

    event_id: str
    method: str
    participants: int
    settled: int
    without_baseline: int
    #: Participants with an error (no time zone, no measurements, conflicting readings).
    errors: int
    total_kwh_avoided: float
    warnings: list[WarningKind]


def summarize(result: KwhAvoided) -> RunSummary:
    """The run's summary: service points settled, without a baseline and in error, the total
    kWh avoided, and each kind of warning with the first service points it names."""
    run = result.run
    settled = sum(int(s.with_baseline().sum()) for s in run.savings)
    frame = run.kwh_avoided()
    total = float(frame["TotalKwhSavedForPeriod"].sum()) if frame.height else 0.0
    return RunSummary(
        run.event.event_id,
        run.method,
        run.participants,
        settled,
        run.participants - settled,
        len(result.warnings.service_points_with(ERRORS)),
        round(total, 4),
        warning_kinds(result.warnings),
    )
