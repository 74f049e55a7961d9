"""Forecast as a run: the measurements and past kWh avoided files in, the expected kW reduction
per service point for a coming window out, with its P10–P90 band (and a ``_warnings`` file).

The past kWh avoided files give each service point's response; the past events file, the days
baselines skip. The layout is in docs/contracts/analytics-files.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from derlink.analytics.kernels.baselines.methods import method_of
from derlink.analytics.kernels.events import Event
from derlink.analytics.kernels.forecast import ForecastRun, ResponseStats, forecast_window
from derlink.analytics.kernels.sufficiency import ERRORS, WarningLog
from derlink.analytics.runs.inputs import read_events, read_kwh_avoided_totals
from derlink.analytics.runs.outputs import write_csv
from derlink.analytics.runs.population import RunInputs, read_population, require_weather
from derlink.analytics.runs.progress import Progress, tracked_batches
from derlink.analytics.runs.summary import WarningKind, warning_kinds

#: The id of the window a forecast is for (it is no event yet).
WINDOW_ID = "FORECAST"


@dataclass(frozen=True)
class Forecast:
    """A computed forecast: the kernel's result and every warning, reading included."""

    run: ForecastRun
    warnings: WarningLog


def compute_forecast(
    *,
    measurements: Path,
    program_id: str,
    start: datetime,
    end: datetime,
    history: Sequence[Path],
    method: str,
    events: Path | None,
    inputs: RunInputs,
    batch_size: int,
    progress: Progress,
) -> Forecast:
    """The forecast for ``program_id``'s service points over the window [start, end).

    Raises ``ValueError`` for a window that ends before it starts, a bad holiday or an unknown
    method (``UnknownMethod``), and ``AnalyticsError`` for a file that cannot be used.
    """
    window = Event(WINDOW_ID, program_id, "", start, end)
    require_weather(inputs, [method])
    past = read_events(events) if events else []
    log = WarningLog()
    population = read_population(inputs, past, window, log)
    rows = read_kwh_avoided_totals(history)
    run = forecast_window(
        tracked_batches(
            measurements, batch_size, log, "forecast", progress, inputs.timestamps_zone
        ),
        window=window,
        responses=ResponseStats.from_history(rows),
        population=population,
        method=method_of(method),
    )
    log.extend(run.warnings)
    return Forecast(run, log)


def write_forecast(result: Forecast, out: Path) -> int:
    """Write the forecast to ``out`` and the warnings beside it; returns the service points."""
    frame = result.run.frame()
    write_csv(frame, out)
    write_csv(result.warnings.to_frame(), out.with_name(out.stem + "_warnings.csv"))
    return frame.height


@dataclass(frozen=True)
class ForecastSummary:
    """What a forecast produced, said at its end."""

    program_id: str
    service_points: int
    forecast: int
    without_forecast: int
    #: Service points with an error (no time zone, no measurements, conflicting readings).
    errors: int
    #: The sum over service points of their mean expected reduction over the window.
    expected_kw: float
    warnings: list[WarningKind]


def summarize_forecast(result: Forecast) -> ForecastSummary:
    """The forecast's summary: service points forecast and not, the expected kW in all, and
    each kind of warning with the first service points it names."""
    frame = result.run.frame()
    total = float(frame["MeanExpectedKw"].cast(pl.Float64).sum()) if frame.height else 0.0
    every = len(result.run.service_points)
    return ForecastSummary(
        result.run.window.program_id,
        every,
        frame.height,
        every - frame.height,
        len(result.warnings.service_points_with(ERRORS)),
        round(total, 4),
        warning_kinds(result.warnings),
    )
