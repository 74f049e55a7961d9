"""kWh avoided and kW drop per service point per event, and the two settlement files.

``kWh saved`` of an interval is baseline minus actual; ``kW drop`` is the same energy divided by
the interval's length in hours. Both files follow the Oracle layouts of SPEC §2.3:

- kWh avoided: ``EventId, EventType, ProgramId, SPId, ActualStartTime, ActualEndTime,
  IntervalSize(Seconds), TotalKwh, TotalKwhSavedForPeriod, KwhSaved1..KwhSavedN``
- kW drop: ``EventId, ProgramId, SPId, ActualStartTime, ActualEndTime, IntervalSize(Seconds),
  MaxKwDrop, KwDrop1..KwDropN``

Times carry the service point's local UTC offset. An interval without an actual reading is left
blank (in both files); ``TotalKwh`` and ``TotalKwhSavedForPeriod`` add the intervals present.
A service point without a baseline has no row (its warning says why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from derlink.analytics.events import Event
from derlink.analytics.localtime import US_PER_SECOND, from_us

FloatArray = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]
ObjectArray = npt.NDArray[np.object_]

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


@dataclass(frozen=True)
class EventSavings:
    """Baseline and actual kWh of N service points over one event's K intervals.

    One instance holds service points that share a time zone and an interval length.
    """

    sp_ids: ObjectArray  # (N,)
    time_zone: str
    interval_s: int
    interval_starts_us: Int64Array  # (K,)
    baseline: FloatArray  # (N, K)
    actual: FloatArray  # (N, K)

    @property
    def kwh_saved(self) -> FloatArray:
        return self.baseline - self.actual

    @property
    def kw_drop(self) -> FloatArray:
        return self.kwh_saved / (self.interval_s / 3600.0)

    def settled(self) -> npt.NDArray[np.bool_]:
        """Service points with a baseline (the ones that get a row)."""
        return np.asarray(~np.isnan(self.baseline).all(axis=1), dtype=bool)

    def window_text(self) -> tuple[str, str]:
        """ActualStartTime and ActualEndTime as ISO text with the local offset."""
        step = self.interval_s * US_PER_SECOND
        start = from_us(int(self.interval_starts_us[0]), self.time_zone)
        end = from_us(int(self.interval_starts_us[-1]) + step, self.time_zone)
        return start.isoformat(), end.isoformat()


def _sum_present(values: FloatArray) -> FloatArray:
    present = ~np.isnan(values)
    return np.where(present.any(axis=1), np.where(present, values, 0.0).sum(axis=1), np.nan)


def _part(event: Event, savings: EventSavings, kind: str) -> pl.DataFrame:
    keep = savings.settled()
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


def write_csv(frame: pl.DataFrame, path: Path) -> Path:
    """Write a settlement frame as CSV; missing values are blank cells."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path, null_value="", float_precision=DECIMALS)
    return path
