"""Device scores and forecasts as DERMS keeps them, and the rule both follow: the latest one per
key is kept, and one not newer than what is held changes nothing (the write compares the times,
service.py; the rows of one call are first reduced to the newest per key here)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar


@dataclass(frozen=True, slots=True)
class DeviceScore:
    """One device's score, keyed by (head-end system, NIC id); ``scored_at`` orders them."""

    head_end_system: str
    nic_id: str
    device_id: str
    score: int
    events: int
    reliability: float
    performance: float | None
    last_event_at: datetime | None
    scored_at: datetime
    #: The file (and so the run) it came in.
    file: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.head_end_system, self.nic_id)


@dataclass(frozen=True, slots=True)
class Forecast:
    """A service point's forecast for a coming window, keyed by the service point;
    ``forecast_at`` orders them."""

    sp_id: str
    program_id: str
    window_start: datetime
    window_end: datetime
    interval_s: int
    forecast_at: datetime
    #: Per interval of the window, in order: the expected kW reduction (P50) and its band.
    p10_kw: Sequence[float]
    p50_kw: Sequence[float]
    p90_kw: Sequence[float]
    file: str

    @property
    def key(self) -> str:
        return self.sp_id


@dataclass(frozen=True, slots=True)
class Applied:
    """What a collection call changed: rows kept, and rows not newer than what was held."""

    applied: int
    stale: int


Key = TypeVar("Key")
Item = TypeVar("Item")


def newest(items: Iterable[tuple[Key, datetime, Item]]) -> list[Item]:
    """Of ``(key, time, item)``, the newest item of each key (the first of equal times): of
    the rows of one call, the one to hold against what DERMS holds."""
    found: dict[Key, tuple[datetime, Item]] = {}
    for key, at, item in items:
        seen = found.get(key)
        if seen is None or at > seen[0]:
            found[key] = (at, item)
    return [item for _, item in found.values()]
