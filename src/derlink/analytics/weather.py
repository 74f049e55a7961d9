"""Hourly temperature per weather station, on one UTC hour axis.

Input layout (CSV or Parquet): ``station_id, start, temperature_f`` (or ``temperature_c``),
``start`` an ISO timestamp with offset (CSV) or a UTC timestamp (Parquet). Readings within an
hour are averaged; an hour without a reading is NaN. Each service point reads its station's
column through the service point → station mapping of ``events.ServicePoints``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from derlink.analytics.errors import InputFileError
from derlink.analytics.localtime import US_PER_SECOND
from derlink.analytics.measurements import OFFSET_AT_END

FloatArray = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]
ObjectArray = npt.NDArray[np.object_]
HOUR_US = 3600 * US_PER_SECOND


@dataclass(frozen=True)
class Weather:
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

    @classmethod
    def read(cls, path: Path) -> Weather:
        if path.suffix.lower() in {".parquet", ".pq"}:
            raw = pl.read_parquet(path)
        else:
            raw = pl.read_csv(path, infer_schema=False)
        lowered = {c.lower(): c for c in raw.columns}
        if "station_id" not in lowered or "start" not in lowered:
            raise InputFileError(f"{path.name}: weather needs columns station_id, start")
        start = pl.col(lowered["start"])
        if raw.schema[lowered["start"]] == pl.Utf8:
            # SPEC §2.3: timestamps carry an offset; a naive one is dropped, not guessed.
            start = (
                pl.when(start.str.contains(OFFSET_AT_END))
                .then(start.str.to_datetime(time_unit="us", time_zone="UTC", strict=False))
                .otherwise(None)
            )
        if "temperature_f" in lowered:
            temperature = pl.col(lowered["temperature_f"]).cast(pl.Float64, strict=False)
        elif "temperature_c" in lowered:
            temperature = pl.col(lowered["temperature_c"]).cast(pl.Float64, strict=False) * 1.8 + 32
        else:
            raise InputFileError(f"{path.name}: weather needs temperature_f or temperature_c")
        frame = raw.select(
            pl.col(lowered["station_id"]).alias("station_id"),
            start.dt.convert_time_zone("UTC").alias("start"),
            temperature.alias("temperature_f"),
        )
        return cls.from_frame(frame)
