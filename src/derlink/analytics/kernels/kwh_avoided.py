"""kWh avoided and kW drop per service point per event: computed over batches, and the rows
of their two files.

``kWh saved`` of an interval is baseline minus actual; ``kW drop`` is the same energy divided by
the interval's length in hours. Both files follow Oracle's layouts
(docs/contracts/analytics-files.md):

- kWh avoided: ``EventId, EventType, ProgramId, SPId, ActualStartTime, ActualEndTime,
  IntervalSize(Seconds), TotalKwh, TotalKwhSavedForPeriod, Method, KwhSaved1..KwhSavedN``
- kW drop: ``EventId, ProgramId, SPId, ActualStartTime, ActualEndTime, IntervalSize(Seconds),
  MaxKwDrop, Method, KwDrop1..KwDropN``

``Method`` is the baseline method's name.

Times carry the service point's local UTC offset. An interval without an actual reading is left
blank (in both files); ``TotalKwh`` and ``TotalKwhSavedForPeriod`` add the intervals present.
A service point without a baseline has no row (its warning says why); a participant the
measurements never mention is a warning row of its own (``analytics.measurements.none``).

``settle_all`` settles several events and methods in one pass over the measurements;
``event_kwh_avoided`` one. Either streams batches of whole service points, splits each batch by
time zone and interval length (the only two things a vectorized kernel cannot mix) and asks the
baseline method (``baselines/methods.py``) for each group's baseline, the same call whatever
the method. Memory stays bounded by the batch size, whatever the population. (Settlement, the
money, is to live in cpm; this is the energy it is computed from.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from derlink.analytics.kernels import sufficiency
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
    "Method",
]
KW_DROP_HEAD = [
    "EventId",
    "ProgramId",
    "SPId",
    "ActualStartTime",
    "ActualEndTime",
    "IntervalSize(Seconds)",
    "MaxKwDrop",
    "Method",
]
DECIMALS = 4


def _sum_present(values: FloatArray) -> FloatArray:
    present = ~np.isnan(values)
    return np.where(present.any(axis=1), np.where(present, values, 0.0).sum(axis=1), np.nan)


def _part(event: Event, savings: EventSavings, kind: str, method: str) -> pl.DataFrame:
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
        head["Method"] = method
        columns = {f"KwhSaved{i + 1}": saved[:, i] for i in range(saved.shape[1])}
    else:
        del head["EventType"]
        drop = savings.kw_drop[keep]
        present = ~np.isnan(drop)
        head["MaxKwDrop"] = np.where(
            present.any(axis=1), np.where(present, drop, -np.inf).max(axis=1), np.nan
        )
        head["Method"] = method
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


def kwh_avoided_frame(
    event: Event, savings: Sequence[EventSavings], method: str = ""
) -> pl.DataFrame:
    """The kWh avoided file's rows for one event under ``method`` (sorted by SPId)."""
    parts = [_part(event, s, "kwh", method) for s in savings]
    return _assemble(parts, KWH_AVOIDED_HEAD, "KwhSaved")


def kw_drop_frame(event: Event, savings: Sequence[EventSavings], method: str = "") -> pl.DataFrame:
    """The kW drop file's rows for one event under ``method`` (sorted by SPId)."""
    return _assemble([_part(event, s, "kw", method) for s in savings], KW_DROP_HEAD, "KwDrop")


@dataclass(frozen=True)
class KwhAvoidedRun:
    """One event's kWh avoided under one method: each group's savings and the warnings."""

    event: Event
    savings: list[EventSavings]
    warnings: WarningLog
    service_points: int = 0
    #: The participants: those of the measurements, and those listed but never measured.
    participants: int = 0
    #: The baseline method's name (the files' ``Method`` column).
    method: str = ""

    def kwh_avoided(self) -> pl.DataFrame:
        return kwh_avoided_frame(self.event, self.savings, self.method)

    def kw_drop(self) -> pl.DataFrame:
        return kw_drop_frame(self.event, self.savings, self.method)


def _participants_mask(
    batch: IntervalBatch, event: Event, population: Population, participants: frozenset[str] | None
) -> npt.NDArray[np.bool_]:
    if participants is not None:
        return np.asarray([sp in participants for sp in batch.sp_ids.tolist()], dtype=bool)
    _, programs, _ = population.service_points.lookup(batch.sp_ids)
    unknown = np.asarray([p is None for p in programs.tolist()], dtype=bool)
    return np.asarray(unknown | (programs == event.program_id), dtype=bool)


@dataclass(frozen=True)
class Settlement:
    """What to settle: an event, under a baseline method (and its name), for participants
    (None: the event's program)."""

    event: Event
    method: BaselineMethod
    method_name: str = ""
    participants: frozenset[str] | None = None


class _Settling:
    """One settlement's savings and warnings, batch after batch."""

    def __init__(self, settlement: Settlement, population: Population) -> None:
        self.settlement = settlement
        self.population = population
        self.warnings = WarningLog()
        self.savings: list[EventSavings] = []
        self.measured: set[str] = set()

    def take(self, batch: IntervalBatch) -> None:
        event, population = self.settlement.event, self.population
        keep = _participants_mask(batch, event, population, self.settlement.participants)
        self.measured.update(batch.sp_ids[keep].tolist())
        for group in split_batch(batch, population.service_points, self.warnings, keep):
            part = self.settlement.method.event_baseline(group, event, population, self.warnings)
            if part is not None:
                self.savings.append(part)

    def finish(self, seen: int) -> KwhAvoidedRun:
        event = self.settlement.event
        listed = self.settlement.participants
        if listed is None:
            listed = self.population.service_points.of_program(event.program_id)
        unmeasured = sorted(listed - self.measured)
        self.warnings.add(
            sufficiency.NO_MEASUREMENTS,
            f"a participant of {event.event_id} without any reading in the measurements",
            unmeasured,
        )
        return KwhAvoidedRun(
            event,
            self.savings,
            self.warnings,
            seen,
            len(self.measured) + len(unmeasured),
            self.settlement.method_name,
        )


def settle_all(
    batches: Iterable[IntervalBatch],
    settlements: Sequence[Settlement],
    population: Population,
    progress: Callable[[int], None] | None = None,
) -> list[KwhAvoidedRun]:
    """kWh avoided and kW drop of several events and methods in one pass over the batches,
    one run per settlement, in their order."""
    settling = [_Settling(s, population) for s in settlements]
    seen = 0
    for batch in batches:
        seen += batch.size
        for one in settling:
            one.take(batch)
        if progress is not None:
            progress(batch.size)
    return [one.finish(seen) for one in settling]


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
    program (and those whose program is unknown). A participant without a single reading in
    the measurements gets a warning row (``NO_MEASUREMENTS``).
    """
    (run,) = settle_all(
        batches, [Settlement(event, method, participants=participants)], population, progress
    )
    return run
