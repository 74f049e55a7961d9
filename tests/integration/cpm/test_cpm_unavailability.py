"""Customer unavailability in cpm (UNAVAIL, docs/contracts/unavailability.md, "cpm"): a device's
period added, edited and canceled, each change a new version written with its UNAVAIL message,
an edit that changes nothing without one; the refusals; the resend; DERMS's answers through the
hub; the reads, the schema and the CLI; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cpm_harness import Cpm, build_part
from test_cpm_participations import HE, enroll, refusal
from tests.support.servers import serve
from typer.testing import CliRunner

from derlink.cli.main import app as cli
from derlink.cli.main import run
from derlink.cpm.events import unavailability as u
from derlink.cpm.events import unavailability_service
from derlink.cpm.events.tables import customer_unavailabilities
from derlink.cpm.migrations import SCHEMA
from derlink.platform.database import make_engine
from derlink.platform.migrations import stamp, upgrade

#: The period the tests add: 17 July, 12:00 to 20:00 in Los Angeles.
START = datetime(2026, 7, 17, 19, 0, tzinfo=UTC)
PERIOD = {"start": "2026-07-17T12:00:00-07:00", "end": "2026-07-17T20:00:00-07:00",
          "reason": "away on vacation"}  # fmt: skip


@pytest.fixture
def held(seeded: Cpm) -> dict[str, str]:
    """NIC-1 and NIC-2 on an Active subscription of BYOT: their devices' ids by NIC."""
    devices: dict[str, str] = enroll(seeded, "REQ-1", ["NIC-1", "NIC-2"])["devices"]
    return devices


def add(cpm: Cpm, device_id: str, body: Any = None, client: str = "operator") -> Any:
    return cpm.post(f"/devices/{device_id}/unavailabilities", PERIOD if body is None else body,
                    client=client)  # fmt: skip


def added(cpm: Cpm, device_id: str, **changes: str) -> dict[str, Any]:
    answer = add(cpm, device_id, {**PERIOD, **changes})
    assert answer.status_code == 201, answer.text
    period: dict[str, Any] = answer.json()
    return period


def edit(cpm: Cpm, unavailability_id: str, client: str = "operator", **body: Any) -> Any:
    return cpm.patch(f"/unavailabilities/{unavailability_id}", body, client=client)


def edited(cpm: Cpm, unavailability_id: str, **body: Any) -> dict[str, Any]:
    answer = edit(cpm, unavailability_id, **body)
    assert answer.status_code == 200, answer.text
    done: dict[str, Any] = answer.json()
    return done


def cancel(cpm: Cpm, unavailability_id: str, client: str = "operator") -> Any:
    return cpm.post(f"/unavailabilities/{unavailability_id}/cancel", client=client)


def resend(cpm: Cpm, unavailability_id: str, client: str = "operator") -> Any:
    return cpm.post(f"/unavailabilities/{unavailability_id}/resend", client=client)


def read(cpm: Cpm, unavailability_id: str) -> dict[str, Any]:
    answer = cpm.get(f"/unavailabilities/{unavailability_id}", client="viewer")
    assert answer.status_code == 200, answer.text
    period: dict[str, Any] = answer.json()
    return period


def listed(cpm: Cpm, **params: Any) -> dict[str, Any]:
    answer = cpm.get("/unavailabilities", client="viewer", **params)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


def ack(cpm: Cpm, *acks: dict[str, Any], client: str = "hub") -> Any:
    return cpm.post("/unavailabilities/acknowledgements", {"acknowledgements": list(acks)},
                    client=client)  # fmt: skip


def answer_of(unavailability_id: str, version: int, **error: str) -> dict[str, Any]:
    """DERMS's answer to a version, as the hub acknowledges it: SUCCESS, or ERROR with the
    ``errorCode`` and ``message`` given."""
    status = "ERROR" if error else "SUCCESS"
    return {"kind": "UNAVAIL", "code": unavailability_id, "version": version, "status": status,
            **error}  # fmt: skip


def sent(cpm: Cpm) -> list[dict[str, Any]]:
    return cpm.outbox_messages("UNAVAIL")


def sync(period: dict[str, Any]) -> tuple[int, int, str, str]:
    return period["version"], period["dermsVersion"], period["dermsSync"], period["dermsDetail"]


# -- add ------------------------------------------------------------------------------------


def test_a_period_added_is_active_at_version_1_with_one_message_for_derms(
    seeded: Cpm, held: dict[str, str]
):
    seeded.clock.advance(seconds=1.5)
    period = added(seeded, held["NIC-1"])
    at = "2026-05-01T12:00:01.500000+00:00"
    pid = period.pop("id")
    assert pid.startswith("CU-")
    assert period == {
        "deviceId": held["NIC-1"], "headEndSystem": HE, "nicId": "NIC-1",
        "start": "2026-07-17T19:00:00+00:00", "end": "2026-07-18T03:00:00+00:00",
        "reason": "away on vacation", "status": "Active", "version": 1,
        "createdAt": at, "createdBy": "operator", "updatedAt": at, "updatedBy": "operator",
        "dermsVersion": 0, "dermsSync": "Pending", "dermsDetail": "",
    }  # fmt: skip
    [message] = sent(seeded)
    assert message.pop("dacsMessageId").startswith("UAM-")
    assert message == {
        "unavailabilityId": pid,
        "headEndSystem": HE, "nicId": "NIC-1", "start": "2026-07-17T19:00:00.000Z",
        "end": "2026-07-18T03:00:00.000Z", "status": "ACTIVE", "reason": "away on vacation",
        "version": 1,
    }  # fmt: skip
    assert read(seeded, pid) == {"id": pid, **period}


def test_a_period_added_without_a_reason_keeps_none_and_its_times_to_the_millisecond(
    seeded: Cpm, held: dict[str, str]
):
    body = {"start": "2026-07-17T12:00:00.123456-07:00", "end": "2026-07-17T20:00:00Z"}
    answer = add(seeded, held["NIC-1"], body)
    assert answer.status_code == 201, answer.text
    period = answer.json()
    assert (period["start"], period["end"], period["reason"]) == (
        "2026-07-17T19:00:00.123000+00:00", "2026-07-17T20:00:00+00:00", "")  # fmt: skip
    [message] = sent(seeded)
    assert (message["start"], message["reason"]) == ("2026-07-17T19:00:00.123Z", "")


def test_two_active_periods_of_a_device_may_overlap(seeded: Cpm, held: dict[str, str]):
    first = added(seeded, held["NIC-1"])
    second = added(seeded, held["NIC-1"], start="2026-07-17T18:00:00-07:00",
                   end="2026-07-18T08:00:00-07:00")  # fmt: skip
    assert (first["status"], second["status"]) == ("Active", "Active")
    assert [m["unavailabilityId"] for m in sent(seeded)] == [first["id"], second["id"]]


def test_a_period_that_does_not_hold_together_is_refused(seeded: Cpm, held: dict[str, str]):
    device = held["NIC-1"]

    def refused(**changes: str) -> str:
        answer = add(seeded, device, {**PERIOD, **changes})
        assert refusal(answer) == (422, "CPM-UNAVAILABILITY-INVALID")
        detail: str = answer.json()["detail"]
        return detail

    assert refused(end=PERIOD["start"]) == (
        "end 2026-07-17T19:00:00+00:00 is not after start 2026-07-17T19:00:00+00:00"
    )
    assert "lasts more than 366 days" in refused(end="2027-07-18T12:00:01-07:00")
    # T0 is 12:00 UTC on 1 May: a start more than a day before it is refused, one within it not.
    assert refused(start="2026-04-30T11:59:59Z") == (
        "start 2026-04-30T11:59:59+00:00 is more than a day before now "
        "(2026-05-01T12:00:00+00:00): a period in the past is pointless"
    )
    assert added(seeded, device, start="2026-04-30T12:00:00Z")["version"] == 1
    assert len(sent(seeded)) == 1


def test_a_period_of_an_unknown_device_is_refused(seeded: Cpm):
    unknown = add(seeded, "D-NOPE")
    assert refusal(unknown) == (404, "CPM-DEVICE-UNKNOWN")
    assert unknown.json()["detail"] == "no device 'D-NOPE'"
    assert refusal(add(seeded, "D" * 41)) == (422, None)
    assert sent(seeded) == []


def test_an_added_period_s_body_is_strict_and_only_cpm_write_adds(
    seeded: Cpm, held: dict[str, str]
):
    device = held["NIC-1"]

    def fields(body: Any) -> list[str]:
        answer = add(seeded, device, body)
        assert refusal(answer) == (422, None)
        return [e["field"] for e in answer.json()["errors"]]

    assert fields({**PERIOD, "note": "x"}) == ["note"]
    assert fields({**PERIOD, "start": "2026-07-17T12:00:00"}) == ["start"]  # no offset
    assert fields({"start": PERIOD["start"]}) == ["end"]
    assert fields({**PERIOD, "reason": "r" * 255}) == ["reason"]
    for client in ("viewer", "hub"):
        assert refusal(add(seeded, device, client=client)) == (403, "DL-FORBIDDEN")
    assert sent(seeded) == []
    assert added(seeded, device, reason="r" * 254)["reason"] == "r" * 254


# -- edit and cancel ------------------------------------------------------------------------


def test_an_edit_is_the_next_version_with_its_message_and_keeps_what_it_does_not_name(
    seeded: Cpm, held: dict[str, str]
):
    period = added(seeded, held["NIC-1"])
    seeded.clock.advance(hours=1)
    done = edited(seeded, period["id"], end="2026-07-17T22:00:00-07:00")
    at = "2026-05-01T13:00:00+00:00"
    assert done == {"outcome": "Changed", "unavailability": {
        **period, "end": "2026-07-18T05:00:00+00:00", "version": 2, "updatedAt": at,
    }}  # fmt: skip
    assert read(seeded, period["id"]) == done["unavailability"]
    first, second = sent(seeded)
    assert first["dacsMessageId"] != second["dacsMessageId"]
    assert {k: v for k, v in second.items() if k != "dacsMessageId"} == {
        **{k: v for k, v in first.items() if k != "dacsMessageId"},
        "end": "2026-07-18T05:00:00.000Z", "version": 2,
    }  # fmt: skip
    reason = edited(seeded, period["id"], reason="a party", start=None)
    assert (reason["outcome"], reason["unavailability"]["reason"]) == ("Changed", "a party")
    assert reason["unavailability"]["start"] == period["start"]  # null keeps it
    assert [m["version"] for m in sent(seeded)] == [1, 2, 3]


def test_an_edit_that_changes_nothing_is_unchanged_and_sends_nothing(
    seeded: Cpm, held: dict[str, str]
):
    period = added(seeded, held["NIC-1"])
    seeded.clock.advance(hours=1)
    for body in ({}, PERIOD, {"start": "2026-07-17T19:00:00Z", "reason": "away on vacation"}):
        assert edited(seeded, period["id"], **body) == {
            "outcome": "Unchanged", "unavailability": period}  # fmt: skip
    assert len(sent(seeded)) == 1


def test_a_period_under_way_is_edited_though_its_start_is_long_past(
    seeded: Cpm, held: dict[str, str]
):
    period = added(seeded, held["NIC-1"])
    seeded.clock.at = START + timedelta(days=3)  # wrong times aside, three days under way
    longer = edited(seeded, period["id"], end="2026-07-21T12:00:00-07:00")
    assert (longer["outcome"], longer["unavailability"]["version"]) == ("Changed", 2)


def test_an_edit_that_does_not_hold_together_is_refused_and_changes_nothing(
    seeded: Cpm, held: dict[str, str]
):
    period = added(seeded, held["NIC-1"])
    backwards = edit(seeded, period["id"], end="2026-07-17T11:00:00-07:00")
    assert refusal(backwards) == (422, "CPM-UNAVAILABILITY-INVALID")
    assert backwards.json()["detail"] == (
        "end 2026-07-17T18:00:00+00:00 is not after start 2026-07-17T19:00:00+00:00"
    )
    assert refusal(edit(seeded, period["id"], status="Canceled")) == (422, None)
    assert refusal(edit(seeded, period["id"], reason="r" * 255)) == (422, None)
    assert refusal(edit(seeded, period["id"], client="viewer", reason="x")) == (
        403, "DL-FORBIDDEN")  # fmt: skip
    unknown = edit(seeded, "CU-NOPE", reason="x")
    assert refusal(unknown) == (404, "CPM-UNAVAILABILITY-UNKNOWN")
    assert unknown.json()["detail"] == "no unavailability 'CU-NOPE'"
    assert read(seeded, period["id"]) == period
    assert len(sent(seeded)) == 1


def test_a_canceled_period_is_the_next_version_and_takes_no_edit_or_cancel(
    seeded: Cpm, held: dict[str, str]
):
    period = added(seeded, held["NIC-2"])
    seeded.clock.advance(minutes=5)
    answer = cancel(seeded, period["id"], client="operator")
    assert answer.status_code == 200, answer.text
    at = "2026-05-01T12:05:00+00:00"
    assert answer.json() == {"outcome": "Canceled", "unavailability": {
        **period, "status": "Canceled", "version": 2, "updatedAt": at}}  # fmt: skip
    assert [(m["status"], m["version"]) for m in sent(seeded)] == [("ACTIVE", 1), ("CANCELED", 2)]
    for refused in (cancel(seeded, period["id"]), edit(seeded, period["id"], reason="x"),
                    edit(seeded, period["id"])):  # fmt: skip
        assert refusal(refused) == (409, "CPM-UNAVAILABILITY-STATE")
        assert refused.json()["unavailabilityStatus"] == "Canceled"
    assert (
        refused.json()["detail"] == f"unavailability {period['id']} is Canceled: it takes no edit"
    )
    assert refusal(cancel(seeded, "CU-NOPE")) == (404, "CPM-UNAVAILABILITY-UNKNOWN")
    assert refusal(cancel(seeded, period["id"], client="viewer")) == (403, "DL-FORBIDDEN")
    assert len(sent(seeded)) == 2


def test_concurrent_edits_of_a_period_are_versions_one_after_the_other(
    seeded: Cpm, held: dict[str, str]
):
    period = added(seeded, held["NIC-1"])

    def ask(n: int) -> u.EditOutcome:
        return unavailability_service.edit_unavailability(
            db=seeded.part.db, clock=seeded.clock, unavailability_id=period["id"],
            change=u.PeriodChange(reason=f"reason {n}"), actor=f"client-{n}",
        ).outcome  # fmt: skip

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(ask, range(6)))
    assert outcomes == [u.EditOutcome.CHANGED] * 6
    messages = sent(seeded)
    assert [m["version"] for m in messages] == [1, 2, 3, 4, 5, 6, 7]
    assert read(seeded, period["id"])["reason"] == messages[-1]["reason"]


# -- resend ---------------------------------------------------------------------------------


def test_a_period_is_sent_again_as_the_next_version_until_derms_holds_it(
    seeded: Cpm, held: dict[str, str]
):
    pid = added(seeded, held["NIC-1"])["id"]
    pending = resend(seeded, pid)  # DERMS has not answered version 1
    assert pending.status_code == 200, pending.text
    assert sync(pending.json()) == (2, 0, "Pending", "")
    assert ack(seeded, answer_of(pid, 2, errorCode="DERMS-X", message="no")).status_code == 200
    after_error = resend(seeded, pid)  # DERMS refused version 2
    assert after_error.status_code == 200, after_error.text
    assert sync(after_error.json()) == (3, 0, "Pending", "")
    ack(seeded, answer_of(pid, 3))
    synchronized = resend(seeded, pid)
    assert refusal(synchronized) == (409, "CPM-UNAVAILABILITY-STATE")
    assert synchronized.json()["detail"] == (
        f"unavailability {pid} is Synchronized at DERMS (version 3): only a period DERMS refused "
        "(Error) or has not answered (Pending) is sent again"
    )
    # A canceled period is sent again too: DERMS must learn it was canceled.
    assert cancel(seeded, pid).status_code == 200
    canceled = resend(seeded, pid)
    assert canceled.status_code == 200, canceled.text
    assert (canceled.json()["status"], canceled.json()["version"]) == ("Canceled", 5)
    messages = sent(seeded)
    assert [(m["version"], m["status"]) for m in messages] == [
        (1, "ACTIVE"), (2, "ACTIVE"), (3, "ACTIVE"), (4, "CANCELED"), (5, "CANCELED")]  # fmt: skip
    assert len({m["dacsMessageId"] for m in messages}) == 5
    assert refusal(resend(seeded, pid, client="viewer")) == (403, "DL-FORBIDDEN")
    assert refusal(resend(seeded, "CU-NOPE")) == (404, "CPM-UNAVAILABILITY-UNKNOWN")
    assert len(sent(seeded)) == 5


# -- DERMS's answers ------------------------------------------------------------------------


def test_derms_s_answers_say_whether_it_holds_the_latest_version(seeded: Cpm, held: dict[str, str]):
    pid = added(seeded, held["NIC-1"])["id"]
    edited(seeded, pid, reason="a party")  # version 2

    def results(*acks: dict[str, Any]) -> list[tuple[str, str, str]]:
        answer = ack(seeded, *acks)
        assert answer.status_code == 200, answer.text
        return [(r["kind"], r["outcome"], r["detail"]) for r in answer.json()["results"]]

    # An older version: Stale; its success only raises the version DERMS holds.
    assert results(answer_of(pid, 1)) == [("UNAVAIL", "Stale", "")]
    assert sync(read(seeded, pid)) == (2, 1, "Pending", "")
    refused = answer_of(pid, 2, errorCode="DERMS-UNAVAILABILITY-INVALID", message="bad window")
    assert results(refused, answer_of("CU-NOPE", 1)) == [
        ("UNAVAIL", "Applied", ""), ("UNAVAIL", "Rejected", "no unavailability 'CU-NOPE'"),
    ]  # fmt: skip
    assert sync(read(seeded, pid)) == (2, 1, "Error", "DERMS-UNAVAILABILITY-INVALID: bad window")
    assert results(answer_of(pid, 2)) == [("UNAVAIL", "Applied", "")]
    assert sync(read(seeded, pid)) == (2, 2, "Synchronized", "")
    # An older failure changes nothing; an edit makes the next version Pending.
    assert results(answer_of(pid, 1, errorCode="X", message="late")) == [("UNAVAIL", "Stale", "")]
    assert sync(read(seeded, pid)) == (2, 2, "Synchronized", "")
    assert sync(edited(seeded, pid, reason="away")["unavailability"]) == (3, 2, "Pending", "")


def test_only_cpm_sync_answers_and_only_for_unavailability(seeded: Cpm, held: dict[str, str]):
    pid = added(seeded, held["NIC-1"])["id"]
    assert refusal(ack(seeded, answer_of(pid, 1), client="viewer")) == (403, "DL-FORBIDDEN")
    wrong_kind = ack(seeded, {**answer_of(pid, 1), "kind": "OPT-OUT"})
    assert refusal(wrong_kind) == (422, None)
    assert [e["field"] for e in wrong_kind.json()["errors"]] == ["acknowledgements[0].kind"]
    assert refusal(ack(seeded)) == (422, None)
    assert read(seeded, pid)["dermsSync"] == "Pending"


# -- reads ----------------------------------------------------------------------------------


def test_the_list_is_the_latest_start_first_narrowed_and_paged(seeded: Cpm, held: dict[str, str]):
    days = {}
    for day, nic in ((17, "NIC-1"), (19, "NIC-2"), (18, "NIC-1"), (20, "NIC-1")):
        days[day] = added(seeded, held[nic], start=f"2026-07-{day}T12:00:00-07:00",
                          end=f"2026-07-{day}T20:00:00-07:00")["id"]  # fmt: skip
    assert cancel(seeded, days[18]).status_code == 200

    def ids(**params: Any) -> list[str]:
        return [p["id"] for p in listed(seeded, **params)["items"]]

    assert ids() == [days[20], days[19], days[18], days[17]]
    assert ids(deviceId=held["NIC-1"]) == [days[20], days[18], days[17]]
    assert ids(nicId=" NIC-2 ") == [days[19]]
    assert ids(status="Canceled") == [days[18]]
    assert ids(status="Active", deviceId=held["NIC-1"]) == [days[20], days[17]]
    first = listed(seeded, limit=3)
    assert [p["id"] for p in first["items"]] == [days[20], days[19], days[18]]
    assert first["next"] == days[18]
    last = listed(seeded, limit=3, after=first["next"])
    assert ([p["id"] for p in last["items"]], last["next"]) == ([days[17]], None)
    assert listed(seeded, after="CU-NOPE") == {"items": [], "next": None}
    assert refusal(seeded.get("/unavailabilities", client="viewer", status="Gone")) == (422, None)
    unknown = seeded.get("/unavailabilities/CU-NOPE", client="viewer")
    assert refusal(unknown) == (404, "CPM-UNAVAILABILITY-UNKNOWN")


# -- the schema -----------------------------------------------------------------------------


def test_a_database_at_revision_0010_gains_the_unavailability_table(fresh_url: str, tmp_path: Path):
    made = build_part(fresh_url, tmp_path)  # at the newest revision, then taken back to 0010
    made.close()
    engine = make_engine(fresh_url, schema=None if fresh_url.startswith("sqlite") else "cpm")
    try:
        with engine.begin() as conn:  # as revision 0010 left it
            customer_unavailabilities.drop(conn)
        stamp(engine, SCHEMA, "0010")
        assert upgrade(engine, SCHEMA).ran == ("0011",)
        indexes = {
            i["name"] for i in sa.inspect(engine).get_indexes(customer_unavailabilities.name)
        }
        assert indexes == {"ix_customer_unavailabilities_start",
                           "ix_customer_unavailabilities_device",
                           "ix_customer_unavailabilities_nic"}  # fmt: skip
        assert upgrade(engine, SCHEMA).ran == ()
    finally:
        engine.dispose()
    again = build_part(fresh_url, tmp_path)
    try:
        again.seed()
        devices = enroll(again, "REQ-1", ["NIC-1"])["devices"]
        assert added(again, devices["NIC-1"])["version"] == 1
    finally:
        again.close()


# -- the CLI --------------------------------------------------------------------------------


def test_the_cli_adds_edits_cancels_lists_shows_and_sends_again(
    seeded: Cpm, held: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    home = seeded.cli_home(tmp_path)
    env = {"DERLINK_HOME": str(home), "DERLINK_TIME_ZONE": "America/Los_Angeles",
           "COLUMNS": "60"}  # fmt: skip
    runner = CliRunner()
    device = held["NIC-1"]

    def cli_run(*args: str) -> Any:
        return runner.invoke(cli, ["cpm", "unavailability", *args, "--url", url], env=env)

    with serve(seeded.part.app) as url:
        done = cli_run("add", device, "--start", "2026-07-17T12:00-07:00", "--end",
                       "2026-07-17T20:00-07:00", "--reason", "away on vacation")  # fmt: skip
        pid = done.output.split(":")[0]
        changed = cli_run("edit", pid, "--end", "2026-07-18T05:00:00Z")
        same = cli_run("edit", pid, "--reason", "away on vacation")
        shown = cli_run("show", pid)
        as_json = cli_run("show", pid, "--json")
        other = cli_run("add", held["NIC-2"], "--start", "2026-07-19T12:00-07:00", "--end",
                        "2026-07-19T20:00-07:00", "--json")  # fmt: skip
        table = cli_run("list")
        by_nic = cli_run("list", "--nic", "NIC-2", "--json")
        by_device = cli_run("list", "--device", device, "--status", "Active")
        resent = cli_run("resend", pid)
        canceled = cli_run("cancel", pid)
        none = cli_run("list", "--status", "Canceled", "--device", held["NIC-2"])
        naive = cli_run("add", device, "--start", "2026-07-17T12:00", "--end", "2026-07-17T20:00")
        bad_status = cli_run("list", "--status", "Gone")
        with pytest.MonkeyPatch.context() as env_vars:
            for name, value in env.items():
                env_vars.setenv(name, value)
            status = run(["cpm", "unavailability", "show", pid, "--url", url])
    assert done.exit_code == 0, done.output
    # The id whole at 60 columns, the times in the utility's zone.
    assert done.output.splitlines() == [
        f"{pid}: Active",
        f"device {device} (ECOBEE-HE NIC-1)",
        "unavailable 2026-07-17 12:00 PDT to 2026-07-17 20:00 PDT: away on vacation",
        "added 2026-05-01 05:00 PDT by operator; changed 2026-05-01 05:00 PDT by operator",
        "DERMS: Pending (version 1, DERMS has 0)",
    ]
    assert changed.exit_code == 0, changed.output
    assert changed.output.splitlines()[0] == f"{pid}: Changed"
    assert "unavailable 2026-07-17 12:00 PDT to 2026-07-17 22:00 PDT" in changed.output
    assert "DERMS: Pending (version 2, DERMS has 0)" in changed.output
    assert same.output.splitlines()[0] == f"{pid}: Unchanged (it holds that already)"
    assert shown.output.splitlines()[0] == f"{pid}: Active"
    assert json.loads(as_json.output)["version"] == 2
    other_id = json.loads(other.output)["id"]
    assert table.exit_code == 0, table.output
    assert pid in table.output and other_id in table.output  # whole, however narrow
    assert table.output.index(other_id) < table.output.index(pid)  # the latest start first
    assert [p["id"] for p in json.loads(by_nic.output)["items"]] == [other_id]
    assert pid in by_device.output and other_id not in by_device.output
    assert "DERMS: Pending (version 3, DERMS has 0)" in resent.output
    assert canceled.output.splitlines()[0] == f"{pid}: Canceled"
    assert "DERMS: Pending (version 4, DERMS has 0)" in canceled.output
    assert none.output.strip() == "no unavailability periods"
    assert naive.exit_code == 1
    assert "--start and --end need their offset" in str(naive.exception)
    assert bad_status.exit_code == 2
    assert status == 0
    assert f"{pid}: Canceled" in capsys.readouterr().out
    assert [m["version"] for m in sent(seeded)] == [1, 2, 1, 3, 4]


def test_a_refused_change_is_one_line_and_a_non_zero_exit(
    seeded: Cpm, held: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):  # fmt: skip
    monkeypatch.setenv("DERLINK_HOME", str(seeded.cli_home(tmp_path)))
    pid = added(seeded, held["NIC-1"])["id"]
    assert cancel(seeded, pid).status_code == 200
    with serve(seeded.part.app) as url:
        codes = [
            run(["cpm", "unavailability", *args, "--url", url])
            for args in (
                ("edit", pid, "--reason", "x"),
                ("cancel", pid),
                ("add", "D-NOPE", "--start", "2026-07-17T12:00-07:00", "--end",
                 "2026-07-17T13:00-07:00"),
                ("add", held["NIC-1"], "--start", "2026-07-17T12:00-07:00", "--end",
                 "2026-07-17T11:00-07:00"),
                ("show", "CU-NOPE"),
            )
        ]  # fmt: skip
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert codes == [1] * 5
    assert len(lines) == 5 and "Traceback" not in captured.err + captured.out
    assert lines[0].startswith("error: PATCH ") and lines[0].endswith(
        f"answered 409: unavailability {pid} is Canceled: it takes no edit"
    )
    assert lines[1].endswith(f"answered 409: unavailability {pid} is Canceled: it takes no cancel")
    assert lines[2].endswith("answered 404: no device 'D-NOPE'")
    assert lines[3].endswith(
        "answered 422: end 2026-07-17T18:00:00+00:00 is not after start 2026-07-17T19:00:00+00:00"
    )
    assert lines[4].endswith("answered 404: no unavailability 'CU-NOPE'")
