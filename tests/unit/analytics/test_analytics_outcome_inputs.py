"""Who took part in an event, read from DERMS's outcome files (runs/inputs.py ``read_outcomes``),
and the event days a service point's baselines skip because of it (kernels/events.py)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pytest

from derlink.analytics.errors import InputFileError
from derlink.analytics.kernels.events import Event, EventHistory
from derlink.analytics.kernels.localtime import day_number
from derlink.analytics.runs.inputs import outcome_files, read_outcomes
from derlink.contracts.event_files import OUTCOME_HEADER

LA = ZoneInfo("America/Los_Angeles")


def write(folder: Path, name: str, *rows: tuple[str, str, str, str]) -> Path:
    """An outcome file of rows (StageId, NicId, SPId, Outcome), the other columns filled."""
    path = folder / name
    frame = pl.DataFrame(
        [
            {c: "" for c in OUTCOME_HEADER}
            | {"RecordId": str(n), "EventId": "DR-1", "HeadEndSystem": "HE", "StageId": stage,
               "NicId": nic, "SPId": sp, "Outcome": outcome}
            for n, (stage, nic, sp, outcome) in enumerate(rows, start=1)
        ],
        schema=dict.fromkeys(OUTCOME_HEADER, pl.Utf8),
    )  # fmt: skip
    frame.write_csv(path)
    return path


def test_the_participants_are_every_device_s_service_point_but_the_cancelled(tmp_path: Path):
    path = write(
        tmp_path,
        "OUTCOME_20260718T010000Z_000001.csv",
        ("E1", "N1", "A", "D1SP"),
        ("E1", "N2", "B", "D1ND"),
        ("E1", "N3", "C", "D1ER"),
        ("E1", "N4", "D", "D1IO"),
        ("E1", "N5", "E", "D1CN"),
        ("E1", "N6", "A", "D1CN"),  # A's other device was cancelled: A still took part
        ("E2", "N7", "F", "D1CN"),
    )
    history = EventHistory.of([], read_outcomes([path]))
    assert history.participants("E1") == frozenset("ABCD")
    assert history.participants("E2") == frozenset()  # listed, nobody took part
    assert history.participants("E3") is None  # not listed: the event covers its program


def test_a_newer_file_s_row_replaces_a_device_s_row_whatever_the_order_given(tmp_path: Path):
    older = write(tmp_path, "OUTCOME_20260718T010000Z_000009.csv", ("E1", "N1", "A", "D1SP"))
    newer = write(tmp_path, "OUTCOME_20260718T020000Z_000010.csv", ("E1", "N1", "A", "D1CN"))
    plain = write(tmp_path, "late.csv", ("E1", "N2", "B", "D1SP"))
    assert outcome_files([newer, plain, older]) == [plain, older, newer]
    assert outcome_files([tmp_path]) == [older, newer]  # a folder: its OUTCOME_*.csv files
    history = EventHistory.of([], read_outcomes([newer, older, plain]))
    assert history.participants("E1") == frozenset({"B"})


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("E1", "N1", "A", "D1XX")], "row 2: Outcome is not one of D1SP, D1ND, D1IO, D1ER, D1CN"),
        ([("E1", "N1", "A", "D1SP"), ("E1", "N2", "", "D1SP")],
         "row 3: StageId, HeadEndSystem, NicId, SPId, Outcome may not be blank"),
    ],
)  # fmt: skip
def test_an_outcome_row_that_cannot_be_read_is_named(
    tmp_path: Path, rows: list[tuple[str, str, str, str]], message: str
):
    path = write(tmp_path, "OUTCOME_20260718T010000Z_000001.csv", *rows)
    with pytest.raises(InputFileError, match=message):
        read_outcomes([path])


def test_a_service_point_s_event_day_is_excluded_only_when_it_took_part(tmp_path: Path):
    path = write(
        tmp_path,
        "OUTCOME_20260718T010000Z_000001.csv",
        ("E1", "N1", "A", "D1SP"),
        ("E1", "N2", "B", "D1CN"),
        ("E2", "N3", "B", "D1CN"),
    )
    events = [
        Event("E1", "P", "X1RE", datetime(2026, 7, 6, 16, tzinfo=LA),
              datetime(2026, 7, 6, 20, tzinfo=LA)),
        Event("E2", "P", "X1RE", datetime(2026, 7, 7, 16, tzinfo=LA),
              datetime(2026, 7, 7, 20, tzinfo=LA)),
        Event("E3", "P", "X1RE", datetime(2026, 7, 8, 16, tzinfo=LA),
              datetime(2026, 7, 8, 20, tzinfo=LA)),
    ]  # fmt: skip
    history = EventHistory.of(events, read_outcomes([path]))
    days = np.asarray([day_number(date(2026, 7, d)) for d in (6, 7, 8)])
    out = history.excluded_days(
        np.asarray(["A", "B", "C"], dtype=object),
        np.asarray(["P", "P", "P"], dtype=object),
        "America/Los_Angeles",
        days,
    )
    assert out.tolist() == [
        [True, False, True],  # A: took part in E1; E3, not listed, covers the program
        [False, False, True],  # B: cancelled in E1 and E2
        [False, False, True],  # C: in no outcome row of E1 or E2
    ]
