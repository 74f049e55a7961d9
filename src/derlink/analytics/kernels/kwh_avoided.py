"""kWh avoided and kW drop per service point per event: computed over batches, and the rows
of their two files.

``kWh saved`` of an interval is baseline minus actual; ``kW drop`` is the same energy divided by
the interval's length in hours. Both files follow Oracle's layouts
(docs/contracts/analytics-files.md):

- kWh avoided: ``EventId, EventType, ProgramId, SPId, ActualStartTime, ActualEndTime,
  IntervalSize(Seconds), TotalKwh, TotalKwhSavedForPeriod, KwhSaved1..KwhSavedN``
- kW drop: ``EventId, ProgramId, SPId, ActualStartTime, ActualEndTime, IntervalSize(Seconds),
  MaxKwDrop, KwDrop1..KwDropN``

Times carry the service point's local UTC offset. An interval without an actual reading is left
blank (in both files); ``TotalKwh`` and ``TotalKwhSavedForPeriod`` add the intervals present.
A service point without a baseline has no row (its warning says why).

``event_kwh_avoided`` streams batches of whole service points, splits each batch by time zone
and interval length (the only two things a vectorized kernel cannot mix) and asks the baseline
method (``baselines/methods.py``) for each group's baseline, the same call whatever the method.
Memory stays bounded by the batch size, whatever the population. (Settlement, the money, is
to live in cpm; this is the energy it is computed from.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from derlink.analytics.kernels.baselines.methods import BaselineMethod
from derlink.analytics.kernels.baselines.results import EventSavings
from derlink.analytics.kernels.events import Event
from derlink.analytics.kernels.groups import Population, split_batch
from derlink.analytics.kernels.intervals import IntervalBatch
from derlink.analytics.kernels.sufficiency import WarningLog

FloatArray = npt.NDArray[np.float64]

KWH_AVOIDED_HEAD = [
    "EventId",
    "EventType",
    "ProgramId",
    "SPId",
    "ActualStartTime",
    "ActualEndTime",
    "IntervalSize(Seconds)",
    "TotalKwh",
    "TotalKwhSavedForPeriod",
]
KW_DROP_HEAD = [
    "EventId",
    "ProgramId",
    "SPId",
    "ActualStartTime",
    "ActualEndTime",
    "IntervalSize(Seconds)",
    "MaxKwDrop",
]
DECIMALS = 4


def _sum_present(values: FloatArray) -> FloatArray:
    present = ~np.isnan(values)
    return np.where(present.any(axis=1), np.where(present, values, 0.0).sum(axis=1), np.nan)


def _part(event: Event, savings: EventSavings, kind: str) -> pl.DataFrame:
    keep = savings.with_baseline()
    ids = savings.sp_ids[keep]
    start, end = savings.window_text()
    head: dict[str, object] = {
        "EventId": event.event_id,
        "EventType": event.event_type,
        "ProgramId": event.program_id,
        "SPId": pl.Series(ids.tolist(), dtype=pl.Utf8),
        "ActualStartTime": start,
        "ActualEndTime": end,
        "IntervalSize(Seconds)": savings.interval_s,
    }
    if kind == "kwh":
        saved = savings.kwh_saved[keep]
        head["TotalKwh"] = _sum_present(savings.actual[keep])
        head["TotalKwhSavedForPeriod"] = _sum_present(saved)
        columns = {f"KwhSaved{i + 1}": saved[:, i] for i in range(saved.shape[1])}
    else:
        del head["EventType"]
        drop = savings.kw_drop[keep]
        present = ~np.isnan(drop)
        head["MaxKwDrop"] = np.where(
            present.any(axis=1), np.where(present, drop, -np.inf).max(axis=1), np.nan
        )
        columns = {f"KwDrop{i + 1}": drop[:, i] for i in range(drop.shape[1])}
    frame = pl.DataFrame({**head, **columns}).with_columns(
        pl.col(pl.Float64).fill_nan(None).round(DECIMALS)
    )
    return frame


def _assemble(parts: list[pl.DataFrame], head: list[str], prefix: str) -> pl.DataFrame:
    if not parts:
        return pl.DataFrame(schema=dict.fromkeys(head, pl.Utf8))
    frame = pl.concat(parts, how="diagonal_relaxed")
    intervals = sorted(
        (c for c in frame.columns if c.startswith(prefix)), key=lambda c: int(c[len(prefix) :])
    )
    return frame.select([*head, *intervals]).sort("SPId")


def kwh_avoided_frame(event: Event, savings: Sequence[EventSavings]) -> pl.DataFrame:
    """The kWh avoided file's rows for one event (service points sorted by SPId)."""
    return _assemble([_part(event, s, "kwh") for s in savings], KWH_AVOIDED_HEAD, "KwhSaved")


def kw_drop_frame(event: Event, savings: Sequence[EventSavings]) -> pl.DataFrame:
    """The kW drop file's rows for one event (service points sorted by SPId)."""
    return _assemble([_part(event, s, "kw") for s in savings], KW_DROP_HEAD, "KwDrop")


@dataclass(frozen=True)
class KwhAvoidedRun:
    """One event's kWh avoided over a population: each group's savings and the warnings."""

    event: Event
    savings: list[EventSavings]
    warnings: WarningLog
    service_points: int = 0

    def kwh_avoided(self) -> pl.DataFrame:
        return kwh_avoided_frame(self.event, self.savings)

    def kw_drop(self) -> pl.DataFrame:
        return kw_drop_frame(self.event, self.savings)


def _participants_mask(
    batch: IntervalBatch, event: Event, population: Population, participants: frozenset[str] | None
) -> npt.NDArray[np.bool_]:
    if participants is not None:
        return np.asarray([sp in participants for sp in batch.sp_ids.tolist()], dtype=bool)
    _, programs, _ = population.service_points.lookup(batch.sp_ids)
    unknown = np.asarray([p is None for p in programs.tolist()], dtype=bool)
    return np.asarray(unknown | (programs == event.program_id), dtype=bool)


def event_kwh_avoided(
    batches: Iterable[IntervalBatch],
    *,
    event: Event,
    method: BaselineMethod,
    population: Population,
    participants: frozenset[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> KwhAvoidedRun:
    """kWh avoided and kW drop of one event for every participating service point.

    Participants are ``participants`` when given, else the service points of the event's
    program (and those whose program is unknown).
    """
    warnings = WarningLog()
    savings: list[EventSavings] = []
    seen = 0
    for batch in batches:
        seen += batch.size
        keep = _participants_mask(batch, event, population, participants)
        for group in split_batch(batch, population.service_points, warnings, keep):
            part = method.event_baseline(group, event, population, warnings)
            if part is not None:
                savings.append(part)
        if progress is not None:
            progress(batch.size)
    return KwhAvoidedRun(event, savings, warnings, seen)
