"""DR events, who took part in them, and the service points' attributes analytics needs.

An event's baseline comes from the days before it, and must skip every day on which the
service point itself had an event ("not an event day for that service point"). ``EventHistory``
answers that question for a whole batch at once: which of D prior days were event days of each
of N service points, in each service point's local calendar.

Everything here is built from values and frames; the events, outcome and service point files
are read by ``runs/inputs.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from derlink.analytics.kernels.localtime import offset_table, to_us

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


@dataclass(frozen=True)
class ServicePoints:
    """Per service point: time zone, program and weather station (any may be unknown).

    A service point without a time zone takes ``default_time_zone`` when the run states one;
    otherwise its zone is None (the run refuses it: a zone is never guessed).
    """

    frame: pl.DataFrame  # sp_id, time_zone, program_id, station_id
    default_time_zone: str | None = None
    _columns: dict[str, ObjectArray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for name in ("time_zone", "program_id", "station_id"):
            if name not in self.frame.columns:
                object.__setattr__(self, "frame", self.frame.with_columns(pl.lit(None).alias(name)))
        # Sorted by id: batches arrive in id order, so a batch's service points are usually
        # one slice of these arrays, found with one binary search.
        ordered = (
            self.frame.select(
                pl.col(c).cast(pl.Utf8) for c in ("sp_id", "time_zone", "program_id", "station_id")
            )
            .unique("sp_id", keep="first", maintain_order=True)
            .sort("sp_id")
        )
        for name in ordered.columns:
            self._columns[name] = ordered[name].to_numpy().astype(object)

    def _positions(self, sp_ids: ObjectArray) -> tuple[Int64Array, BoolArray]:
        keys = self._columns["sp_id"]
        n, total = len(sp_ids), len(keys)
        if n == 0 or total == 0:
            return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
        first = int(np.searchsorted(keys, sp_ids[0]))
        if first + n <= total and (keys[first : first + n] == sp_ids).all():
            return np.arange(first, first + n, dtype=np.int64), np.ones(n, dtype=bool)
        where = np.minimum(np.searchsorted(keys, sp_ids), total - 1).astype(np.int64)
        return where, np.asarray(keys[where] == sp_ids, dtype=bool)

    def lookup(self, sp_ids: ObjectArray) -> tuple[ObjectArray, ObjectArray, ObjectArray]:
        """(time zone, program id, station id) of each service point; unknown → the default
        zone (None without one) and None."""
        where, found = self._positions(sp_ids)
        if len(self._columns["sp_id"]) == 0:
            nothing = np.full(len(sp_ids), None, dtype=object)
            return np.full(len(sp_ids), self.default_time_zone, dtype=object), nothing, nothing
        unknown = ~found

        def column(name: str) -> ObjectArray:
            values: ObjectArray = self._columns[name][where]
            values[unknown] = None
            return values

        zones = column("time_zone")
        zones[[not z for z in zones.tolist()]] = self.default_time_zone
        return zones, column("program_id"), column("station_id")

    def of_program(self, program_id: str) -> frozenset[str]:
        """The service points the file lists for ``program_id``."""
        programs = self._columns["program_id"]
        return frozenset(self._columns["sp_id"][programs == program_id].tolist())

    def __contains__(self, sp_id: object) -> bool:
        return bool(self._positions(np.asarray([sp_id], dtype=object))[1][0])

    @classmethod
    def empty(cls, default_time_zone: str | None = None) -> ServicePoints:
        return cls(pl.DataFrame({"sp_id": []}, schema={"sp_id": pl.Utf8}), default_time_zone)


@dataclass(frozen=True)
class Participation:
    """Who took part in which events: the participants (``frame``: event_id, sp_id), and every
    event the source speaks of (``listed``), those without a participant included."""

    frame: pl.DataFrame
    listed: frozenset[str]


@dataclass(frozen=True)
class EventHistory:
    """Past (and current) events. An event the participation lists is taken part in by its
    participation rows alone (maybe nobody); any other event covers its program."""

    events: Sequence[Event]
    participation: pl.DataFrame | None = None  # event_id, sp_id
    #: The events the participation speaks of (None: those it has a row of).
    listed: frozenset[str] | None = None
    _sorted: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def of(cls, events: Sequence[Event], participation: Participation | None) -> EventHistory:
        if participation is None:
            return cls(events)
        return cls(events, participation.frame, participation.listed)

    def _listed_events(self) -> frozenset[str]:
        if "listed" not in self._sorted:
            if self.listed is not None:
                self._sorted["listed"] = self.listed
            elif self.participation is not None:
                events = self.participation["event_id"].unique().to_list()
                self._sorted["listed"] = frozenset(events)
            else:
                self._sorted["listed"] = frozenset()
        listed: frozenset[str] = self._sorted["listed"]
        return listed

    def participants(self, event_id: str) -> frozenset[str] | None:
        """The service points that took part in ``event_id``; None when the participation does
        not list it (the event covers its program)."""
        if event_id not in self._listed_events():
            return None
        assert self.participation is not None
        rows = self.participation.filter(pl.col("event_id") == event_id)
        return frozenset(rows["sp_id"].to_list())

    def _participation_of(self, sp_ids: ObjectArray) -> tuple[ObjectArray, ObjectArray]:
        """(sp_id, event_id) rows of service points between the batch's first and last id.

        Batches come in sp_id order, so a binary search in the participation sorted once by
        sp_id finds a batch's rows without scanning them all.
        """
        assert self.participation is not None
        if "keys" not in self._sorted:
            frame = self.participation.sort("sp_id")
            self._sorted["keys"] = frame["sp_id"].to_numpy().astype(object)
            self._sorted["events"] = frame["event_id"].to_numpy().astype(object)
        keys, events = self._sorted["keys"], self._sorted["events"]
        low, high = min(sp_ids.tolist()), max(sp_ids.tolist())
        first = int(np.searchsorted(keys, low, side="left"))
        last = int(np.searchsorted(keys, high, side="right"))
        return keys[first:last], events[first:last]

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
        with_list: frozenset[str] = frozenset()
        if self.participation is not None:
            with_list = self._listed_events() & set(event_days)
            part_sp, part_event = self._participation_of(sp_ids)
            if len(part_sp):
                # A hash lookup per participation row (a binary search through text ids
                # compares strings at every step).
                row_of = {sp: i for i, sp in enumerate(sp_ids.tolist())}
                at = np.fromiter(
                    (row_of.get(sp, -1) for sp in part_sp.tolist()), np.int64, len(part_sp)
                )
                match = at >= 0
                rows, events_of = at[match], part_event[match]
                for event_id, cols in event_days.items():
                    if event_id in with_list:
                        hit = rows[events_of == event_id]
                        for col in cols:
                            out[hit, col] = True
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
