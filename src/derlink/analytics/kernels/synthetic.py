"""A synthetic population with known ground truth, for tests and benchmarks.

Each service point's hourly load is weather driven and knowable:

    load = base × profile(local hour, weekend) + cooling × max(T − 70 °F, 0)
           + heating × max(55 °F − T, 0) + noise

with T the hourly temperature of the service point's weather station (a summer day-night cycle
plus day-to-day weather). DR events fall on the hottest weekdays of the second half of the
period, from 16:00 to 20:00 local time. During an event each participant uses
``(1 − reduction)`` of what it would have used (its counterfactual); the counterfactual and the
saving are the ground truth that the baselines are scored against.

Everything is generated a batch of service points at a time, deterministically from the seed
and the service point's index, so a population of any size streams to a Parquet file in bounded
memory and the truth can be rebuilt for any subset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import polars as pl

from derlink.analytics.kernels.events import Event
from derlink.analytics.kernels.intervals import IntervalBatch
from derlink.analytics.kernels.localtime import (
    SECONDS_PER_DAY,
    US_PER_SECOND,
    offset_table,
    to_us,
    weekday,
)

FloatArray = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]

COOLING_BALANCE_F = 70.0
HEATING_BALANCE_F = 55.0

# Residential shape by local hour (weekday, weekend): low at night, a morning bump and an
# evening peak; weekends flatter and later.
_WEEKDAY_SHAPE = np.array(
    [0.55, 0.5, 0.48, 0.47, 0.48, 0.55, 0.75, 0.95, 0.9, 0.75, 0.7, 0.7,
     0.72, 0.72, 0.75, 0.82, 0.95, 1.15, 1.3, 1.35, 1.3, 1.15, 0.9, 0.7]
)  # fmt: skip
_WEEKEND_SHAPE = np.array(
    [0.6, 0.55, 0.5, 0.48, 0.48, 0.5, 0.58, 0.7, 0.85, 0.95, 1.0, 1.02,
     1.0, 0.98, 0.98, 1.0, 1.05, 1.15, 1.25, 1.3, 1.25, 1.1, 0.9, 0.72]
)  # fmt: skip


@dataclass(frozen=True)
class PopulationSpec:
    service_points: int
    first_day: date = date(2026, 6, 1)
    days: int = 46
    time_zones: tuple[str, ...] = ("America/Los_Angeles",)
    stations: int = 8
    events: int = 3
    event_start_hour: int = 16
    event_hours: int = 4
    participation: float = 0.9  # share of service points taking part in each event
    mean_reduction: float = 0.25
    program_id: str = "PRG-SYN"
    noise: float = 0.08  # standard deviation of the noise, as a share of the base load
    mean_temperature_f: float = 78.0
    seed: int = 7
    first_event_day: int | None = None  # day index from which events may fall (default: half)
    final_event: bool = False  # put the last event on the last weekday (a full history before)


@dataclass(frozen=True)
class SyntheticBatch:
    batch: IntervalBatch
    truth: pl.DataFrame  # event_id, sp_id, counterfactual_kwh, actual_kwh, saved_kwh (event totals)


@dataclass(frozen=True)
class SyntheticPopulation:
    """A drawn population: its weather, its events and each service point's parameters; the
    loads and the truth are generated per batch (``batches``). Not ``groups.Population``,
    which is what a run knows about real service points."""

    spec: PopulationSpec
    temperature_f: FloatArray  # (stations, H_utc) on the shared UTC hour axis
    utc_start_us: int
    events: list[Event]
    event_days: Int64Array  # day indices (0-based) of the events
    _params: dict[str, npt.NDArray[np.generic]] = field(repr=False)

    @property
    def sp_ids(self) -> list[str]:
        return [sp_id(i) for i in range(self.spec.service_points)]

    def service_points(self) -> pl.DataFrame:
        n = self.spec.service_points
        zones = self._params["zone"].astype(np.int64)
        stations = self._params["station"].astype(np.int64)
        return pl.DataFrame(
            {
                "sp_id": self.sp_ids,
                "time_zone": [self.spec.time_zones[z] for z in zones.tolist()],
                "program_id": [self.spec.program_id] * n,
                "station_id": [station_id(s) for s in stations.tolist()],
            }
        )

    def temperatures(self) -> pl.DataFrame:
        """Hourly temperature per station: ``station_id, start, temperature_f``."""
        stations, hours = self.temperature_f.shape
        starts = self.utc_start_us + np.arange(hours, dtype=np.int64) * 3600 * US_PER_SECOND
        return pl.DataFrame(
            {
                "station_id": np.repeat(
                    np.asarray([station_id(s) for s in range(stations)], dtype=object), hours
                ).tolist(),
                "start": pl.Series(np.tile(starts, stations), dtype=pl.Int64).cast(
                    pl.Datetime("us", "UTC")
                ),
                "temperature_f": self.temperature_f.ravel(),
            }
        )

    def participation(self) -> pl.DataFrame:
        """``event_id, sp_id`` of every participant of every event."""
        takes = self._params["takes_part"].astype(bool)  # (events, N)
        ids = np.asarray(self.sp_ids, dtype=object)
        frames = [
            pl.DataFrame({"event_id": event.event_id, "sp_id": ids[takes[e]].tolist()})
            for e, event in enumerate(self.events)
        ]
        return pl.concat(frames) if frames else pl.DataFrame({"event_id": [], "sp_id": []})

    def outcomes(self) -> pl.DataFrame:
        """``event_id, sp_id, takes_part`` of every service point of the program in every event:
        each was called; those that do not take part were cancelled before the event."""
        takes = self._params["takes_part"].astype(bool)  # (events, N)
        schema = {"event_id": pl.Utf8, "sp_id": pl.Utf8, "takes_part": pl.Boolean}
        frames = [
            pl.DataFrame(
                {"event_id": event.event_id, "sp_id": self.sp_ids, "takes_part": takes[e]},
                schema=schema,
            )
            for e, event in enumerate(self.events)
        ]
        return pl.concat(frames) if frames else pl.DataFrame(schema=schema)

    def batches(self, sps_per_batch: int = 8192) -> Iterator[SyntheticBatch]:
        n = self.spec.service_points
        for first in range(0, n, sps_per_batch):
            yield self._batch(np.arange(first, min(first + sps_per_batch, n), dtype=np.int64))

    def _batch(self, index: Int64Array) -> SyntheticBatch:
        spec = self.spec
        zones = self._params["zone"][index].astype(np.int64)
        starts_parts, kwh_parts, counts_parts, order_parts = [], [], [], []
        truth_parts: list[pl.DataFrame] = []
        for z, zone in enumerate(spec.time_zones):
            members = index[zones == z]
            if members.size == 0:
                continue
            hours_us, local_hour, weekend = _local_hours(spec, zone)
            utc_col = (hours_us - self.utc_start_us) // (3600 * US_PER_SECOND)
            temps = self.temperature_f[:, utc_col][self._params["station"][members].astype(int)]
            shape = np.where(weekend, _WEEKEND_SHAPE[local_hour], _WEEKDAY_SHAPE[local_hour])
            base = self._params["base"][members][:, None]
            cooling = self._params["cooling"][members][:, None]
            heating = self._params["heating"][members][:, None]
            load = (
                base * shape[None, :]
                + cooling * np.maximum(temps - COOLING_BALANCE_F, 0.0)
                + heating * np.maximum(HEATING_BALANCE_F - temps, 0.0)
            )
            rng = np.random.default_rng([spec.seed, 101, int(index[0]), z])
            load = load + rng.standard_normal(load.shape) * (spec.noise * base)
            counterfactual = np.maximum(load, 0.05)
            actual = counterfactual.copy()
            for e, event in enumerate(self.events):
                in_event = (hours_us >= event.start_us) & (hours_us < event.end_us)
                takes = self._params["takes_part"][e, members].astype(bool)
                cut = self._params["reduction"][members] * self._params["event_effect"][e]
                factor = np.where(takes, 1.0 - cut, 1.0)[:, None]
                actual[:, in_event] = counterfactual[:, in_event] * factor
                cf_total = counterfactual[:, in_event].sum(axis=1)
                act_total = actual[:, in_event].sum(axis=1)
                truth_parts.append(
                    pl.DataFrame(
                        {
                            "event_id": self.events[e].event_id,
                            "sp_id": [sp_id(i) for i in members.tolist()],
                            "takes_part": takes,
                            "counterfactual_kwh": cf_total,
                            "actual_kwh": act_total,
                            "saved_kwh": cf_total - act_total,
                        }
                    )
                )
            hours = len(hours_us)
            starts_parts.append(np.tile(hours_us, members.size))
            kwh_parts.append(np.round(actual, 3).ravel())
            counts_parts.append(np.full(members.size, hours, dtype=np.int64))
            order_parts.append(members)
        members_all = np.concatenate(order_parts)
        order = np.argsort(members_all, kind="stable")
        counts = np.concatenate(counts_parts)
        group_offsets = np.concatenate(([0], np.cumsum(counts)))
        starts = np.concatenate(starts_parts)
        kwh = np.concatenate(kwh_parts)
        if len(order_parts) > 1:
            rows = np.concatenate(
                [np.arange(group_offsets[i], group_offsets[i + 1]) for i in order.tolist()]
            )
            starts, kwh, counts = starts[rows], kwh[rows], counts[order]
        offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        ids = np.asarray([sp_id(i) for i in members_all[order].tolist()], dtype=object)
        truth = (
            pl.concat(truth_parts)
            if truth_parts
            else pl.DataFrame(
                schema={
                    "event_id": pl.Utf8,
                    "sp_id": pl.Utf8,
                    "takes_part": pl.Boolean,
                    "counterfactual_kwh": pl.Float64,
                    "actual_kwh": pl.Float64,
                    "saved_kwh": pl.Float64,
                }
            )
        )
        return SyntheticBatch(IntervalBatch(ids, offsets, starts, kwh), truth)


def sp_id(index: int) -> str:
    return f"SP{index:08d}"


def station_id(index: int) -> str:
    return f"WS{index:03d}"


def _local_hours(
    spec: PopulationSpec, zone: str
) -> tuple[Int64Array, Int64Array, npt.NDArray[np.bool_]]:
    """UTC start of every local hour of the period in ``zone``, with its local calendar."""
    tz = ZoneInfo(zone)
    first = datetime(spec.first_day.year, spec.first_day.month, spec.first_day.day, tzinfo=tz)
    last_day = spec.first_day + timedelta(days=spec.days)
    last = datetime(last_day.year, last_day.month, last_day.day, tzinfo=tz)
    start_us, end_us = to_us(first), to_us(last)
    hours_us = np.arange(start_us, end_us, 3600 * US_PER_SECOND, dtype=np.int64)
    table = offset_table(zone, start_us, end_us)
    days, seconds = table.days_and_seconds(hours_us)
    return hours_us, seconds // 3600, weekday(days) >= 5


def build_population(spec: PopulationSpec) -> SyntheticPopulation:
    """Draw the population's parameters, weather and events (the loads come per batch)."""
    rng = np.random.default_rng([spec.seed, 1])
    n = spec.service_points
    params: dict[str, npt.NDArray[np.generic]] = {
        "zone": (np.arange(n) % len(spec.time_zones)).astype(np.int8),
        "station": rng.integers(0, spec.stations, n).astype(np.int16),
        "base": rng.lognormal(np.log(0.9), 0.35, n),
        "cooling": rng.gamma(2.0, 0.05, n),
        "heating": rng.gamma(1.5, 0.02, n),
        "reduction": np.clip(rng.normal(spec.mean_reduction, 0.08, n), 0.0, 0.6),
    }
    # One UTC hour axis covering every zone's local period, with a day of margin each side.
    earliest = min(
        to_us(datetime.combine(spec.first_day, datetime.min.time(), ZoneInfo(z)))
        for z in spec.time_zones
    )
    day_us = SECONDS_PER_DAY * US_PER_SECOND
    utc_start = (earliest // day_us - 1) * day_us
    hours = (spec.days + 3) * 24
    weather_rng = np.random.default_rng([spec.seed, 2])
    utc_hour_of_day = (np.arange(hours) + (utc_start // (3600 * US_PER_SECOND))) % 24
    # Pacific-ish diurnal cycle: warmest around 23:00 UTC (15:00 PDT).
    diurnal = 12.0 * np.cos(2 * np.pi * (utc_hour_of_day - 23) / 24.0)
    daily = np.zeros((spec.stations, hours // 24 + 1))
    anomalies = weather_rng.normal(0.0, 3.0, daily.shape)
    for d in range(1, daily.shape[1]):
        daily[:, d] = 0.7 * daily[:, d - 1] + anomalies[:, d]
    station_offset = weather_rng.normal(0.0, 2.0, (spec.stations, 1))
    temperature = (
        spec.mean_temperature_f
        + station_offset
        + diurnal[None, :]
        + np.repeat(daily, 24, axis=1)[:, :hours]
        + weather_rng.normal(0.0, 0.8, (spec.stations, hours))
    )
    # Events: the hottest weekdays of the later part of the period (mean over stations).
    first_event = spec.first_event_day if spec.first_event_day is not None else spec.days // 2
    zone = spec.time_zones[0]
    day_heat = []
    for day in range(first_event, spec.days - 1):
        when = spec.first_day + timedelta(days=day)
        if when.weekday() >= 5:
            continue
        hour_us = to_us(
            datetime(when.year, when.month, when.day, spec.event_start_hour, tzinfo=ZoneInfo(zone))
        )
        column = (hour_us - utc_start) // (3600 * US_PER_SECOND)
        day_heat.append((float(temperature[:, column].mean()), day))
    if spec.final_event and spec.events:
        last = spec.days - 1
        while (spec.first_day + timedelta(days=last)).weekday() >= 5:
            last -= 1
        earlier = [(heat, day) for heat, day in day_heat if day != last]
        chosen = sorted([last, *(d for _, d in sorted(earlier, reverse=True)[: spec.events - 1])])
    else:
        chosen = sorted(day for _, day in sorted(day_heat, reverse=True)[: spec.events])
    events = []
    for number, day in enumerate(chosen, start=1):
        when = spec.first_day + timedelta(days=day)
        start = datetime(
            when.year, when.month, when.day, spec.event_start_hour, tzinfo=ZoneInfo(zone)
        )
        events.append(
            Event(
                event_id=f"EV{number:04d}",
                program_id=spec.program_id,
                event_type="X1RE",
                start=start,
                end=start + timedelta(hours=spec.event_hours),
            )
        )
    params["takes_part"] = (rng.random((len(events), n)) < spec.participation).astype(np.int8)
    params["event_effect"] = rng.uniform(0.8, 1.2, len(events))
    return SyntheticPopulation(
        spec=spec,
        temperature_f=temperature,
        utc_start_us=int(utc_start),
        events=events,
        event_days=np.asarray(chosen, dtype=np.int64),
        _params=params,
    )
