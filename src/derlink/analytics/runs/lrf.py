"""The load-reduction forecast file the LRF flow takes to DERMS: ``LRF_<YYYYMMDDThhmmssZ>.csv``
(docs/contracts/analytics-files.md), one row per service point, its intervals' P10, P50 (the
expected reduction) and P90 kW each in one column, ``;`` between intervals, so that the header is
the same whatever the window.

A service point whose forecast misses an interval (no like day had a reading there) has no row:
DERMS keeps whole forecasts only.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime

import polars as pl

from derlink.common.clock import iso_z
from derlink.contracts.input_files import (
    FORECAST_HEADER,
    FORECAST_PREFIX,
    INTERVAL_SEPARATOR,
    stamped_name,
)

#: Rows of the file per chunk written.
WRITE_ROWS = 20_000
_BANDS = (("P10Kw", "P10Kw"), ("P50Kw", "ExpectedKw"), ("P90Kw", "P90Kw"))


def lrf_name(forecast_at: datetime) -> str:
    """``LRF_<YYYYMMDDThhmmssZ>.csv``: the name the LRF flow lists."""
    return stamped_name(FORECAST_PREFIX, forecast_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))


def lrf_frame(forecast: pl.DataFrame, forecast_at: datetime) -> pl.DataFrame:
    """The forecast run's rows (``kernels.forecast.forecast_frame``) in the LRF layout; the
    rows that miss an interval are left out."""
    intervals = {band: _numbered(forecast.columns, source) for band, source in _BANDS}
    every = [c for columns in intervals.values() for c in columns]
    whole = forecast.filter(pl.all_horizontal(pl.col(every).is_not_null())) if every else forecast
    return whole.select(
        pl.lit(iso_z(forecast_at)).alias("ForecastDateTime"),
        *FORECAST_HEADER[1:9],
        *(
            pl.concat_str(
                [pl.col(c).cast(pl.Float64).round(4).cast(pl.Utf8) for c in columns],
                separator=INTERVAL_SEPARATOR,
            ).alias(band)
            for band, columns in intervals.items()
        ),
    )


def _numbered(columns: list[str], prefix: str) -> list[str]:
    """``<prefix>1``, ``<prefix>2``… of ``columns``, in number order."""
    found = {int(c[len(prefix) :]): c for c in columns if c.removeprefix(prefix).isdigit()}
    return [found[n] for n in sorted(found)]


async def lrf_chunks(frame: pl.DataFrame) -> AsyncGenerator[bytes, None]:
    """The file's bytes, header first, a chunk of rows at a time."""
    if frame.height == 0:
        yield (",".join(FORECAST_HEADER) + "\n").encode()
        return
    for offset in range(0, frame.height, WRITE_ROWS):
        part = frame.slice(offset, WRITE_ROWS)
        yield part.write_csv(include_header=offset == 0, null_value="").encode()
