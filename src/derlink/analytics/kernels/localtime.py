"""Local days, interval slots and day types, computed from UTC instants (DST-safe).

Every timestamp in analytics is a UTC instant (``int64`` microseconds since the epoch). Local
calendar facts (which day an interval belongs to, its slot within that day, the day type) come
from the service point's IANA time zone through an ``OffsetTable``: the zone's UTC offset sampled
every 15 minutes, so that a whole column of instants converts with one vectorized lookup. On a
spring-forward day a local day has fewer intervals, on a fall-back day one local slot occurs
twice; callers see both facts as data rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import IntEnum, StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

US_PER_SECOND = 1_000_000
SECONDS_PER_DAY = 86_400
US_PER_DAY = SECONDS_PER_DAY * US_PER_SECOND
# Every transition of every current IANA zone falls on a multiple of 15 minutes of UTC.
_OFFSET_STEP_S = 900
_EPOCH = date(1970, 1, 1)

Int64Array = npt.NDArray[np.int64]


def to_us(moment: datetime) -> int:
    """A timezone-aware datetime as UTC microseconds since the epoch."""
    if moment.tzinfo is None:
        raise ValueError("analytics needs timezone-aware datetimes")
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * SECONDS_PER_DAY + delta.seconds) * US_PER_SECOND + delta.microseconds


def delta_us(delta: timedelta) -> int:
    """A duration in microseconds."""
    return (delta.days * SECONDS_PER_DAY + delta.seconds) * US_PER_SECOND + delta.microseconds


def from_us(value: int, time_zone: str = "UTC") -> datetime:
    """UTC microseconds as an aware datetime in ``time_zone``."""
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(value))
    return moment.astimezone(ZoneInfo(time_zone))


def day_number(day: date) -> int:
    """Days since 1970-01-01 (a local calendar day as an integer)."""
    return (day - _EPOCH).days


def day_from_number(number: int) -> date:
    return _EPOCH + timedelta(days=int(number))


@dataclass(frozen=True)
class OffsetTable:
    """UTC offsets (seconds) of one time zone, sampled every 15 minutes from ``base_us``."""

    time_zone: str
    base_us: int
    offsets_s: Int64Array

    def offsets(self, utc_us: Int64Array) -> Int64Array:
        """The zone's UTC offset at each instant (clamped to the table's range)."""
        index = (utc_us - self.base_us) // (_OFFSET_STEP_S * US_PER_SECOND)
        np.clip(index, 0, len(self.offsets_s) - 1, out=index)
        return self.offsets_s[index]

    def local_seconds(self, utc_us: Int64Array) -> Int64Array:
        """Local wall-clock seconds since the local epoch for each UTC instant."""
        return utc_us // US_PER_SECOND + self.offsets(utc_us)

    def days_and_seconds(self, utc_us: Int64Array) -> tuple[Int64Array, Int64Array]:
        """(local day number, local second of day) of each UTC instant."""
        local = self.local_seconds(utc_us)
        return local // SECONDS_PER_DAY, local % SECONDS_PER_DAY


def offset_table(time_zone: str, start_us: int, end_us: int) -> OffsetTable:
    """An offset table covering [start_us, end_us] with a day of margin on both sides."""
    step_us = _OFFSET_STEP_S * US_PER_SECOND
    first = (start_us - US_PER_DAY) // US_PER_DAY * US_PER_DAY
    last = (end_us + 2 * US_PER_DAY) // US_PER_DAY * US_PER_DAY
    return _cached_table(time_zone, first, last, step_us)


@lru_cache(maxsize=256)
def _cached_table(time_zone: str, first_us: int, last_us: int, step_us: int) -> OffsetTable:
    zone = ZoneInfo(time_zone)
    offsets: list[int] = []
    # Offsets change a few times a year: sample once an hour and refine only around changes,
    # so that a year's table costs ~9,000 zone look-ups rather than 35,000.
    hour_us = 3600 * US_PER_SECOND
    previous = None
    instant = first_us
    while instant < last_us:
        offset = _offset_at(zone, instant)
        if previous is not None and offset != previous:
            # a transition happened within the last hour: resample it at the table's step
            del offsets[-(hour_us // step_us) :]
            for sub in range(instant - hour_us, instant, step_us):
                offsets.append(_offset_at(zone, sub))
        offsets.extend([offset] * (hour_us // step_us))
        previous = offset
        instant += hour_us
    return OffsetTable(time_zone, first_us, np.asarray(offsets, dtype=np.int64))


def _offset_at(zone: ZoneInfo, instant_us: int) -> int:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=instant_us)
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


def local_midnight_us(time_zone: str, local_day: int) -> int:
    """The UTC instant at which ``local_day`` begins in ``time_zone``."""
    day = day_from_number(local_day)
    start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(time_zone))
    return to_us(start)


def weekday(day_numbers: Int64Array) -> Int64Array:
    """Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday)."""
    return (day_numbers + 3) % 7


class DayType(IntEnum):
    """The day types a baseline rule matches on ("same day type" in every X-of-Y rule)."""

    WEEKDAY = 0
    WEEKEND_OR_HOLIDAY = 1  # the two-type schemes: everything that is not a business day
    SATURDAY = 2
    SUNDAY_OR_HOLIDAY = 3


class DayTypeScheme(StrEnum):
    """How days are split into types: CAISO uses two, PJM and NYISO three (Saturday apart)."""

    WEEKDAY_WEEKEND = "weekday_weekend"
    WEEKDAY_SATURDAY_SUNDAY = "weekday_saturday_sunday"


def day_types(
    day_numbers: Int64Array, holidays: Int64Array, scheme: DayTypeScheme
) -> npt.NDArray[np.int8]:
    """The day type of each local day number; a holiday counts as a Sunday/weekend day."""
    dow = weekday(day_numbers)
    is_holiday = np.isin(day_numbers, holidays)
    if scheme is DayTypeScheme.WEEKDAY_WEEKEND:
        weekend = (dow >= 5) | is_holiday
        return np.where(weekend, DayType.WEEKEND_OR_HOLIDAY, DayType.WEEKDAY).astype(np.int8)
    out = np.full(day_numbers.shape, DayType.WEEKDAY, dtype=np.int8)
    out[dow == 5] = DayType.SATURDAY
    out[(dow == 6) | is_holiday] = DayType.SUNDAY_OR_HOLIDAY
    return out


def holiday_numbers(holidays: frozenset[date] | set[date] | list[date]) -> Int64Array:
    return np.asarray(sorted(day_number(d) for d in holidays), dtype=np.int64)
