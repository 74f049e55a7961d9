"""Device scores and forecasts as DERMS keeps them, and the one rule both follow: the latest
one per key is kept, and one not newer than what is held changes nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    p10_kw: tuple[float, ...]
    p50_kw: tuple[float, ...]
    p90_kw: tuple[float, ...]
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


def latest(items: Iterable[tuple[Key, datetime, Item]], held: Mapping[Key, datetime]) -> list[Item]:
    """The items to keep from ``(key, time, item)``: per key, the newest of the call's, and
    only when newer than the one held; an equal or older one (a stale or repeated row) is left
    out."""
    newest: dict[Key, tuple[datetime, Item]] = {}
    for key, at, item in items:
        seen = newest.get(key)
        if (seen is None or at > seen[0]) and (key not in held or at > held[key]):
            newest[key] = (at, item)
    return [item for _, item in newest.values()]
