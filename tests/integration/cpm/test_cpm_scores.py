"""cpm's device scores, on SQLite and PostgreSQL: the participation history taken in from the
content server, every device of an Active subscription scored, the SDCSE file written, and the
runs recorded."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from cpm_harness import Cpm
from extract_support import add_customers, enroll, file_text
from tests.support.schemas import at_revision
from tests.support.servers import serve
from typer.testing import CliRunner

from derlink.cli.main import app as cli
from derlink.contracts.input_files import SCORE_HEADER
from derlink.cpm.app import SCHEDULE_ACTOR, create_part
from derlink.cpm.migrations import SCHEMA
from derlink.cpm.scores.model import RunState
from derlink.cpm.scores.service import RunView, list_runs, recover_runs
from derlink.cpm.scores.tables import participation_history, score_runs
from derlink.cpm.settings import CpmSettings
from derlink.platform.database import make_engine
from derlink.platform.migrations import upgrade

HISTORY = "DeviceId,HeadEndSystem,NicId,EventId,EventStartTime,Outcome,ReductionKw\n"


def folder(cpm: Cpm) -> Path:
    return Path(cpm.part.store.location.removeprefix("file://"))


def names(cpm: Cpm) -> list[str]:
    return sorted(f.name for f in asyncio.run(cpm.part.store.list_files()))


@pytest.fixture
def world(seeded: Cpm) -> Cpm:
    """Customers 3 to 6: 3, 4 and 6 Active, 5 still Pending; the content server emptied."""
    for entry in folder(seeded).iterdir():
        if entry.is_file():
            entry.unlink()
    add_customers(seeded, range(3, 7))
    for n in (3, 4, 6):
        enroll(seeded, n)
    enroll(seeded, 5, active=False)
    return seeded


def history(cpm: Cpm, name: str, *rows: str) -> None:
    (folder(cpm) / name).write_text(HISTORY + "".join(r + "\n" for r in rows))


def test_every_device_of_an_active_subscription_with_history_is_scored_into_the_file(
    world: Cpm,
) -> None:
    history(
        world,
        "PARTICIPATION_2026.csv",
        ",ECOBEE-HE,NIC-3,E1,2026-04-01T16:00:00-07:00,D1SP,1.2",
        ",ECOBEE-HE,NIC-3,E2,2026-04-15T16:00:00-07:00,D1SP,1.0",
        ",ECOBEE-HE,NIC-4,E1,2026-04-01T16:00:00-07:00,D1ND,",
        ",ECOBEE-HE,NIC-5,E1,2026-04-01T16:00:00-07:00,D1SP,1.1",  # Pending: not scored
        ",ECOBEE-HE,NIC-9,E1,2026-04-01T16:00:00-07:00,D1SP,1.1",  # not cpm's
        ",ECOBEE-HE,NIC-4,E3,2026-04-20T16:00:00-07:00,XX,",  # row 7: unknown outcome
        ",ECOBEE-HE,NIC-4,E4,2026-04-20T16:00:00,D1SP,",  # row 8: no offset
    )
    answer = world.post("/score-runs")
    assert answer.status_code == 201, answer.text
    run = answer.json()
    assert (run["state"], run["rows"], run["unscored"], run["historyFiles"]) == (
        "Completed",
        2,
        1,
        1,
    )
    assert run["fileName"] == "SDCSE_20260501T120000Z.csv"
    rows = list(csv.DictReader(io.StringIO(file_text(world, run["fileName"]))))
    assert list(rows[0]) == list(SCORE_HEADER)
    by_nic = {r["NicId"]: r for r in rows}
    assert set(by_nic) == {"NIC-3", "NIC-4"}
    assert int(by_nic["NIC-3"]["Score"]) > int(by_nic["NIC-4"]["Score"])
    assert by_nic["NIC-3"]["Events"] == "2"
    assert by_nic["NIC-3"]["DeviceId"].startswith("D-")
    assert by_nic["NIC-3"]["ScoreDateTime"] == "2026-05-01T12:00:00.000Z"
    # The history file is acknowledged row by row and renamed.
    assert names(world) == [
        "ACK_PARTICIPATION_2026.csv",
        "Acked-PARTICIPATION_2026.csv",
        "SDCSE_20260501T120000Z.csv",
    ]
    acks = list(csv.DictReader(io.StringIO(file_text(world, "ACK_PARTICIPATION_2026.csv"))))
    rejected = {a["rowNumber"]: a["reasonCode"] for a in acks if a["result"] == "REJECTED"}
    assert rejected == {"7": "CPM-HISTORY-VALUE", "8": "CPM-HISTORY-VALUE"}
    listed = world.get("/score-runs").json()
    assert [r["runId"] for r in listed] == [run["runId"]]
    assert world.get(f"/score-runs/{run['runId']}").json() == run


def test_a_later_history_row_of_a_device_and_event_replaces_the_earlier_one(world: Cpm) -> None:
    history(world, "PARTICIPATION_A.csv", ",ECOBEE-HE,NIC-3,E1,2026-04-01T23:00:00Z,D1ND,")
    first = world.post("/score-runs").json()
    world.clock.advance(hours=1)
    history(world, "PARTICIPATION_B.csv", ",ECOBEE-HE,NIC-3,E1,2026-04-01T23:00:00Z,D1SP,")
    second = world.post("/score-runs").json()
    score = {
        run["runId"]: next(csv.DictReader(io.StringIO(file_text(world, run["fileName"]))))
        for run in (first, second)
    }
    assert score[first["runId"]]["Events"] == score[second["runId"]]["Events"] == "1"
    assert int(score[second["runId"]]["Score"]) > int(score[first["runId"]]["Score"])


def test_a_run_with_nothing_to_score_writes_no_file_and_says_so(world: Cpm) -> None:
    run = world.post("/score-runs").json()
    assert (run["state"], run["rows"], run["unscored"], run["fileName"]) == (
        "Completed",
        0,
        3,
        None,
    )
    assert names(world) == []


def test_one_run_at_a_time(world: Cpm) -> None:
    with world.part.db.begin() as conn:
        conn.execute(
            score_runs.insert().values(
                id="SC-held", state="Running", as_of="x", rows=0, unscored=0, history_files=0,
                started_at="2026-05-01T11:00:00+00:00", actor="other",
            )
        )  # fmt: skip
    answer = world.post("/score-runs")
    assert answer.status_code == 409
    assert answer.json()["code"] == "CPM-SCORES-RUNNING"
    # What cpm does at start: a run a crash left Running is marked Failed.
    asyncio.run(recover_runs(db=world.part.db, clock=world.clock))
    with world.part.db.read() as conn:
        state = conn.execute(
            sa.select(score_runs.c.state).where(score_runs.c.id == "SC-held")
        ).scalar_one()
    assert state == "Failed"
    assert world.post("/score-runs").status_code == 201


def test_a_database_at_revision_0005_gains_the_scores_tables(fresh_url: str) -> None:
    engine = make_engine(fresh_url, schema=None if fresh_url.startswith("sqlite") else "cpm")
    tables = (participation_history, score_runs)
    try:
        at_revision(engine, SCHEMA, "0005")
        with engine.begin() as conn:  # as revision 0005 left it
            for table in tables:
                table.drop(conn)
        assert upgrade(engine, SCHEMA, "0006").ran == ("0006",)
        assert {t.name for t in tables} <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_cli_runs_the_scores_now_and_says_when_nothing_was_scored(
    world: Cpm, tmp_path: Path
) -> None:
    home = world.cli_home(tmp_path)
    env = {"DERLINK_HOME": str(home), "COLUMNS": "200"}
    runner = CliRunner()
    with serve(world.part.app) as url:
        nothing = runner.invoke(cli, ["cpm", "scores", "--url", url], env=env)
        world.clock.advance(hours=1)
        history(world, "PARTICIPATION_1.csv", ",ECOBEE-HE,NIC-3,E1,2026-04-01T23:00:00Z,D1SP,")
        scored = runner.invoke(cli, ["cpm", "scores", "--url", url], env=env)
        world.clock.advance(hours=1)
        as_json = runner.invoke(cli, ["cpm", "scores", "--url", url, "--json"], env=env)
    assert nothing.exit_code == 1
    assert "nothing scored" in str(nothing.exception)
    assert scored.exit_code == 0, scored.output
    assert "1 device(s) scored, 2 of an Active subscription without" in scored.output
    assert "SDCSE_20260501T130000Z.csv" in scored.output
    assert json.loads(as_json.output)["fileName"] == "SDCSE_20260501T140000Z.csv"


def test_the_schedule_runs_score_runs_until_cpm_stops(world: Cpm) -> None:
    history(world, "PARTICIPATION_S.csv", ",ECOBEE-HE,NIC-3,E1,2026-04-01T23:00:00Z,D1SP,")
    settings = world.part.settings.with_part(CpmSettings(score_interval_s=0.05))
    scheduled = create_part(
        settings=settings, credentials=world.credentials, clock=world.clock, hub=None
    )

    async def run() -> list[RunView]:
        await scheduled.start()
        try:
            for _ in range(600):
                done = list_runs(db=world.part.db, limit=10)
                if done and all(v.state is not RunState.RUNNING for v in done):
                    return done
                await asyncio.sleep(0.05)
            raise AssertionError("the schedule ran no score run")
        finally:
            await scheduled.stop()

    done = asyncio.run(run())
    assert scheduled.score_schedule is None
    assert {(v.state, v.actor) for v in done} == {(RunState.COMPLETED, SCHEDULE_ACTOR)}
    # The first run took the history file in and scored NIC-3.
    assert done[-1].history_files == 1 and done[-1].rows == 1
