"""The weather file: hourly temperature per station, read into ``kernels.weather.Weather``.

Layout (CSV or Parquet): a station, a start and a temperature, under any of their usual names
(compared without case, spaces, ``_``, ``-``, brackets or ``°``):

- station: ``station_id``, ``StationId``, ``station``, ``weather_station``;
- start: ``start``, ``timestamp``, ``time``, ``datetime``, ``date_time``, ``valid``,
  ``observation_time``;
- temperature in °F: ``temperature_f``, ``temp_f``, ``tmpf``, ``Temperature (°F)``,
  ``dry_bulb_f``; in °C: ``temperature_c``, ``temp_c``, ``tmpc``, ``Temperature (°C)``,
  ``dry_bulb_c``. A temperature without its unit (``temperature``) is refused, not guessed.

``start`` is an ISO timestamp with an offset (CSV) or a UTC timestamp (Parquet); timestamps
without an offset are read in the zone the run states for them, or refused.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from derlink.analytics.errors import InputFileError
from derlink.analytics.kernels import sufficiency
from derlink.analytics.kernels.sufficiency import WarningLog
from derlink.analytics.kernels.weather import Weather
from derlink.analytics.measurements.readers import OFFSET_AT_END, localized

_STATION = {"stationid", "station", "weatherstation", "weatherstationid"}
_START = {"start", "timestamp", "time", "datetime", "valid", "observationtime", "starttime"}
_FAHRENHEIT = {"temperaturef", "tempf", "tmpf", "drybulbf", "drybulbtemperaturef"}
_CELSIUS = {"temperaturec", "tempc", "tmpc", "drybulbc", "drybulbtemperaturec"}


def _key(column: str) -> str:
    return re.sub(r"[\s_\-()\[\]°]", "", column.lower())


def _find(columns: list[str], names: set[str]) -> str | None:
    return next((c for c in columns if _key(c) in names), None)


def read_weather(
    path: Path, naive_zone: str | None = None, warnings: WarningLog | None = None
) -> Weather:
    """Read a weather file; timestamps without an offset are in ``naive_zone`` (refused when
    it is None). A row whose time or temperature cannot be read is left out, named by station
    and row in ``warnings`` (``analytics.weather.bad_row``)."""
    csv = path.suffix.lower() not in {".parquet", ".pq"}
    raw = pl.read_csv(path, infer_schema=False) if csv else pl.read_parquet(path)
    station, start_name = _find(raw.columns, _STATION), _find(raw.columns, _START)
    if station is None or start_name is None:
        raise InputFileError(
            f"{path.name}: weather needs a station (station_id) and a start (start, timestamp)",
            columns=raw.columns,
        )
    fahrenheit, celsius = _find(raw.columns, _FAHRENHEIT), _find(raw.columns, _CELSIUS)
    if fahrenheit is not None:
        temperature = pl.col(fahrenheit).cast(pl.Float64, strict=False)
    elif celsius is not None:
        temperature = pl.col(celsius).cast(pl.Float64, strict=False) * 1.8 + 32
    else:
        raise InputFileError(
            f"{path.name}: weather needs a temperature with its unit: temperature_f or "
            "temperature_c (or temp_f, tmpf, temp_c, tmpc)",
            columns=raw.columns,
        )
    frame = raw.with_row_index("row", offset=2 if csv else 1).select(
        "row",
        pl.col(station).cast(pl.Utf8).alias("station_id"),
        pl.col(start_name).alias("start"),
        temperature.alias("temperature_f"),
    )
    frame = frame.with_columns(_utc_start(frame, path, naive_zone))
    _report_unread(frame, path, warnings if warnings is not None else WarningLog())
    return Weather.from_frame(frame.drop("row"))


def _report_unread(frame: pl.DataFrame, path: Path, warnings: WarningLog) -> None:
    sufficiency.add_row_warnings(
        warnings,
        sufficiency.WEATHER_BAD_ROW,
        f"rows of {path.name} without a station, a time that exists or a temperature (left out)",
        frame.filter(pl.any_horizontal(pl.col("station_id", "start", "temperature_f").is_null())),
        "station_id",
        "row",
    )


def _utc_start(frame: pl.DataFrame, path: Path, naive_zone: str | None) -> pl.Expr:
    """The start column as UTC instants; naive ones in ``naive_zone``, or the file refused."""
    dtype = frame.schema["start"]
    if isinstance(dtype, pl.Datetime):
        start = pl.col("start")
        if dtype.time_zone is None:
            start = localized(start, _stated(naive_zone, path, "a timestamp"), "station_id")
        return start.dt.convert_time_zone("UTC").alias("start")
    text = pl.col("start").cast(pl.Utf8).str.strip_chars()
    has_offset = text.str.contains(OFFSET_AT_END).fill_null(False)
    if not naive_zone:
        naive = frame.filter(
            pl.when(~has_offset)
            .then(text)
            .str.to_datetime(time_unit="us", strict=False)
            .is_not_null()
        )
        if naive.height:
            _stated(None, path, f"{naive.height} timestamp(s), the first {naive['start'][0]!r},")
        return text.str.to_datetime(time_unit="us", time_zone="UTC", strict=False).alias("start")
    naive_start = localized(
        pl.when(~has_offset).then(text).str.to_datetime(time_unit="us", strict=False),
        naive_zone,
        "station_id",
    )
    return (
        pl.when(has_offset)
        .then(text.str.to_datetime(time_unit="us", time_zone="UTC", strict=False))
        .otherwise(naive_start)
        .alias("start")
    )


def _stated(naive_zone: str | None, path: Path, what: str) -> str:
    if naive_zone is None:
        raise InputFileError(
            f"{path.name}: {what} without a UTC offset; state their zone with --timestamps-zone"
        )
    return naive_zone
