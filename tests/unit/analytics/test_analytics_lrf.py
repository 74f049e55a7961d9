"""The LRF file's rows from the forecast kernel's: one column per band, the intervals in order,
a service point missing an interval left out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import polars as pl

from derlink.analytics.runs.lrf import lrf_chunks, lrf_frame, lrf_name
from derlink.contracts.input_files import FORECAST_HEADER

AT = datetime(2026, 7, 16, 6, 0, tzinfo=UTC)


def kernel_rows() -> pl.DataFrame:
    head = {
        "ProgramId": ["BYOT", "BYOT"],
        "SPId": ["SP1", "SP2"],
        "WindowStartTime": "2026-07-16T16:00:00-07:00",
        "WindowEndTime": "2026-07-16T18:00:00-07:00",
        "IntervalSize(Seconds)": 3600,
        "PastEvents": [3, 0],
        "ResponseRatio": [0.2, 0.1],
        "MeanExpectedKw": [1.5, 1.0],
    }
    # The kernel's order: every ExpectedKw, then P10Kw, then P90Kw; interval 10 after 2.
    bands = {
        "ExpectedKw": ([1.0, 1.0], [2.0, None]),
        "P10Kw": ([0.5, 0.5], [1.5, 0.5]),
        "P90Kw": ([1.5, 1.5], [2.5, 1.5]),
    }
    columns: dict[str, object] = dict(head)
    for name, (first, second) in bands.items():
        columns[f"{name}1"] = first
        columns[f"{name}2"] = second
    return pl.DataFrame(columns)


def test_each_band_holds_the_intervals_in_order_and_a_partial_forecast_is_left_out() -> None:
    frame = lrf_frame(kernel_rows(), AT)
    assert tuple(frame.columns) == FORECAST_HEADER
    assert frame.rows(named=True) == [
        {
            "ForecastDateTime": "2026-07-16T06:00:00.000Z",
            "ProgramId": "BYOT",
            "SPId": "SP1",
            "WindowStartTime": "2026-07-16T16:00:00-07:00",
            "WindowEndTime": "2026-07-16T18:00:00-07:00",
            "IntervalSize(Seconds)": 3600,
            "PastEvents": 3,
            "ResponseRatio": 0.2,
            "MeanExpectedKw": 1.5,
            "P10Kw": "0.5;1.5",
            "P50Kw": "1.0;2.0",
            "P90Kw": "1.5;2.5",
        }
    ]


def test_intervals_are_ordered_by_number_not_by_text() -> None:
    rows = pl.DataFrame(
        {**{c: ["x"] for c in FORECAST_HEADER[1:9]}}
        | {
            f"{band}{i}": [float(i)]
            for band in ("ExpectedKw", "P10Kw", "P90Kw")
            for i in (10, 2, 1)
        }
    )
    assert lrf_frame(rows, AT)["P50Kw"].to_list() == ["1.0;2.0;10.0"]


def test_the_file_is_named_for_the_flow_and_written_header_first() -> None:
    assert lrf_name(AT) == "LRF_20260716T060000Z.csv"

    async def text(frame: pl.DataFrame) -> str:
        return b"".join([c async for c in lrf_chunks(frame)]).decode()

    written = asyncio.run(text(lrf_frame(kernel_rows(), AT)))
    assert written.splitlines()[0] == ",".join(FORECAST_HEADER)
    assert len(written.splitlines()) == 2
    empty = asyncio.run(text(lrf_frame(kernel_rows().clear(), AT)))
    assert empty == ",".join(FORECAST_HEADER) + "\n"
