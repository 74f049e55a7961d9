"""The weather file: hourly temperature per station, read into ``kernels.weather.Weather``.

Layout (CSV or Parquet): ``station_id, start, temperature_f`` (or ``temperature_c``), ``start``
an ISO timestamp with offset (CSV) or a UTC timestamp (Parquet).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from derlink.analytics.errors import InputFileError
from derlink.analytics.kernels.weather import Weather
from derlink.analytics.measurements.readers import OFFSET_AT_END


def read_weather(path: Path) -> Weather:
    """Read a weather file; a CSV timestamp without an offset is dropped, not guessed."""
    if path.suffix.lower() in {".parquet", ".pq"}:
        raw = pl.read_parquet(path)
    else:
        raw = pl.read_csv(path, infer_schema=False)
    lowered = {c.lower(): c for c in raw.columns}
    if "station_id" not in lowered or "start" not in lowered:
        raise InputFileError(f"{path.name}: weather needs columns station_id, start")
    start = pl.col(lowered["start"])
    if raw.schema[lowered["start"]] == pl.Utf8:
        # Timestamps carry an offset; a naive one is dropped, not guessed.
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
    return Weather.from_frame(frame)
