"""Hourly temperature per weather station, on one UTC hour axis.

Built from a long frame ``station_id, start, temperature_f`` (the weather file is read by
``measurements/weather.py``). Readings within an hour are averaged; an hour without a reading
is NaN. Each service point reads its station's column through the service point → station
mapping of ``events.ServicePoints``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import polars as pl

from derlink.analytics.kernels.localtime import US_PER_SECOND

FloatArray = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]
ObjectArray = npt.NDArray[np.object_]
HOUR_US = 3600 * US_PER_SECOND


@dataclass(frozen=True)
class Weather:
    """Hourly temperature (°F) of each station on one UTC hour axis, NaN where none was read."""

    station_ids: tuple[str, ...]
    start_us: int  # UTC start of hour column 0
    temperature_f: FloatArray  # (stations, hours)
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({s: i for i, s in enumerate(self.station_ids)})

    @property
    def hours(self) -> int:
        return int(self.temperature_f.shape[1])

    def station_index(self, stations: ObjectArray) -> Int64Array:
        """Row of each station (−1 when the station is unknown or missing)."""
        return np.asarray(
            [self._index.get(s, -1) if s is not None else -1 for s in stations.tolist()],
            dtype=np.int64,
        )

    def for_stations(self, stations: ObjectArray, column_starts_us: Int64Array) -> FloatArray:
        """(N, H) temperatures of each service point's station at each hour (NaN if none)."""
        rows = self.station_index(stations)
        hours = (column_starts_us - self.start_us) // HOUR_US
        inside = (hours >= 0) & (hours < self.hours)
        values = self.temperature_f[np.maximum(rows, 0)][:, np.clip(hours, 0, self.hours - 1)]
        values[:, ~inside] = np.nan
        values[rows < 0] = np.nan
        return values

    @classmethod
    def from_frame(cls, frame: pl.DataFrame) -> Weather:
        """From a long frame ``station_id, start (UTC datetime), temperature_f``."""
        if frame.height == 0:
            return cls((), 0, np.zeros((0, 0)))
        data = frame.select(
            pl.col("station_id").cast(pl.Utf8),
            pl.col("start").dt.epoch("us").alias("us"),
            pl.col("temperature_f").cast(pl.Float64),
        ).drop_nulls()
        stations = sorted(set(data["station_id"].to_list()))
        index = {s: i for i, s in enumerate(stations)}
        us = data["us"].to_numpy()
        first = int(us.min()) // HOUR_US * HOUR_US
        hour = (us - first) // HOUR_US
        hours = int(hour.max()) + 1
        row = np.asarray([index[s] for s in data["station_id"].to_list()], dtype=np.int64)
        flat = row * hours + hour
        values = data["temperature_f"].to_numpy()
        sums = np.bincount(flat, weights=values, minlength=len(stations) * hours)
        counts = np.bincount(flat, minlength=len(stations) * hours)
        with np.errstate(invalid="ignore", divide="ignore"):
            grid = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        return cls(tuple(stations), first, grid.reshape(len(stations), hours))
