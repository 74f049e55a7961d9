"""``derlink analytics`` over files: the commands a utility analyst runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from typer.testing import CliRunner

from derlink.analytics.kernels.synthetic import PopulationSpec
from derlink.analytics.runs.synthetic import write_population
from derlink.cli.analytics_cmd import app

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("population")
    return write_population(
        folder,
        service_points=40,
        spec=PopulationSpec(service_points=40, days=46, events=3, seed=11),
        sps_per_batch=16,
    )


def attempt(*args):
    """The command's result, whatever its exit code."""
    return runner.invoke(app, [str(a) for a in args])


def invoke(*args):
    result = attempt(*args)
    assert result.exit_code == 0, result.output
    invoke.last = result  # type: ignore[attr-defined]
    return result


def test_kwh_avoided_writes_both_settlement_files_and_the_warnings(files, tmp_path):
    event_id = pl.read_csv(files["events"])["EventId"][-1]
    invoke(
        "kwh-avoided",
        "-m",
        files["measurements"],
        "--events",
        files["events"],
        "--event-id",
        event_id,
        "--out-dir",
        tmp_path,
        "--service-points",
        files["service_points"],
        "--participation",
        files["participation"],
        "--method",
        "pjm-high-4-of-5",
    )
    kwh = pl.read_csv(next(tmp_path.glob("KWHAVOIDED_*.csv")))
    kw = pl.read_csv(next(tmp_path.glob("KWDROP_*.csv")))
    participants = pl.read_csv(files["participation"]).filter(pl.col("EventId") == event_id)
    assert sorted(kwh["SPId"].to_list()) == sorted(participants["SPId"].to_list())
    assert kw.columns[:7] == [
        "EventId",
        "ProgramId",
        "SPId",
        "ActualStartTime",
        "ActualEndTime",
        "IntervalSize(Seconds)",
        "MaxKwDrop",
    ]
    assert next(tmp_path.glob("WARNINGS_*.csv")).exists()
    output = " ".join(invoke.last.output.split())
    settled = kwh.filter(pl.col("TotalKwhSavedForPeriod").is_not_null()).height
    assert f"settled {kwh.height} of {participants.height} participating service point(s)" in (
        output
    )
    assert f"{kwh['TotalKwhSavedForPeriod'].sum():.4f} kWh avoided in all" in output
    assert settled <= kwh.height
    warnings = pl.read_csv(next(tmp_path.glob("WARNINGS_*.csv")))
    for kind in warnings["qualified_name"].unique().to_list():
        # Each kind is named with the first service points it concerns.
        first = warnings.filter(pl.col("qualified_name") == kind)["sp_id"][0]
        assert f"{kind}: " in output and first in output
    if warnings.is_empty():
        assert "no warnings" in output


def test_a_run_that_settles_nothing_says_so_and_fails(files, tmp_path):
    event_id = pl.read_csv(files["events"])["EventId"][-1]
    # Measurements that end before the event's baseline days: nobody has a baseline.
    few = tmp_path / "few.parquet"
    pl.read_parquet(files["measurements"]).head(24).write_parquet(few)
    result = runner.invoke(
        app,
        [
            "kwh-avoided",
            "-m",
            str(few),
            "--events",
            str(files["events"]),
            "--event-id",
            str(event_id),
            "--out-dir",
            str(tmp_path),
            "--service-points",
            str(files["service_points"]),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "nothing settled" in " ".join(result.output.split())


def test_the_baseline_method_can_be_chosen_per_program(files, tmp_path):
    methods = tmp_path / "methods.csv"
    methods.write_text("ProgramId,Method\nPRG-SYN,caltrack-hourly\n")
    event_id = pl.read_csv(files["events"])["EventId"][-1]
    invoke(
        "kwh-avoided",
        "-m",
        files["measurements"],
        "--events",
        files["events"],
        "--event-id",
        event_id,
        "--out-dir",
        tmp_path,
        "--service-points",
        files["service_points"],
        "--weather",
        files["weather"],
        "--program-methods",
        methods,
    )
    assert "caltrack-hourly" in runner.invoke(app, ["kwh-avoided", "--help"]).output
    assert pl.read_csv(next(tmp_path.glob("KWHAVOIDED_*.csv"))).height == 40


def test_baseline_writes_one_row_per_service_point_and_interval(files, tmp_path):
    event_id = pl.read_csv(files["events"])["EventId"][0]
    out = tmp_path / "baselines.csv"
    invoke(
        "baseline",
        "-m",
        files["measurements"],
        "--events",
        files["events"],
        "--event-id",
        event_id,
        "--out",
        out,
        "--service-points",
        files["service_points"],
    )
    frame = pl.read_csv(out)
    assert frame.height == 40 * 4
    assert frame["IntervalStart"][0].endswith("-07:00")


def test_forecast_uses_past_settlements(files, tmp_path):
    events = pl.read_csv(files["events"])
    invoke(
        "kwh-avoided",
        "-m",
        files["measurements"],
        "--events",
        files["events"],
        "--event-id",
        events["EventId"][-1],
        "--out-dir",
        tmp_path / "settled",
        "--service-points",
        files["service_points"],
    )
    start = datetime.fromisoformat(events["StartTime"][-1]) + timedelta(days=1)
    out = tmp_path / "forecast.csv"
    invoke(
        "forecast",
        "-m",
        files["measurements"],
        "--program-id",
        "PRG-SYN",
        "--start",
        start.isoformat(),
        "--end",
        (start + timedelta(hours=4)).isoformat(),
        "--out",
        out,
        "--history",
        next((tmp_path / "settled").glob("KWHAVOIDED_*.csv")),
        "--events",
        files["events"],
        "--service-points",
        files["service_points"],
    )
    frame = pl.read_csv(out)
    assert frame.height == 40
    assert (frame["PastEvents"] == 1).all()


def test_scores_write_an_sdcse_file(tmp_path):
    history = tmp_path / "history.csv"
    history.write_text(
        "DeviceId,HeadEndSystem,NicId,EventId,EventStartTime,Outcome,ReductionKw\n"
        "D1,HE,N1,E1,2026-08-01T16:00:00-07:00,D1SP,1.2\n"
        "D2,HE,N2,E1,2026-08-01T16:00:00-07:00,D1ND,\n"
    )
    invoke(
        "scores",
        "--history",
        history,
        "--out-dir",
        tmp_path / "out",
        "--as-of",
        datetime(2026, 9, 1, tzinfo=UTC).isoformat(),
    )
    path = next((tmp_path / "out").glob("SDCSE_*.csv"))
    frame = pl.read_csv(path)
    assert frame["DeviceId"].to_list() == ["D1", "D2"]
    assert frame["Score"][0] > frame["Score"][1]


def test_an_unknown_event_is_a_clear_error(files, tmp_path):
    result = runner.invoke(
        app,
        [
            "kwh-avoided",
            "-m",
            str(files["measurements"]),
            "--events",
            str(files["events"]),
            "--event-id",
            "NOPE",
            "--out-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code != 0
    assert "NOPE" in result.output


def test_a_broken_measurement_file_is_a_clear_error(files, tmp_path):
    broken = tmp_path / "m.csv"
    broken.write_text("sp,kwh\n")
    event_id = pl.read_csv(files["events"])["EventId"][0]
    result = runner.invoke(
        app,
        [
            "kwh-avoided",
            "-m",
            str(broken),
            "--events",
            str(files["events"]),
            "--event-id",
            event_id,
            "--out-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert "lacks column" in result.output


def test_an_unknown_holiday_calendar_is_a_usage_error(files, tmp_path):
    event_id = pl.read_csv(files["events"])["EventId"][0]
    result = attempt(
        "kwh-avoided",
        *("-m", files["measurements"], "--events", files["events"], "--event-id", event_id),
        *("--out-dir", tmp_path, "--holidays", "nerc,Narnia"),
    )
    assert result.exit_code == 2, result.output
    assert "unknown holidays 'Narnia'" in " ".join(result.output.split())
