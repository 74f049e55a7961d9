"""LRF — Load-reduction forecasts: analytics → DERMS.

analytics writes its forecast file (prefix ``LRF_``) to its content server on a schedule; the
hub reads it in windows of records (``files.py``) and delivers each service point's forecast to
DERMS's Forecast service (``derms_inputs.py``), which keeps the latest forecast per service
point. The layout is in docs/contracts/analytics-files.md.
"""

from __future__ import annotations

from typing import ClassVar

import orjson

from derlink.contracts.input_files import FORECAST_HEADER, INTERVAL_SEPARATOR
from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.flows.derms_inputs import (
    DermsInputFlow,
    Record,
    RowProblem,
    instant,
    key,
    whole,
)

#: The most intervals DERMS keeps of one forecast (a day of 5-minute intervals).
MAX_INTERVALS = 288


def intervals(value: str, column: str) -> list[float]:
    """The values of the window's intervals, in order. Read as one JSON array by orjson (a
    million rows hold 72 million values: one parse per column, not one per value), which takes
    plain decimal numbers only: no NaN, no infinity, no hexadecimal, none out of range."""
    try:
        if "," in value:
            raise ValueError
        values: list[float] = orjson.loads(f"[{value.replace(INTERVAL_SEPARATOR, ',')}]")
    except ValueError:
        raise RowProblem(
            f"{column} holds a value that is not a finite number: {value[:40]!r}"
        ) from None
    if not values:
        raise RowProblem(f"{column} is blank")
    if len(values) > MAX_INTERVALS:
        raise RowProblem(f"{column} has more than {MAX_INTERVALS} intervals")
    return values


class LoadReductionForecastFlow(DermsInputFlow):
    spec: ClassVar[FlowSpec] = FLOWS["LRF"]
    header: ClassVar[tuple[str, ...]] = FORECAST_HEADER
    derms_path: ClassVar[str] = "/api/v1/forecasts"
    derms_field: ClassVar[str] = "forecasts"
    row_code: ClassVar[str] = "HUB-FORECAST-ROW"
    #: A forecast row is some 650 bytes (24 intervals): windows of about 13,000 rows, so that
    #: each window makes several calls to DERMS, which go together.
    window = 8 * 1024 * 1024

    def record(self, fields: list[str]) -> Record:
        at, program, sp, start, end, size, _past, _ratio, _mean, p10, p50, p90 = fields
        band = [intervals(v, c) for v, c in ((p10, "P10Kw"), (p50, "P50Kw"), (p90, "P90Kw"))]
        if not len(band[0]) == len(band[1]) == len(band[2]):
            raise RowProblem("P10Kw, P50Kw and P90Kw differ in their number of intervals")
        return {
            "spId": key(sp, "SPId"),
            "programId": key(program, "ProgramId"),
            "windowStartTime": instant(start, "WindowStartTime"),
            "windowEndTime": instant(end, "WindowEndTime"),
            "intervalSeconds": whole(size, "IntervalSize(Seconds)", low=60, high=86_400),
            "forecastDateTime": instant(at, "ForecastDateTime"),
            "p10Kw": band[0],
            "p50Kw": band[1],
            "p90Kw": band[2],
        }
