"""``derlink analytics`` over files: the commands a utility analyst runs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

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


def outcome_rows(path):
    return pl.read_csv(path, infer_schema=False)


def took_part(path, event_id):
    """The outcome file's rows of ``event_id`` whose device took part (not D1CN)."""
    rows = outcome_rows(path)
    return rows.filter((pl.col("StageId") == event_id) & (pl.col("Outcome") != "D1CN"))


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
        "--outcomes",
        files["outcomes"],
        "--method",
        "pjm-high-4-of-5",
    )
    kwh = pl.read_csv(next(tmp_path.glob("KWHAVOIDED_*.csv")))
    kw = pl.read_csv(next(tmp_path.glob("KWDROP_*.csv")))
    participants = took_part(files["outcomes"], event_id)
    assert 0 < participants.height < 40  # some service points were cancelled (D1CN)
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


def settle(files, out, *extra):
    """``kwh-avoided`` of the last event over the population's files, whatever its exit."""
    event_id = pl.read_csv(files["events"])["EventId"][-1]
    return attempt(
        "kwh-avoided",
        *("-m", files["measurements"], "--events", files["events"], "--event-id", event_id),
        *("--out-dir", out, *extra),
    )


def one_line(result):
    return " ".join(result.output.split())


def test_a_service_point_without_a_time_zone_is_an_error_unless_the_run_states_one(files, tmp_path):
    # No service point file: no zone for anybody, and none is guessed.
    result = settle(files, tmp_path / "a")
    assert result.exit_code == 1, result.output
    assert "error analytics.service_point.no_time_zone" in one_line(result)
    assert "nothing settled" in one_line(result)
    warnings = pl.read_csv(next((tmp_path / "a").glob("WARNINGS_*.csv")))
    assert set(warnings.filter(pl.col("severity") == "error")["qualified_name"]) == {
        "analytics.service_point.no_time_zone"
    }
    stated = settle(files, tmp_path / "b", "--time-zone", "America/Los_Angeles")
    assert stated.exit_code == 0, stated.output
    assert "settled 40 of 40" in one_line(stated)


def test_an_unknown_time_zone_is_a_usage_error(files, tmp_path):
    result = settle(files, tmp_path, "--time-zone", "Mars/Olympus")
    assert result.exit_code == 2
    assert "unknown time zone 'Mars/Olympus'" in one_line(result)


def naive_csv(files, path, sp_count=6):
    """The first service points' measurements as naive Pacific local times (a utility export)."""
    frame = pl.read_parquet(files["measurements"])
    ids = frame["sp_id"].unique().sort().head(sp_count)
    frame.filter(pl.col("sp_id").is_in(ids.implode())).with_columns(
        pl.col("start")
        .dt.convert_time_zone("America/Los_Angeles")
        .dt.replace_time_zone(None)
        .dt.to_string("%Y-%m-%d %H:%M:%S")
    ).write_csv(path)
    return path


def test_naive_local_timestamps_are_read_in_the_stated_zone_and_refused_without_one(
    files, tmp_path
):
    local = naive_csv(files, tmp_path / "local.csv")
    event_id = pl.read_csv(files["events"])["EventId"][-1]
    args = (
        *("kwh-avoided", "-m", local, "--events", files["events"], "--event-id", event_id),
        *("--service-points", files["service_points"], "--out-dir", tmp_path / "out"),
    )
    refused = attempt(*args)
    assert refused.exit_code == 2, refused.output
    assert "without a UTC offset (first: row 2," in one_line(refused)
    assert "--timestamps-zone" in one_line(refused)
    read = attempt(*args, "--timestamps-zone", "America/Los_Angeles")
    assert read.exit_code == 0, read.output
    # The same savings as from the UTC Parquet file.
    reference = settle(files, tmp_path / "ref", "--service-points", files["service_points"])
    assert reference.exit_code == 0
    ours = pl.read_csv(next((tmp_path / "out").glob("KWHAVOIDED_*.csv")))
    theirs = pl.read_csv(next((tmp_path / "ref").glob("KWHAVOIDED_*.csv")))
    joined = ours.join(theirs, on="SPId", suffix="_ref")
    assert joined.height == 6
    assert (joined["TotalKwhSavedForPeriod"] == joined["TotalKwhSavedForPeriod_ref"]).all()


def test_a_regression_without_weather_says_so_and_fails(files, tmp_path):
    result = settle(
        files, tmp_path, "--service-points", files["service_points"], "--method", "caltrack-hourly"
    )
    assert result.exit_code == 2
    assert "caltrack-hourly needs the temperature: give --weather" in one_line(result)


def test_a_participant_without_measurements_is_a_warning_row_and_counted(files, tmp_path):
    event_id = pl.read_csv(files["events"])["EventId"][-1]
    outcomes = tmp_path / "OUTCOME_20260801T000000Z_000002.csv"
    listed = took_part(files["outcomes"], event_id)
    ghost = listed.head(1).with_columns(
        pl.lit("NIC-GHOST").alias("NicId"), pl.lit("SP-GHOST").alias("SPId")
    )
    pl.concat([outcome_rows(files["outcomes"]), ghost]).write_csv(outcomes)
    result = settle(
        files, tmp_path, *("--service-points", files["service_points"], "--outcomes", outcomes)
    )
    assert result.exit_code == 0, result.output
    output = one_line(result)
    assert f"settled {listed.height} of {listed.height + 1} participating" in output
    assert "error analytics.measurements.none" in output and "SP-GHOST" in output
    warnings = pl.read_csv(next(tmp_path.glob("WARNINGS_*.csv")))
    ghost_rows = warnings.filter(pl.col("sp_id") == "SP-GHOST")
    assert ghost_rows["qualified_name"].to_list() == ["analytics.measurements.none"]


def outcome_file(tmp_path, name, rows):
    """An outcome file of ``rows`` (dicts of the columns a test sets) in the outcome layout."""
    from derlink.contracts.event_files import OUTCOME_HEADER

    path = tmp_path / name
    full = [{c: "" for c in OUTCOME_HEADER} | {"RecordId": str(n), "EventId": "DR-1",
             "ProgramId": "PRG-SYN", "HeadEndSystem": "HE", "NicId": f"N-{r['SPId']}"} | r
            for n, r in enumerate(rows, start=1)]  # fmt: skip
    pl.DataFrame(full, schema=dict.fromkeys(OUTCOME_HEADER, pl.Utf8)).write_csv(path)
    return path


def test_the_participants_are_the_outcome_rows_of_the_event_but_the_cancelled(files, tmp_path):
    event_id = pl.read_csv(files["events"])["EventId"][-1]
    sps = pl.read_csv(files["service_points"])["SPId"].to_list()
    window = {"ParticipationStartTime": "2026-07-01T16:00:00-07:00",
              "ParticipationEndTime": "2026-07-01T20:00:00-07:00"}  # fmt: skip
    path = outcome_file(
        tmp_path,
        "OUTCOME_20260801T000000Z_000001.csv",
        [
            {"StageId": event_id, "SPId": sps[0], "Outcome": "D1SP", **window},
            {"StageId": event_id, "SPId": sps[1], "Outcome": "D1ND"},
            {"StageId": event_id, "SPId": sps[2], "Outcome": "D1ER", **window},
            {"StageId": event_id, "SPId": sps[3], "Outcome": "D1IO", **window},
            {"StageId": event_id, "SPId": sps[4], "Outcome": "D1CN"},
            {"StageId": "OTHER-STAGE", "SPId": sps[5], "Outcome": "D1SP", **window},
        ],
    )
    result = settle(
        files, tmp_path / "out", "--service-points", files["service_points"], "--outcomes", path
    )
    assert result.exit_code == 0, result.output
    kwh = pl.read_csv(next((tmp_path / "out").glob("KWHAVOIDED_*.csv")))
    assert sorted(kwh["SPId"].to_list()) == sorted(sps[:4])  # the cancelled one is not counted
    assert "settled 4 of 4 participating service point(s)" in one_line(result)


def test_a_newer_outcome_file_replaces_a_device_s_row_and_a_folder_gives_its_files(files, tmp_path):
    event_id = pl.read_csv(files["events"])["EventId"][-1]
    sps = pl.read_csv(files["service_points"])["SPId"].to_list()
    window = {"ParticipationStartTime": "2026-07-01T16:00:00-07:00",
              "ParticipationEndTime": "2026-07-01T20:00:00-07:00"}  # fmt: skip
    folder = tmp_path / "outcomes"
    folder.mkdir()
    # The newer file (seq 2) cancels the first device and calls a third.
    outcome_file(folder, "OUTCOME_20260801T000000Z_000002.csv", [
        {"StageId": event_id, "SPId": sps[0], "Outcome": "D1CN"},
        {"StageId": event_id, "SPId": sps[2], "Outcome": "D1SP", **window},
    ])  # fmt: skip
    outcome_file(folder, "OUTCOME_20260731T000000Z_000001.csv", [
        {"StageId": event_id, "SPId": sps[0], "Outcome": "D1SP", **window},
        {"StageId": event_id, "SPId": sps[1], "Outcome": "D1SP", **window},
    ])  # fmt: skip
    (folder / "notes.txt").write_text("not an outcome file")
    base = ("--service-points", files["service_points"], "--json")
    for out, given in (("a", [folder]), ("b", sorted(folder.glob("OUTCOME_*.csv"), reverse=True))):
        result = settle(
            files, tmp_path / out, *base, *(x for p in given for x in ("--outcomes", p))
        )
        assert result.exit_code == 0, result.output
        (answer,) = json.loads(result.stdout)
        kwh = pl.read_csv(answer["files"]["kwh_avoided"])
        assert sorted(kwh["SPId"].to_list()) == sorted([sps[1], sps[2]])


def test_an_event_the_outcome_files_do_not_list_covers_its_program_one_all_cancelled_nobody(
    files, tmp_path
):
    events = pl.read_csv(files["events"])["EventId"].to_list()
    sps = pl.read_csv(files["service_points"])["SPId"].to_list()
    path = outcome_file(tmp_path, "OUTCOME_20260801T000000Z_000001.csv", [
        {"StageId": events[-1], "SPId": sps[0], "Outcome": "D1CN"},
    ])  # fmt: skip
    base = ("-m", files["measurements"], "--events", files["events"], "--outcomes", path)
    result = attempt(
        "kwh-avoided", *base, "--event-id", events[-2], "--event-id", events[-1],
        "--out-dir", tmp_path / "out", "--service-points", files["service_points"], "--json",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    unlisted, cancelled = json.loads(result.stdout)
    assert (unlisted["event_id"], unlisted["participants"]) == (events[-2], 40)
    assert (cancelled["event_id"], cancelled["participants"]) == (events[-1], 0)
    assert f"nothing settled for {events[-1]} (caiso-10-in-10, 0 participant(s))" in " ".join(
        result.stderr.split()
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("StageId,SPId\nEV1,SP1\n", "missing column HeadEndSystem"),
        (None, "row 3: Outcome is not one of D1SP, D1ND, D1IO, D1ER, D1CN"),
        ("", "no OUTCOME_*.csv file in the folder"),
    ],
)
def test_an_outcome_file_that_cannot_be_used_is_a_one_line_error(files, tmp_path, content, message):
    if content is None:
        path = outcome_file(tmp_path, "OUTCOME_20260801T000000Z_000001.csv", [
            {"StageId": "EV1", "SPId": "SP1", "Outcome": "D1CN"},
            {"StageId": "EV1", "SPId": "SP2", "Outcome": "D1XX"},
        ])  # fmt: skip
    elif content:
        path = tmp_path / "OUTCOME_20260801T000000Z_000001.csv"
        path.write_text(content)
    else:
        path = tmp_path / "empty"
        path.mkdir()
    result = settle(files, tmp_path / "out", "--outcomes", path)
    assert result.exit_code == 2, result.output
    assert message in one_line(result) and one_line(result).startswith("error:")


def test_one_call_settles_several_events_and_methods_each_file_naming_its_method(files, tmp_path):
    events = pl.read_csv(files["events"])["EventId"].to_list()[-2:]
    result = attempt(
        *("kwh-avoided", "-m", files["measurements"], "--events", files["events"]),
        *("--event-id", events[0], "--event-id", events[1], "--out-dir", tmp_path),
        *("--method", "caiso-10-in-10", "--method", "pjm-high-4-of-5"),
        *("--service-points", files["service_points"], "--json"),
    )
    assert result.exit_code == 0, result.output
    answers = json.loads(result.stdout)
    assert [(a["event_id"], a["method"]) for a in answers] == [
        (events[0], "caiso-10-in-10"),
        (events[0], "pjm-high-4-of-5"),
        (events[1], "caiso-10-in-10"),
        (events[1], "pjm-high-4-of-5"),
    ]
    for answer in answers:
        frame = pl.read_csv(answer["files"]["kwh_avoided"])
        assert answer["method"] in answer["files"]["kwh_avoided"]
        assert frame["Method"].unique().to_list() == [answer["method"]]
        assert frame["EventId"].unique().to_list() == [answer["event_id"]]
        kw = pl.read_csv(answer["files"]["kw_drop"])
        assert kw["Method"].unique().to_list() == [answer["method"]]
    caiso, pjm = (pl.read_csv(a["files"]["kwh_avoided"]) for a in answers[:2])
    assert caiso["TotalKwhSavedForPeriod"].to_list() != pjm["TotalKwhSavedForPeriod"].to_list()


def test_rule_parameters_are_given_from_the_cli_and_recorded(files, tmp_path):
    base = ("--service-points", files["service_points"], "--method", "caiso-10-in-10")
    assert settle(files, tmp_path / "a", *base).exit_code == 0
    changed = settle(
        files,
        tmp_path / "b",
        *base,
        *("--param", "selections.WEEKDAY.y=3", "--param", "selections.WEEKDAY.x=3"),
        *("--param", "selections.weekday.min=2", "--param", "lookback_days=20"),
    )
    assert changed.exit_code == 0, changed.output
    default = pl.read_csv(next((tmp_path / "a").glob("KWHAVOIDED_*.csv")))
    ours = pl.read_csv(next((tmp_path / "b").glob("KWHAVOIDED_*.csv")))
    label = (
        "caiso-10-in-10[selections.WEEKDAY.y=3,selections.WEEKDAY.x=3,"
        "selections.weekday.min=2,lookback_days=20]"
    )
    assert ours["Method"].unique().to_list() == [label]
    assert ours["TotalKwhSavedForPeriod"].to_list() != default["TotalKwhSavedForPeriod"].to_list()
    bad = settle(files, tmp_path / "c", *base, "--param", "selections.WEEKDAY.y=0")
    assert bad.exit_code == 2
    assert "need 1 ≤ min_days ≤ Y" in one_line(bad)
    unknown = settle(files, tmp_path / "d", *base, "--param", "windowz=3")
    assert unknown.exit_code == 2 and "no parameter 'windowz'" in one_line(unknown)


def test_the_events_file_needs_no_event_type(files, tmp_path):
    events = tmp_path / "events.csv"
    pl.read_csv(files["events"]).drop("EventType").write_csv(events)
    event_id = pl.read_csv(events)["EventId"][-1]
    result = attempt(
        *("kwh-avoided", "-m", files["measurements"], "--events", events),
        *("--event-id", event_id, "--out-dir", tmp_path),
        *("--service-points", files["service_points"]),
    )
    assert result.exit_code == 0, result.output
    kwh = pl.read_csv(next(tmp_path.glob("KWHAVOIDED_*.csv")))
    assert kwh.height == 40 and (kwh["EventType"].fill_null("") == "").all()


def doctored_csv(files, path):
    """Six service points as CSV: a conflicting duplicate for the first, a spike in the second's
    history, an identical duplicate for the third."""
    frame = pl.read_parquet(files["measurements"])
    ids = frame["sp_id"].unique().sort().head(6).to_list()
    frame = frame.filter(pl.col("sp_id").is_in(ids)).sort("sp_id", "start")
    first, second, third = (frame.filter(pl.col("sp_id") == i) for i in ids[:3])
    spike = second[100]["start"][0]
    rows = pl.concat(
        [
            frame.with_columns(
                pl.when((pl.col("sp_id") == ids[1]) & (pl.col("start") == spike))
                .then(pl.col("kwh") * 100)
                .otherwise(pl.col("kwh"))
                .alias("kwh")
            ),
            first[200:201].with_columns(pl.col("kwh") + 0.5),
            third[300:301],
        ]
    )
    rows.with_columns(pl.col("start").dt.to_string("%Y-%m-%dT%H:%M:%SZ")).write_csv(path)
    stamp = first[200]["start"][0].strftime("%Y-%m-%dT%H:%M:%SZ")
    return ids, stamp, spike.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_bad_readings_are_not_averaged_away(files, tmp_path):
    ids, conflict_at, spike_at = doctored_csv(files, tmp_path / "m.csv")
    event_id = pl.read_csv(files["events"])["EventId"][-1]
    args = (
        *("kwh-avoided", "-m", tmp_path / "m.csv", "--events", files["events"]),
        *("--event-id", event_id, "--service-points", files["service_points"]),
    )
    result = attempt(*args, "--out-dir", tmp_path / "a")
    assert result.exit_code == 0, result.output
    kwh = pl.read_csv(next((tmp_path / "a").glob("KWHAVOIDED_*.csv")))
    assert ids[0] not in kwh["SPId"].to_list()  # conflicting readings: not settled
    assert sorted(kwh["SPId"].to_list()) == sorted(ids[1:])
    warnings = pl.read_csv(next((tmp_path / "a").glob("WARNINGS_*.csv")))

    def detail(sp_id, name):
        row = warnings.filter((pl.col("sp_id") == sp_id) & (pl.col("qualified_name") == name))
        return row["severity"][0], row["detail"][0]

    assert detail(ids[0], "analytics.measurements.conflicting_duplicate") == ("error", conflict_at)
    assert detail(ids[1], "analytics.measurements.outlier") == ("warning", spike_at)
    assert detail(ids[2], "analytics.measurements.duplicate")[0] == "warning"
    output = one_line(result)
    assert "error analytics.measurements.conflicting_duplicate" in output
    assert f"{ids[0]} ({conflict_at})" in output
    # The outlier rule's parameters are options: a loose enough factor believes the spike.
    loose = attempt(*args, "--out-dir", tmp_path / "b", "--outlier-factor", "1000")
    assert loose.exit_code == 0
    assert "analytics.measurements.outlier" not in one_line(loose)


def forecast_args(files, program_id, out):
    events = pl.read_csv(files["events"])
    start = datetime.fromisoformat(events["StartTime"][-1]) + timedelta(days=1)
    return (
        *("forecast", "-m", files["measurements"], "--program-id", program_id),
        *("--start", start.isoformat(), "--end", (start + timedelta(hours=4)).isoformat()),
        *("--out", out, "--events", files["events"]),
        *("--service-points", files["service_points"]),
    )


def test_a_forecast_ends_with_its_summary_and_fails_when_it_forecasts_nothing(files, tmp_path):
    result = attempt(*forecast_args(files, "PRG-SYN", tmp_path / "f.csv"), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    frame = pl.read_csv(tmp_path / "f.csv")
    assert (summary["forecast"], summary["service_points"]) == (40, 40)
    assert summary["expected_kw"] == pytest.approx(frame["MeanExpectedKw"].sum(), abs=1e-3)
    nothing = attempt(*forecast_args(files, "PRG-NONE", tmp_path / "g.csv"))
    assert nothing.exit_code == 1
    assert "nothing forecast: none of the 0 service point(s) of PRG-NONE" in one_line(nothing)
