"""Program events in cpm (EVT-STATUS, docs/contracts/program-events.md): one per DERMS stage,
created Scheduled, moved by DERMS's lifecycle actions without ever going back, read in pages
and one by one with their history; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cpm_harness import Cpm
from tests.support.schemas import at_revision
from tests.support.servers import serve
from typer.testing import CliRunner

from derlink.cli.main import app as cli
from derlink.common.errors import DerlinkError
from derlink.cpm.events import model as m
from derlink.cpm.events import service
from derlink.cpm.events.tables import (
    event_participations,
    program_event_history,
    program_events,
)
from derlink.cpm.migrations import SCHEMA
from derlink.platform.database import make_engine
from derlink.platform.migrations import upgrade

PDT = timezone(timedelta(hours=-7))
START = datetime(2026, 7, 17, 15, 0, tzinfo=PDT)
THREADS = 6


def stage(stage_id: str = "SG-1", **changes: Any) -> dict[str, Any]:
    """An EVT-STATUS create of a two-hour stage of event EV-1 in program BYOT-2026."""
    return {
        "startDateTime": START.isoformat(),
        "endDateTime": (START + timedelta(hours=2)).isoformat(),
        "eventExternalIdentifier": "EV-1",
        "externalIdentifier": stage_id,
        "programExternalIdentifier": "BYOT-2026",
        "programEventCategory": "X1EM",
        **changes,
    }


def action(code: str, stage_id: str = "SG-1", **changes: Any) -> dict[str, Any]:
    return {"action": code, "eventExternalIdentifier": "EV-1", "externalIdentifier": stage_id,
            **changes}  # fmt: skip


@pytest.fixture
def world(cpm: Cpm) -> Cpm:
    """Programs BYOT (Active, external id BYOT-2026), OLD (Inactive, OLD-2026) and NOEXT
    (Active, no external id)."""
    for code, external_id, status in (
        ("BYOT", "BYOT-2026", "Active"),
        ("OLD", "OLD-2026", "Inactive"),
        ("NOEXT", "", "Active"),
    ):
        answer = cpm.post(
            "/programs", {"programCode": code, "externalId": external_id, "status": status}
        )
        assert answer.status_code == 201, answer.text
    return cpm


def create(cpm: Cpm, body: dict[str, Any], client: str = "hub") -> dict[str, Any]:
    answer = cpm.post("/program-events", body, client=client)
    assert answer.status_code == 200, answer.text
    created: dict[str, Any] = answer.json()
    return created


def act(cpm: Cpm, body: dict[str, Any]) -> dict[str, Any]:
    answer = cpm.post("/program-events/lifecycle", body, client="hub")
    assert answer.status_code == 200, answer.text
    done: dict[str, Any] = answer.json()
    return done


def show(cpm: Cpm, program_event_id: str) -> dict[str, Any]:
    answer = cpm.get(f"/program-events/{program_event_id}", client="viewer")
    assert answer.status_code == 200, answer.text
    shown: dict[str, Any] = answer.json()
    return shown


def moves(shown: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [(h["action"], h["fromState"], h["toState"]) for h in shown["history"]]


def refusal(answer: Any) -> tuple[int, str]:
    assert answer.headers["content-type"] == "application/problem+json"
    return answer.status_code, answer.json().get("code")


# -- create ---------------------------------------------------------------------------------


def test_a_stage_becomes_a_program_event_created_pending_and_scheduled_at_once(world: Cpm):
    created = create(world, stage())
    event = created["programEvent"]
    assert created["outcome"] == "Created"
    assert event["id"].startswith("PE-") and len(event["id"]) == 29
    assert {k: v for k, v in event.items() if k not in ("id",)} == {
        "externalIdentifier": "SG-1",
        "eventExternalIdentifier": "EV-1",
        "programCode": "BYOT",
        "programExternalIdentifier": "BYOT-2026",
        "programEventCategory": "X1EM",
        "startDateTime": "2026-07-17T22:00:00+00:00",
        "endDateTime": "2026-07-18T00:00:00+00:00",
        "state": "Scheduled",
        "cancelReason": "",
        "createdAt": "2026-05-01T12:00:00+00:00",
        "updatedAt": "2026-05-01T12:00:00+00:00",
    }
    shown = show(world, event["id"])
    assert moves(shown) == [("CREATE", None, "Pending"), ("X1SD", "Pending", "Scheduled")]
    assert {h["at"] for h in shown["history"]} == {"2026-05-01T12:00:00+00:00"}


def test_the_same_stage_again_answers_exists_and_changes_nothing(world: Cpm):
    first = create(world, stage())["programEvent"]
    world.clock.advance(minutes=5)
    # The same instants written in UTC: the same stage.
    utc = stage(startDateTime="2026-07-17T22:00:00Z", endDateTime="2026-07-18T00:00:00Z")
    for body in (stage(), utc):
        again = create(world, body)
        assert again == {"outcome": "Exists", "programEvent": first}
    assert len(show(world, first["id"])["history"]) == 2
    # Compared before the program is looked up: still the same stage once BYOT is Inactive.
    world.http.patch("/api/v1/programs/BYOT", json={"status": "Inactive"},
                     headers=world.headers())  # fmt: skip
    assert create(world, stage()) == {"outcome": "Exists", "programEvent": first}
    refused = world.post("/program-events", stage("SG-2"), client="hub")
    assert refusal(refused) == (422, "CPM-PROGRAM-INACTIVE")


def test_the_same_stage_with_other_content_is_a_conflict_naming_what_differs(world: Cpm):
    create(world, stage())
    later = (START + timedelta(hours=1)).isoformat()
    answer = world.post(
        "/program-events",
        stage(startDateTime=later, programEventCategory="X1EC", eventExternalIdentifier="EV-2"),
        client="hub",
    )
    assert refusal(answer) == (409, "CPM-PROGRAM-EVENT-CONFLICT")
    assert answer.json()["fields"] == [
        "eventExternalIdentifier", "programEventCategory", "startDateTime",
    ]  # fmt: skip
    assert "program event SG-1 exists with another eventExternalIdentifier" in answer.text


def test_the_program_is_found_by_its_external_id_else_by_its_code(world: Cpm):
    by_code = create(world, stage("SG-C", programExternalIdentifier="NOEXT"))["programEvent"]
    assert (by_code["programCode"], by_code["programExternalIdentifier"]) == ("NOEXT", "NOEXT")
    # A program whose code is another's external id: the external id wins.
    world.post("/programs", {"programCode": "BYOT-2026", "status": "Active"})
    by_external = create(world, stage("SG-E"))["programEvent"]
    assert by_external["programCode"] == "BYOT"


def test_a_program_no_one_knows_or_that_is_not_active_takes_no_event(world: Cpm):
    unknown = world.post("/program-events", stage(programExternalIdentifier="NOPE"), client="hub")
    assert refusal(unknown) == (422, "CPM-PROGRAM-UNKNOWN")
    assert "no program has the external id or the code 'NOPE'" in unknown.text
    for named in ("OLD-2026", "OLD"):
        inactive = world.post(
            "/program-events", stage(programExternalIdentifier=named), client="hub"
        )
        assert refusal(inactive) == (422, "CPM-PROGRAM-INACTIVE")
        assert "program 'OLD' is Inactive, not Active" in inactive.text
    assert world.get("/program-events").json() == {"items": [], "next": None}


def test_an_external_id_two_programs_share_names_no_program(world: Cpm):
    world.post("/programs", {"programCode": "TWIN", "externalId": "BYOT-2026"})
    answer = world.post("/program-events", stage(), client="hub")
    assert refusal(answer) == (422, "CPM-PROGRAM-EVENT-INVALID")
    assert "programs BYOT, TWIN share the external id 'BYOT-2026'" in answer.text


def test_a_window_that_does_not_end_after_it_starts_is_invalid(world: Cpm):
    for end in (START, START - timedelta(hours=1)):
        answer = world.post("/program-events", stage(endDateTime=end.isoformat()), client="hub")
        assert refusal(answer) == (422, "CPM-PROGRAM-EVENT-INVALID")
        assert "is not after startDateTime" in answer.json()["detail"]


def test_a_body_that_is_not_a_create_is_refused_field_by_field(world: Cpm):
    body = stage(programEventCategory="X1XX", startDateTime="2026-07-17T15:00:00")
    del body["externalIdentifier"]
    answer = world.post("/program-events", body, client="hub")
    assert refusal(answer) == (422, None)
    assert {e["field"] for e in answer.json()["errors"]} == {
        "startDateTime", "externalIdentifier", "programEventCategory",
    }  # fmt: skip
    too_long = world.post("/program-events", stage("S" * 121), client="hub")
    assert [e["field"] for e in too_long.json()["errors"]] == ["externalIdentifier"]
    # A field Oracle's shape does not name is ignored.
    assert create(world, stage(drmsInstanceId="DERMS-1"))["outcome"] == "Created"


# -- lifecycle ------------------------------------------------------------------------------


def test_the_lifecycle_moves_forward_once_and_a_redelivery_changes_nothing(world: Cpm):
    event_id = create(world, stage())["programEvent"]["id"]
    world.clock.advance(hours=1)
    started = act(world, action("X1IP"))
    assert (started["outcome"], started["programEvent"]["state"]) == ("Applied", "In Progress")
    assert started["programEvent"]["updatedAt"] == "2026-05-01T13:00:00+00:00"
    world.clock.advance(hours=1)
    for late in ("X1IP", "X1SD"):  # again, and late
        unchanged = act(world, action(late))
        assert unchanged == {"outcome": "Unchanged", "programEvent": started["programEvent"]}
    done = act(world, action("F1CO", cancelReason="ignored with F1CO"))
    assert (done["outcome"], done["programEvent"]["state"]) == ("Applied", "Complete")
    assert done["programEvent"]["cancelReason"] == ""
    for late in ("F1CO", "X1IP", "X1SD"):
        assert act(world, action(late))["outcome"] == "Unchanged"
    shown = show(world, event_id)
    assert moves(shown) == [
        ("CREATE", None, "Pending"),
        ("X1SD", "Pending", "Scheduled"),
        ("X1IP", "Scheduled", "In Progress"),
        ("F1CO", "In Progress", "Complete"),
    ]
    assert [h["at"][11:16] for h in shown["history"]] == ["12:00", "12:00", "13:00", "14:00"]


def test_a_cancel_keeps_its_reason_and_a_second_cancel_changes_nothing(world: Cpm):
    event_id = create(world, stage())["programEvent"]["id"]
    canceled = act(world, action("F1CN", cancelReason="heat wave passed"))
    assert canceled["outcome"] == "Applied"
    assert canceled["programEvent"]["cancelReason"] == "heat wave passed"
    assert canceled["programEvent"]["state"] == "Canceled"
    again = act(world, action("F1CN", cancelReason="another reason"))
    assert again == {"outcome": "Unchanged", "programEvent": canceled["programEvent"]}
    assert show(world, event_id)["history"][-1] == {
        "at": "2026-05-01T12:00:00+00:00", "action": "F1CN", "fromState": "Scheduled",
        "toState": "Canceled", "detail": "heat wave passed",
    }  # fmt: skip


def test_the_two_terminal_disagreements_are_refused(world: Cpm):
    create(world, stage("SG-1"))
    create(world, stage("SG-2"))
    act(world, action("F1CN", "SG-1", cancelReason="storm"))
    act(world, action("F1CO", "SG-2"))
    complete_canceled = world.post("/program-events/lifecycle", action("F1CO", "SG-1"),
                                   client="hub")  # fmt: skip
    assert refusal(complete_canceled) == (409, "CPM-PROGRAM-EVENT-STATE")
    assert "program event SG-1 is Canceled: F1CO cannot move it to Complete" in (
        complete_canceled.text
    )
    cancel_complete = world.post(
        "/program-events/lifecycle", action("F1CN", "SG-2", cancelReason="late"), client="hub"
    )
    assert refusal(cancel_complete) == (409, "CPM-PROGRAM-EVENT-STATE")
    states = {e["externalIdentifier"]: e["state"] for e in world.get("/program-events").json()[
        "items"]}  # fmt: skip
    assert states == {"SG-1": "Canceled", "SG-2": "Complete"}


def test_an_action_for_a_stage_cpm_does_not_hold_is_unknown_by_its_code(world: Cpm):
    answer = world.post("/program-events/lifecycle", action("X1IP", "SG-9"), client="hub")
    assert refusal(answer) == (404, "CPM-PROGRAM-EVENT-UNKNOWN")
    assert "no program event for the stage 'SG-9'" in answer.text


def test_an_action_naming_another_event_or_a_cancel_without_reason_is_invalid(world: Cpm):
    create(world, stage())
    other = world.post(
        "/program-events/lifecycle", action("X1IP", eventExternalIdentifier="EV-2"), client="hub"
    )
    assert refusal(other) == (422, "CPM-PROGRAM-EVENT-INVALID")
    assert "belongs to the event EV-1, not EV-2" in other.text
    for reason in ({}, {"cancelReason": ""}, {"cancelReason": "   "}, {"cancelReason": None}):
        blank = world.post("/program-events/lifecycle", action("F1CN", **reason), client="hub")
        assert refusal(blank) == (422, "CPM-PROGRAM-EVENT-INVALID"), reason
    long = world.post(
        "/program-events/lifecycle", action("F1CN", cancelReason="x" * 255), client="hub"
    )
    assert [e["field"] for e in long.json()["errors"]] == ["cancelReason"]
    unknown = world.post("/program-events/lifecycle", action("X1XX"), client="hub")
    assert [e["field"] for e in unknown.json()["errors"]] == ["action"]
    assert world.get("/program-events").json()["items"][0]["state"] == "Scheduled"


# -- reads ----------------------------------------------------------------------------------


def _many(world: Cpm) -> list[str]:
    """Five stages of two events, an hour apart; the ids, oldest start first."""
    ids = []
    for n in range(5):
        start = START + timedelta(hours=n)
        body = stage(
            f"SG-{n}",
            startDateTime=start.isoformat(),
            endDateTime=(start + timedelta(minutes=30)).isoformat(),
            eventExternalIdentifier="EV-A" if n < 3 else "EV-B",
            programExternalIdentifier="BYOT-2026" if n % 2 == 0 else "NOEXT",
        )
        ids.append(create(world, body)["programEvent"]["id"])
    return ids


def test_the_list_pages_the_latest_start_first(world: Cpm):
    ids = _many(world)
    seen: list[str] = []
    after = None
    for _ in range(3):
        page = world.get("/program-events", limit=2, **({"after": after} if after else {}))
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [e["id"] for e in body["items"]]
        after = body["next"]
        if after is None:
            break
    assert seen == list(reversed(ids))
    assert after is None


def test_the_list_narrows_by_program_event_stage_state_and_id(world: Cpm):
    ids = _many(world)
    act(world, {"action": "X1IP", "eventExternalIdentifier": "EV-B", "externalIdentifier": "SG-3"})

    def listed(**params: str) -> list[str]:
        answer = world.get("/program-events", client="viewer", **params)
        assert answer.status_code == 200, answer.text
        return [e["externalIdentifier"] for e in answer.json()["items"]]

    assert listed(program="NOEXT") == ["SG-3", "SG-1"]
    assert listed(eventExternalIdentifier="EV-A") == ["SG-2", "SG-1", "SG-0"]
    assert listed(externalIdentifier="SG-4") == ["SG-4"]
    assert listed(state="In Progress") == ["SG-3"]
    assert listed(id=ids[2]) == ["SG-2"]
    assert listed(program="BYOT", eventExternalIdentifier="EV-B") == ["SG-4"]
    assert listed(program="NOPE") == []
    bad_state = world.get("/program-events", state="Done")
    assert [e["field"] for e in bad_state.json()["errors"]] == ["query.state"]


def test_an_unknown_program_event_is_not_found_by_its_code(world: Cpm):
    answer = world.get("/program-events/PE-0000")
    assert refusal(answer) == (404, "CPM-PROGRAM-EVENT-UNKNOWN")


# -- who may --------------------------------------------------------------------------------


def test_only_a_client_holding_cpm_sync_creates_and_moves_program_events(world: Cpm):
    for path, body in (("/program-events", stage()), ("/program-events/lifecycle", action("X1IP"))):
        refused = world.post(path, body, client="viewer")
        assert refusal(refused) == (403, "DL-FORBIDDEN")
    assert world.get("/program-events", client="viewer").json()["items"] == []
    assert create(world, stage(), client="operator")["outcome"] == "Created"


# -- at the same time -----------------------------------------------------------------------


def _new_event(stage_id: str = "SG-1") -> m.NewProgramEvent:
    return m.NewProgramEvent(
        stage_id, "EV-1", "BYOT-2026", m.ProgramEventCategory.EMERGENCY, START,
        START + timedelta(hours=2),
    )  # fmt: skip


def _outcome(call: Any) -> str:
    try:
        return str(call().outcome)
    except DerlinkError as refused:
        return refused.code


def test_concurrent_deliveries_of_a_stage_create_one_program_event(world: Cpm):
    db, clock = world.part.db, world.clock
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(
            pool.map(
                lambda _: _outcome(
                    lambda: service.create_program_event(db=db, clock=clock, event=_new_event())
                ),
                range(THREADS),
            )
        )
    assert sorted(outcomes) == ["Created"] + ["Exists"] * (THREADS - 1)
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(program_events)).scalar() == 1
        lines = conn.execute(sa.select(sa.func.count()).select_from(program_event_history))
        assert lines.scalar() == 2


def test_concurrent_deliveries_of_an_action_apply_it_once(world: Cpm):
    db, clock = world.part.db, world.clock
    event_id = create(world, stage())["programEvent"]["id"]

    def complete(_: int) -> str:
        return _outcome(
            lambda: service.apply_action(
                db=db, clock=clock, external_identifier="SG-1", event_external_identifier="EV-1",
                action=m.LifecycleAction.COMPLETE,
            )
        )  # fmt: skip

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(complete, range(THREADS)))
    assert sorted(outcomes) == ["Applied"] + ["Unchanged"] * (THREADS - 1)
    assert [h["action"] for h in show(world, event_id)["history"]] == ["CREATE", "X1SD", "F1CO"]


# -- the schema -----------------------------------------------------------------------------


def test_a_database_at_revision_0006_gains_the_program_event_tables(fresh_url: str) -> None:
    engine = make_engine(fresh_url, schema=None if fresh_url.startswith("sqlite") else "cpm")
    tables = (program_event_history, program_events)
    try:
        at_revision(engine, SCHEMA, "0006")
        with engine.begin() as conn:  # as revision 0006 left it
            for table in (event_participations, *tables):
                table.drop(conn)
        assert upgrade(engine, SCHEMA, "0007").ran == ("0007",)
        assert {t.name for t in tables} <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


# -- the CLI --------------------------------------------------------------------------------


def test_the_cli_lists_program_events_with_filters_and_shows_one_with_its_history(
    world: Cpm, tmp_path: Path
) -> None:
    ids = _many(world)
    act(world, action("F1CN", "SG-0", eventExternalIdentifier="EV-A", cancelReason="storm"))
    home = world.cli_home(tmp_path)
    # Times in the utility's zone.
    env = {"DERLINK_HOME": str(home), "DERLINK_TIME_ZONE": "America/Los_Angeles"}
    runner = CliRunner()

    def run(*args: str, columns: str = "200") -> Any:
        return runner.invoke(
            cli, ["cpm", "program-events", *args, "--url", url], env={**env, "COLUMNS": columns}
        )

    with serve(world.part.app) as url:
        listed = run("list", "--program", "BYOT", "--limit", "2")
        narrow = run("list", "--program", "BYOT", "--limit", "2", columns="80")
        following = run("list", "--program", "BYOT", "--after", listed.output.split("'")[1])
        narrowed = run("list", "--event", "EV-B", "--state", "Scheduled", "--json")
        by_stage = run("list", "--stage", "SG-1", "--json")
        by_id = run("list", "--id", ids[1], "--json")
        none = run("list", "--program", "NOEXT", "--state", "Complete")
        shown = run("show", ids[0])
        as_json = run("show", ids[0], "--json")
        unknown = run("show", "PE-NOPE")
        bad_state = run("list", "--state", "Done")
    assert listed.exit_code == 0, listed.output
    assert ids[4] in listed.output and ids[2] in listed.output and ids[0] not in listed.output
    assert ids[4] in narrow.output and ids[2] in narrow.output  # whole at 80 columns too
    assert "2026-07-17 19:00 PDT" in listed.output  # SG-4 starts 19:00 in Los Angeles
    assert "more: --after '" in listed.output
    assert ids[0] in following.output and ids[4] not in following.output
    assert "more:" not in following.output
    assert [e["externalIdentifier"] for e in json.loads(narrowed.output)["items"]] == [
        "SG-4", "SG-3",
    ]  # fmt: skip
    assert [e["id"] for e in json.loads(by_stage.output)["items"]] == [ids[1]]
    assert [e["externalIdentifier"] for e in json.loads(by_id.output)["items"]] == ["SG-1"]
    assert none.output.strip() == "no program events"
    assert shown.exit_code == 0, shown.output
    for words in (f"id        {ids[0]}", "stage     SG-0", "event     EV-A",
                  "program   BYOT (DERMS named it BYOT-2026)", "state     Canceled",
                  "window    2026-07-17 15:00 PDT to 2026-07-17 15:30 PDT", "reason    storm",
                  "CREATE", "X1SD", "F1CN"):  # fmt: skip
        assert words in shown.output, words
    assert [h["action"] for h in json.loads(as_json.output)["history"]] == [
        "CREATE", "X1SD", "F1CN",
    ]  # fmt: skip
    assert unknown.exit_code == 1
    assert "404: no program event 'PE-NOPE'" in str(unknown.exception)
    assert bad_state.exit_code == 1
    assert "422" in str(bad_state.exception)
