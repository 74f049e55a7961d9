"""Program rules and aggregators in cpm, and what goes to DERMS: every change of an Active
program's rules (or of an aggregator) is one outbound message carrying the whole state and the
next version; DERMS's answers, through the hub, say whether it holds the latest version
(docs/contracts/master-data.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from cpm_harness import API, Cpm
from tests.support.servers import serve
from typer.testing import CliRunner

from derlink.cli.main import app as cli
from derlink.cpm.db import outbox

RULE = {
    "effectiveFrom": "2026-06-01",
    "effectiveTo": "2026-10-01",
    "allowEventDays": ["WEEKDAYS"],
    "windowStart": "12:00",
    "windowEnd": "20:00",
    "minEventDurationMin": 30,
    "maxEventDurationMin": 240,
    "maxEventsPerCycle": 15,
    "cycleFrequency": "SEASON",
    "maxOverridesPerCycle": 3,
    "optOutCutoffMin": 60,
    "minRestMin": 720,
    "overridable": False,
}


def sent(cpm: Cpm, flow: str) -> list[dict[str, Any]]:
    """The payloads of ``flow`` in cpm's outbox, oldest first."""
    with cpm.part.db.read() as conn:
        rows = conn.execute(
            sa.select(outbox.c.payload).where(outbox.c.flow == flow).order_by(outbox.c.id)
        ).scalars()
        return [orjson.loads(p) for p in rows]


def patch(cpm: Cpm, path: str, body: Any) -> Any:
    return cpm.http.patch(API + path, json=body, headers=cpm.headers("operator"))


def test_each_change_of_an_active_programs_rules_sends_the_whole_set_with_the_next_version(
    seeded: Cpm,
) -> None:
    linked = seeded.post("/programs/BYOT/rules", RULE)
    assert linked.status_code == 201, linked.text
    rule_id = linked.json()["ruleId"]
    weekend = {**RULE, "allowEventDays": ["WEEKENDS", "HOLIDAYS"], "effectiveFrom": "2026-07-01"}
    assert seeded.post("/programs/BYOT/rules", weekend).status_code == 201
    changed = seeded.http.put(
        f"{API}/programs/BYOT/rules/{rule_id}",
        json={**RULE, "maxEventsPerCycle": 10},
        headers=seeded.headers("operator"),
    )
    assert changed.status_code == 200, changed.text
    left = seeded.http.delete(f"{API}/programs/BYOT/rules/{rule_id}",
                              headers=seeded.headers("operator"))  # fmt: skip
    assert [r["allowEventDays"] for r in left.json()] == [["WEEKENDS", "HOLIDAYS"]]

    messages = sent(seeded, "PROG-RULE")
    # Created Active (version 1, no rules), then link, link, change, unlink.
    assert [m["version"] for m in messages] == [1, 2, 3, 4, 5]
    assert [len(m["rules"]) for m in messages] == [0, 1, 2, 2, 1]
    assert [r["maxEventsPerCycle"] for r in messages[3]["rules"]] == [10, 15]
    assert messages[4]["rules"][0]["allowEventDays"] == ["WEEKENDS", "HOLIDAYS"]
    assert messages[4]["program"] == {"code": "BYOT", "externalId": "", "type": "DR",
                                      "status": "Active"}  # fmt: skip
    assert len({m["dacsMessageId"] for m in messages}) == 5
    program = seeded.get("/programs/BYOT").json()
    assert program["dermsSync"] == {"version": 5, "dermsVersion": 0, "state": "Pending",
                                    "detail": ""}  # fmt: skip


def test_a_program_that_is_not_active_sends_nothing_until_it_becomes_active(seeded: Cpm) -> None:
    assert seeded.post("/programs/OLD/rules", RULE).status_code == 201
    assert [m["program"]["code"] for m in sent(seeded, "PROG-RULE")] == ["BYOT"]
    assert seeded.get("/programs/OLD").json()["dermsSync"]["state"] == "None"
    activated = patch(seeded, "/programs/OLD", {"status": "Active", "externalId": "OLD-1"})
    assert activated.status_code == 200, activated.text
    [old] = [m for m in sent(seeded, "PROG-RULE") if m["program"]["code"] == "OLD"]
    assert (old["version"], old["program"]["externalId"], len(old["rules"])) == (1, "OLD-1", 1)
    renamed = patch(seeded, "/programs/OLD", {"name": "Old program"})
    assert renamed.json()["name"] == "Old program"
    assert len([m for m in sent(seeded, "PROG-RULE") if m["program"]["code"] == "OLD"]) == 1
    # Stopping is said once, so DERMS plans no more events for it; then nothing goes.
    patch(seeded, "/programs/OLD", {"status": "Inactive"})
    seeded.post("/programs/OLD/rules", RULE)
    old = [m for m in sent(seeded, "PROG-RULE") if m["program"]["code"] == "OLD"]
    assert [(m["version"], m["program"]["status"]) for m in old] == [
        (1, "Active"), (2, "Inactive")]  # fmt: skip


def test_a_rule_whose_terms_disagree_is_refused_naming_them(seeded: Cpm) -> None:
    bad = {**RULE, "windowStart": "20:00", "windowEnd": "12:00", "minEventDurationMin": 300}
    answer = seeded.post("/programs/BYOT/rules", bad)
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["code"] == "CPM-RULE-INVALID"
    assert "windowStart 20:00" in problem["detail"]
    assert "minEventDurationMin 300" in problem["detail"]
    assert seeded.post("/programs/BYOT/rules", {**RULE, "allowEventDays": []}).status_code == 422
    assert len(sent(seeded, "PROG-RULE")) == 1  # nothing sent for a refused rule


def test_unknown_programs_and_rules_are_404_naming_them(seeded: Cpm) -> None:
    assert seeded.post("/programs/NOPE/rules", RULE).json()["code"] == "CPM-PROGRAM-UNKNOWN"
    answer = seeded.http.put(
        f"{API}/programs/BYOT/rules/PR-nope", json=RULE, headers=seeded.headers("operator")
    )
    assert (answer.status_code, answer.json()["code"]) == (404, "CPM-RULE-UNKNOWN")


def test_dermss_answers_say_whether_it_holds_the_latest_version(seeded: Cpm) -> None:
    seeded.post("/programs/BYOT/rules", RULE)  # version 2

    def ack(*acks: dict[str, Any]) -> list[dict[str, Any]]:
        answer = seeded.post("/master-data/acknowledgements", {"acknowledgements": list(acks)},
                             client="hub")  # fmt: skip
        assert answer.status_code == 200, answer.text
        return [(r["outcome"], r["detail"]) for r in answer.json()["results"]]

    assert ack({"kind": "PROG-RULE", "code": "BYOT", "version": 1, "status": "SUCCESS"}) == [
        ("Stale", "")
    ]
    assert seeded.get("/programs/BYOT").json()["dermsSync"] == {
        "version": 2, "dermsVersion": 1, "state": "Pending", "detail": ""}  # fmt: skip
    refused = {"kind": "PROG-RULE", "code": "BYOT", "version": 2, "status": "ERROR",
               "errorCode": "HUB-LOOKUP-ALLOWEVENTDAYS",
               "message": "no AllowEventDays value for 'WEEKDAYS'"}  # fmt: skip
    unknown = {"kind": "AGGREGATOR", "code": "NOPE", "version": 1, "status": "SUCCESS"}
    assert ack(refused, unknown) == [
        ("Applied", ""),
        ("Rejected", "no aggregator with code 'NOPE'"),
    ]
    assert seeded.get("/programs/BYOT").json()["dermsSync"] == {
        "version": 2, "dermsVersion": 1, "state": "Error",
        "detail": "HUB-LOOKUP-ALLOWEVENTDAYS: no AllowEventDays value for 'WEEKDAYS'",
    }  # fmt: skip
    ack({"kind": "PROG-RULE", "code": "BYOT", "version": 2, "status": "SUCCESS"})
    assert seeded.get("/programs/BYOT").json()["dermsSync"] == {
        "version": 2, "dermsVersion": 2, "state": "Synchronized", "detail": "",
    }  # fmt: skip
    viewer = seeded.post("/master-data/acknowledgements", {"acknowledgements": [unknown]},
                         client="viewer")  # fmt: skip
    assert viewer.status_code == 403


def test_aggregators_are_created_updated_and_sent_never_deleted(seeded: Cpm) -> None:
    created = seeded.post("/aggregators", {
        "code": "AGG-1", "name": "Valley", "startDate": "2026-01-01",
        "contact": {"name": "Desk", "email": "desk@valley.example"},
        "externalReferenceId": "VA-77", "externalSystem": "VALLEY-HES", "programs": ["BYOT"],
    })  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["dermsSync"]["state"] == "Pending"
    stopped = patch(seeded, "/aggregators/AGG-1", {"status": "Inactive"})
    assert stopped.status_code == 200, stopped.text
    assert (stopped.json()["status"], stopped.json()["programs"]) == ("Inactive", ["BYOT"])
    [first, second] = sent(seeded, "AGGREGATOR")
    assert (first["version"], first["status"], first["contact"]["email"]) == (
        1, "Active", "desk@valley.example")  # fmt: skip
    assert (second["version"], second["status"], second["externalSystem"]) == (
        2, "Inactive", "VALLEY-HES")  # fmt: skip
    bad_dates = patch(seeded, "/aggregators/AGG-1", {"details": {
        "startDate": "2026-05-01", "endDate": "2026-04-01"}})  # fmt: skip
    assert (bad_dates.status_code, bad_dates.json()["code"]) == (422, "CPM-AGGREGATOR-INVALID")
    assert seeded.get("/aggregators/NOPE").status_code == 404
    deleted = seeded.http.delete(f"{API}/aggregators/AGG-1", headers=seeded.headers("operator"))
    assert deleted.status_code == 405
    assert [a["code"] for a in seeded.get("/aggregators").json()] == ["AGG-1"]


def test_the_cli_lists_programs_rules_and_aggregators_with_what_derms_holds(
    seeded: Cpm, tmp_path: Path
) -> None:
    rule_id = seeded.post("/programs/BYOT/rules", RULE).json()["ruleId"]
    seeded.post("/master-data/acknowledgements", {"acknowledgements": [
        {"kind": "PROG-RULE", "code": "BYOT", "version": 1, "status": "SUCCESS"}]},
        client="hub")  # fmt: skip
    home = tmp_path / "home"
    home.mkdir()
    (home / "credentials.json").write_text(seeded.credentials.to_json())
    (home / "credentials.json").chmod(0o600)
    runner = CliRunner()
    env = {"DERLINK_HOME": str(home), "COLUMNS": "80"}
    with serve(seeded.part.app) as url:
        listed = runner.invoke(
            cli, ["cpm", "programs", "--url", url], env={**env, "COLUMNS": "200"}
        )
        rules = runner.invoke(cli, ["cpm", "rules", "BYOT", "--url", url], env=env)
        as_json = runner.invoke(cli, ["cpm", "rules", "BYOT", "--url", url, "--json"], env=env)
        none = runner.invoke(cli, ["cpm", "aggregators", "--url", url], env=env)
        unknown = runner.invoke(cli, ["cpm", "rules", "NOPE", "--url", url], env=env)
    assert listed.exit_code == 0, listed.output
    assert "Pending (version 2, DERMS has 1)" in listed.output
    assert "not sent (not Active)" in listed.output  # OLD
    assert rule_id in rules.output  # whole, at 80 columns
    assert "15 events per SEASON" in rules.output
    assert [r["ruleId"] for r in json.loads(as_json.output)] == [rule_id]
    assert none.output.strip() == "no aggregators"
    assert unknown.exit_code == 1
    assert "no program with code 'NOPE'" in str(unknown.exception)


def test_a_program_or_aggregator_is_sent_again_as_the_next_version(seeded: Cpm) -> None:
    again = seeded.post("/programs/BYOT/send-rules")
    assert again.status_code == 200, again.text
    assert again.json() == {"version": 2, "dermsVersion": 0, "state": "Pending", "detail": ""}
    assert [m["version"] for m in sent(seeded, "PROG-RULE")] == [1, 2]
    inactive = seeded.post("/programs/OLD/send-rules")
    assert (inactive.status_code, inactive.json()["code"]) == (422, "CPM-PROGRAM-INACTIVE")
    seeded.post("/aggregators", {"code": "AGG-1"})
    assert seeded.post("/aggregators/AGG-1/send").json()["version"] == 2
    assert [m["version"] for m in sent(seeded, "AGGREGATOR")] == [1, 2]
    assert seeded.post("/aggregators/NOPE/send").status_code == 404
    assert seeded.post("/programs/BYOT/send-rules", client="viewer").status_code == 403
