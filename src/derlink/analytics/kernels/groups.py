"""Who is computed together: a batch split by time zone and interval length, and the context.

A vectorized kernel cannot mix time zones (the local calendar is computed per grid column) or
interval lengths (the grid's columns): ``split_batch`` cuts a batch of service points into such
groups without copying their rows. ``Population`` is what a run knows about the service points
besides their measurements.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

from derlink.analytics.kernels import sufficiency
from derlink.analytics.kernels.events import Event, EventHistory, ServicePoints
from derlink.analytics.kernels.grid import (
    UtcGrid,
    ValueBounds,
    build_grid,
    detect_interval_seconds,
    interval_supported,
)
from derlink.analytics.kernels.intervals import IntervalBatch
from derlink.analytics.kernels.localtime import offset_table
from derlink.analytics.kernels.sufficiency import WarningLog
from derlink.analytics.kernels.weather import Weather

ObjectArray = npt.NDArray[np.object_]
Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Population:
    """What a run knows about the service points beyond their measurements."""

    service_points: ServicePoints = field(default_factory=ServicePoints.empty)
    history: EventHistory = field(default_factory=lambda: EventHistory([]))
    holidays: frozenset[date] = frozenset()
    bounds: ValueBounds = field(default_factory=ValueBounds)
    weather: Weather | None = None


@dataclass(frozen=True)
class Group:
    """Service points of one batch sharing a time zone and an interval length.

    ``members`` index the batch; the rows are not copied out of it (the grid takes them).
    """

    batch: IntervalBatch
    members: Int64Array
    time_zone: str
    interval_s: int
    programs: ObjectArray
    stations: ObjectArray

    @property
    def sp_ids(self) -> ObjectArray:
        return self.batch.sp_ids[self.members]

    def grid(
        self, start_us: int, end_us: int, bounds: ValueBounds, warnings: WarningLog
    ) -> UtcGrid:
        return build_grid(
            self.batch,
            start_us=start_us,
            end_us=end_us,
            interval_s=self.interval_s,
            bounds=bounds,
            warnings=warnings,
            members=self.members,
        )


def split_batch(
    batch: IntervalBatch,
    service_points: ServicePoints,
    warnings: WarningLog,
    keep: npt.NDArray[np.bool_] | None = None,
) -> Iterator[Group]:
    """Split a batch by (time zone, interval length); drop unusable service points, and the
    ones ``keep`` leaves out. A kept service point without a time zone is an error row."""
    zones, programs, stations = service_points.lookup(batch.sp_ids)
    zoneless = np.asarray([z is None for z in zones.tolist()], dtype=bool)
    if keep is not None:
        zoneless &= keep
    warnings.add(
        sufficiency.NO_TIME_ZONE,
        "no time zone: the service point file gives none and the run states no default "
        "(--time-zone); not computed",
        batch.sp_ids[zoneless],
    )
    intervals = detect_interval_seconds(batch)
    usable = interval_supported(intervals)
    unknown = intervals == 0
    warnings.add(
        sufficiency.NO_DATA,
        "fewer than two readings: the interval length is unknown",
        batch.sp_ids[unknown],
    )
    warnings.add(
        sufficiency.INTERVAL_UNSUPPORTED,
        "interval length does not divide a day (whole minutes, at most a day)",
        batch.sp_ids[~usable & ~unknown],
    )
    if keep is not None:
        usable &= keep
    usable &= ~zoneless
    if not usable.any():
        return
    chosen = np.flatnonzero(usable)
    only_zone, only_interval = str(zones[chosen[0]]), int(intervals[chosen[0]])
    if (zones[chosen] == only_zone).all() and (intervals[chosen] == only_interval).all():
        # The usual batch: one time zone, one interval length, one group.
        yield Group(batch, chosen, only_zone, only_interval, programs[chosen], stations[chosen])
        return
    keys = np.char.add(zones.astype(str), np.char.add("|", intervals.astype(str)))
    unique_keys, inverse = np.unique(keys[usable], return_inverse=True)
    for position, key in enumerate(unique_keys.tolist()):
        members = chosen[inverse == position]
        zone, interval = key.rsplit("|", 1)
        yield Group(batch, members, zone, int(interval), programs[members], stations[members])


def event_day(event: Event, time_zone: str) -> int:
    table = offset_table(time_zone, event.start_us, event.end_us)
    days, _ = table.days_and_seconds(np.asarray([event.start_us], dtype=np.int64))
    return int(days[0])
