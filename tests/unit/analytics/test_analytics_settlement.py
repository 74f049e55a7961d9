"""kWh avoided and kW drop rows in the Oracle file layouts (docs/contracts/analytics-files.md)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from derlink.analytics.kernels.baselines.results import EventSavings
from derlink.analytics.kernels.events import Event
from derlink.analytics.kernels.kwh_avoided import (
    KW_DROP_HEAD,
    KWH_AVOIDED_HEAD,
    kw_drop_frame,
    kwh_avoided_frame,
)
from derlink.analytics.kernels.localtime import to_us

LA = ZoneInfo("America/Los_Angeles")
EVENT = Event(
    "EV1",
    "PRG1",
    "X1EM",
    datetime(2026, 7, 15, 16, tzinfo=LA),
    datetime(2026, 7, 15, 18, tzinfo=LA),
)


def savings(baseline, actual, interval_s=3600, ids=("SP1",)):
    k = len(baseline[0])
    start = to_us(EVENT.start)
    return EventSavings(
        np.asarray(ids, dtype=object),
        "America/Los_Angeles",
        interval_s,
        start + np.arange(k, dtype=np.int64) * interval_s * 1_000_000,
        np.asarray(baseline, dtype=float),
        np.asarray(actual, dtype=float),
    )


def test_the_kwh_avoided_row_carries_the_event_and_the_saving_per_interval():
    frame = kwh_avoided_frame(EVENT, [savings([[3.0, 2.5]], [[1.0, 2.0]])])
    assert frame.columns == [*KWH_AVOIDED_HEAD, "KwhSaved1", "KwhSaved2"]
    row = frame.row(0, named=True)
    assert row["EventId"] == "EV1" and row["EventType"] == "X1EM" and row["ProgramId"] == "PRG1"
    assert row["ActualStartTime"] == "2026-07-15T16:00:00-07:00"
    assert row["ActualEndTime"] == "2026-07-15T18:00:00-07:00"
    assert row["IntervalSize(Seconds)"] == 3600
    assert row["TotalKwh"] == 3.0
    assert row["TotalKwhSavedForPeriod"] == 2.5
    assert (row["KwhSaved1"], row["KwhSaved2"]) == (2.0, 0.5)


def test_kw_drop_is_the_saving_divided_by_the_interval_length_in_hours():
    frame = kw_drop_frame(EVENT, [savings([[1.0, 1.0]], [[0.5, 0.75]], interval_s=900)])
    assert frame.columns == [*KW_DROP_HEAD, "KwDrop1", "KwDrop2"]
    row = frame.row(0, named=True)
    assert (row["KwDrop1"], row["KwDrop2"]) == (2.0, 1.0)
    assert row["MaxKwDrop"] == 2.0


def test_an_interval_without_an_actual_reading_is_blank():
    kwh = kwh_avoided_frame(EVENT, [savings([[3.0, 2.5]], [[np.nan, 2.0]])])
    kw = kw_drop_frame(EVENT, [savings([[3.0, 2.5]], [[np.nan, 2.0]])])
    assert kwh["KwhSaved1"].to_list() == [None]
    assert kwh["TotalKwhSavedForPeriod"].to_list() == [0.5]
    assert kw["KwDrop1"].to_list() == [None]
    assert kw["MaxKwDrop"].to_list() == [0.5]


def test_a_service_point_without_a_baseline_gets_no_row():
    frame = kwh_avoided_frame(
        EVENT, [savings([[np.nan, np.nan], [1.0, 1.0]], [[1.0, 1.0], [0.5, 0.5]], ids=("A", "B"))]
    )
    assert frame["SPId"].to_list() == ["B"]


def test_groups_of_different_interval_lengths_share_one_file_with_blank_tails():
    hourly = savings([[2.0, 2.0]], [[1.0, 1.0]], ids=("H",))
    quarter = savings([[0.5] * 8], [[0.25] * 8], interval_s=900, ids=("Q",))
    frame = kwh_avoided_frame(EVENT, [quarter, hourly])
    assert frame["SPId"].to_list() == ["H", "Q"]
    assert frame.columns[-1] == "KwhSaved8"
    assert frame.row(0, named=True)["KwhSaved3"] is None
    assert frame.row(1, named=True)["TotalKwhSavedForPeriod"] == 2.0


def test_an_empty_settlement_still_has_the_header():
    assert kwh_avoided_frame(EVENT, []).columns == KWH_AVOIDED_HEAD
