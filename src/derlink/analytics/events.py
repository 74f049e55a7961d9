"""DR events, who took part in them, and the service points' attributes analytics needs.

An event is settled against the days before it, and a baseline must skip every day on which the
service point itself had an event ("not an event day for that service point"). ``EventHistory``
answers that question for a whole batch at once: which of D prior days were event days of each
of N service points, in each service point's local calendar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from derlink.analytics.errors import InputFileError
from derlink.analytics.localtime import offset_table, to_us
from derlink.common.clock import parse_iso

ObjectArray = npt.NDArray[np.object_]
Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Event:
    """One DR event (a CPM program event): its window is [start, end)."""

    event_id: str
    program_id: str
    event_type: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("event times must be timezone-aware")
        if self.end <= self.start:
            raise ValueError(f"event {self.event_id} ends before it starts")

    @property
    def start_us(self) -> int:
        return to_us(self.start)

    @property
    def end_us(self) -> int:
        return to_us(self.end)


def _column(frame: pl.DataFrame, names: Sequence[str], path: Path) -> str:
    lowered = {c.lower().replace("_", ""): c for c in frame.columns}
    for name in names:
        if name.lower().replace("_", "") in lowered:
            return lowered[name.lower().replace("_", "")]
    raise InputFileError(f"{path.name}: missing column {names[0]}", columns=frame.columns)


def read_events(path: Path) -> list[Event]:
    """Events CSV: ``EventId, EventType, ProgramId, StartTime, EndTime`` (ISO with offset)."""
    frame = pl.read_csv(path, infer_schema=False)
    cols = {
        "id": _column(frame, ["EventId"], path),
        "type": _column(frame, ["EventType"], path),
        "program": _column(frame, ["ProgramId"], path),
        "start": _column(frame, ["StartTime", "ActualStartTime"], path),
        "end": _column(frame, ["EndTime", "ActualEndTime"], path),
    }
    events = []
    for number, row in enumerate(frame.iter_rows(named=True), start=2):
        try:
            events.append(
                Event(
                    event_id=row[cols["id"]],
                    program_id=row[cols["program"]] or "",
                    event_type=row[cols["type"]] or "",
                    start=parse_iso(row[cols["start"]]),
                    end=parse_iso(row[cols["end"]]),
                )
            )
        except (TypeError, ValueError) as exc:
            raise InputFileError(f"{path.name} row {number}: {exc}") from exc
    return events


def read_participation(path: Path) -> pl.DataFrame:
    """Participation CSV: ``EventId, SPId`` (one row per service point per event)."""
    frame = pl.read_csv(path, infer_schema=False)
    return frame.select(
        pl.col(_column(frame, ["EventId"], path)).alias("event_id"),
        pl.col(_column(frame, ["SPId", "sp_id"], path)).alias("sp_id"),
    )


@dataclass(frozen=True)
class ServicePoints:
    """Per service point: time zone, program and weather station (any may be unknown)."""

    frame: pl.DataFrame  # sp_id, time_zone, program_id, station_id
    default_time_zone: str = "UTC"
    _index: dict[str, tuple[str | None, str | None, str | None]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for name in ("time_zone", "program_id", "station_id"):
            if name not in self.frame.columns:
                object.__setattr__(self, "frame", self.frame.with_columns(pl.lit(None).alias(name)))
        rows = self.frame.select(
            pl.col("sp_id").cast(pl.Utf8),
            pl.col("time_zone").cast(pl.Utf8),
            pl.col("program_id").cast(pl.Utf8),
            pl.col("station_id").cast(pl.Utf8),
        ).iter_rows()
        self._index.update({sp: (tz, program, station) for sp, tz, program, station in rows})

    def lookup(self, sp_ids: ObjectArray) -> tuple[ObjectArray, ObjectArray, ObjectArray]:
        """(time zone, program id, station id) of each service point; unknown → default/None."""
        none: tuple[str | None, str | None, str | None] = (None, None, None)
        found = [self._index.get(sp, none) for sp in sp_ids.tolist()]
        zones = np.asarray([f[0] or self.default_time_zone for f in found], dtype=object)
        programs = np.asarray([f[1] for f in found], dtype=object)
        stations = np.asarray([f[2] for f in found], dtype=object)
        return zones, programs, stations

    def __contains__(self, sp_id: object) -> bool:
        return sp_id in self._index

    @classmethod
    def empty(cls, default_time_zone: str = "UTC") -> ServicePoints:
        return cls(pl.DataFrame({"sp_id": []}, schema={"sp_id": pl.Utf8}), default_time_zone)

    @classmethod
    def read(cls, path: Path, default_time_zone: str = "UTC") -> ServicePoints:
        """Service point CSV: ``SPId, TimeZone, ProgramId, StationId`` (last three optional)."""
        frame = pl.read_csv(path, infer_schema=False)
        renamed: dict[str, str] = {_column(frame, ["SPId", "sp_id"], path): "sp_id"}
        for wanted, names in {
            "time_zone": ["TimeZone", "time_zone"],
            "program_id": ["ProgramId", "program_id"],
            "station_id": ["StationId", "station_id"],
        }.items():
            try:
                renamed[_column(frame, names, path)] = wanted
            except InputFileError:
                continue
        return cls(frame.rename(renamed).select(list(renamed.values())), default_time_zone)


@dataclass(frozen=True)
class EventHistory:
    """Past (and current) events; without participation rows an event covers its program."""

    events: Sequence[Event]
    participation: pl.DataFrame | None = None  # event_id, sp_id

    def excluded_days(
        self,
        sp_ids: ObjectArray,
        programs: ObjectArray,
        time_zone: str,
        day_numbers: Int64Array,
        skip_event_id: str | None = None,
    ) -> BoolArray:
        """(N, D): True where day ``day_numbers[d]`` was an event day of service point n."""
        n, days = len(sp_ids), len(day_numbers)
        out = np.zeros((n, days), dtype=bool)
        if n == 0 or days == 0 or not self.events:
            return out
        relevant = [e for e in self.events if e.event_id != skip_event_id]
        if not relevant:
            return out
        table = offset_table(
            time_zone,
            min(e.start_us for e in relevant),
            max(e.end_us for e in relevant),
        )
        first_day = int(day_numbers.min())
        span = int(day_numbers.max()) - first_day + 1
        position = np.full(span, -1, dtype=np.int64)
        position[day_numbers - first_day] = np.arange(days)
        event_days: dict[str, list[int]] = {}
        for event in relevant:
            start_day, _ = table.days_and_seconds(np.asarray([event.start_us], dtype=np.int64))
            end_day, _ = table.days_and_seconds(np.asarray([event.end_us - 1], dtype=np.int64))
            cols = [
                int(position[d - first_day])
                for d in range(int(start_day[0]), int(end_day[0]) + 1)
                if 0 <= d - first_day < span and position[d - first_day] >= 0
            ]
            if cols:
                event_days[event.event_id] = cols
        if not event_days:
            return out
        with_list = set()
        if self.participation is not None and self.participation.height:
            rows = self.participation.filter(pl.col("event_id").is_in(list(event_days)))
            with_list = set(rows["event_id"].unique().to_list())
            if rows.height:
                index = pl.DataFrame(
                    {"sp_id": sp_ids.tolist(), "row": np.arange(n, dtype=np.int64)},
                    schema={"sp_id": pl.Utf8, "row": pl.Int64},
                )
                joined = rows.join(index, on="sp_id", how="inner")
                for (event_key, *_), group in joined.group_by(["event_id"]):
                    r = group["row"].to_numpy()
                    for col in event_days[str(event_key)]:
                        out[r, col] = True
        by_id = {e.event_id: e for e in relevant}
        unknown = np.asarray([p is None for p in programs.tolist()], dtype=bool)
        for event_id, cols in event_days.items():
            if event_id in with_list:
                continue
            program = by_id[event_id].program_id
            applies = unknown | (programs == program) if program else np.ones(n, dtype=bool)
            for col in cols:
                out[applies, col] = True
        return out


def events_to_dicts(events: Sequence[Event]) -> list[dict[str, Any]]:
    return [
        {
            "EventId": e.event_id,
            "EventType": e.event_type,
            "ProgramId": e.program_id,
            "StartTime": e.start.isoformat(),
            "EndTime": e.end.isoformat(),
        }
        for e in events
    ]
