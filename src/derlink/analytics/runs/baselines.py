"""Baselines as a run: one event's measurements in, each service point's baseline beside its
actual load, interval by interval, out (with a ``_warnings`` file beside it).

Layout: ``SPId, IntervalStart, IntervalSize(Seconds), BaselineKwh, ActualKwh``, one row per
service point per event interval, the start in the service point's local offset; the event's
participants are the service points of its program (as kWh avoided without outcome files; the
outcome files, when given, only say whose other event days the baselines skip).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from derlink.analytics.kernels.baselines.methods import method_of
from derlink.analytics.kernels.baselines.results import EventSavings
from derlink.analytics.kernels.kwh_avoided import Settlement
from derlink.analytics.kernels.sufficiency import WarningLog
from derlink.analytics.runs.inputs import find_event, read_events
from derlink.analytics.runs.kwh_avoided import KwhAvoided, settle_over
from derlink.analytics.runs.outputs import write_csv
from derlink.analytics.runs.population import RunInputs, read_population, require_weather
from derlink.analytics.runs.progress import Progress


def compute_baselines(
    *,
    measurements: Path,
    events: Path,
    event_id: str,
    method: str,
    inputs: RunInputs,
    batch_size: int,
    progress: Progress,
) -> KwhAvoided:
    """The baselines of the event ``event_id`` under ``method``.

    Raises ``UnknownEvent`` and ``UnknownMethod`` (``ValueError``s) for a name not found, and
    ``AnalyticsError`` for a file that cannot be used.
    """
    all_events = read_events(events)
    event = find_event(all_events, event_id)
    require_weather(inputs, [method])
    log = WarningLog()
    (result,) = settle_over(
        measurements,
        [Settlement(event, method_of(method), method)],
        log,
        population=read_population(inputs, all_events, warnings=log),
        label=f"{event_id} baseline",
        batch_size=batch_size,
        progress=progress,
        naive_zone=inputs.timestamps_zone,
    )
    return result


def baseline_frame(savings: Sequence[EventSavings]) -> pl.DataFrame:
    """The baselines file's rows: one per service point per event interval."""
    parts = []
    for s in savings:
        k = s.baseline.shape[1]
        parts.append(
            pl.DataFrame(
                {
                    "SPId": s.sp_ids.repeat(k).tolist(),
                    "IntervalStart": pl.Series(
                        list(s.interval_starts_us) * len(s.sp_ids), dtype=pl.Int64
                    )
                    .cast(pl.Datetime("us", "UTC"))
                    .dt.convert_time_zone(s.time_zone)
                    .dt.to_string("%Y-%m-%dT%H:%M:%S%:z"),
                    "IntervalSize(Seconds)": s.interval_s,
                    "BaselineKwh": s.baseline.ravel(),
                    "ActualKwh": s.actual.ravel(),
                }
            ).with_columns(pl.col(pl.Float64).fill_nan(None).round(4))
        )
    return pl.concat(parts) if parts else pl.DataFrame({"SPId": []})


def write_baselines(result: KwhAvoided, out: Path) -> int:
    """Write the baselines to ``out`` and the warnings beside it; returns the rows written."""
    frame = baseline_frame(result.run.savings)
    write_csv(frame, out)
    write_csv(result.warnings.to_frame(), out.with_name(out.stem + "_warnings.csv"))
    return frame.height
