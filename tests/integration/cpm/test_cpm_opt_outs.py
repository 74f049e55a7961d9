"""Opt-outs in cpm (docs/contracts/program-events.md, "Opt-outs"; OPT-OUT,
docs/contracts/opt-outs.md): a Reserved participation opted out before its program event's
cut-off, the participation and its OPT-OUT message written together, a repeat without a second
message; the refusals; the resend; DERMS's answers through the hub; the reads, the schema and
the CLI; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cpm_harness import Cpm, build_part
from test_cpm_master_data import RULE
from test_cpm_participations import (
    HE,
    device,
    enroll,
    event_id,
    history,
    listed,
    refusal,
    reservation,
    reserve,
    stage,
)
from tests.support.servers import serve
from typer.testing import CliRunner

from derlink.cli.main import app as cli
from derlink.cli.main import run
from derlink.cpm.events import opt_out_service
from derlink.cpm.events import participation as p
from derlink.cpm.events.tables import event_participations, opt_out_columns
from derlink.cpm.migrations import SCHEMA
from derlink.platform.database import make_engine
from derlink.platform.migrations import stamp, upgrade

#: SG-1's start (15:00 PDT) less BYOT's rule's 60 minutes.
CUTOFF = datetime(2026, 7, 17, 21, 0, tzinfo=UTC)
ep = event_participations


@pytest.fixture
def reserved(seeded: Cpm) -> dict[str, Any]:
    """BYOT with one rule (an opt-out cut-off of 60 minutes, June to September), stage SG-1 of
    BYOT (15:00–17:00 PDT) and NIC-1 and NIC-2 reserved on it: their participations' ids by
    NIC, their devices' ids by NIC, and the program event's id."""
    linked = seeded.post("/programs/BYOT/rules", RULE)
    assert linked.status_code == 201, linked.text
    assert seeded.post("/program-events", stage(), client="hub").status_code == 200
    enrolled = enroll(seeded, "REQ-1", ["NIC-1", "NIC-2"])
    results = reserve(seeded, reservation(device("NIC-1"), device("NIC-2")))
    return {
        "ids": {r["nicId"]: r["participationId"] for r in results},
        "devices": enrolled["devices"],
        "event": event_id(seeded),
    }


def opt_out(cpm: Cpm, participation_id: str, body: Any = None, client: str = "operator") -> Any:
    return cpm.post(f"/participations/{participation_id}/opt-out",
                    {"channel": "CSR"} if body is None else body, client=client)  # fmt: skip


def opted_out(cpm: Cpm, participation_id: str, **body: str) -> dict[str, Any]:
    answer = opt_out(cpm, participation_id, {"channel": "CSR", **body})
    assert answer.status_code == 200, answer.text
    done: dict[str, Any] = answer.json()
    return done


def ack(cpm: Cpm, *acks: dict[str, Any], client: str = "hub") -> Any:
    return cpm.post("/participations/opt-out-acknowledgements",
                    {"acknowledgements": list(acks)}, client=client)  # fmt: skip


def answer_of(participation_id: str, version: int, **error: str) -> dict[str, Any]:
    """DERMS's answer to a version, as the hub acknowledges it: SUCCESS, or ERROR with the
    ``errorCode`` and ``message`` given."""
    status = "ERROR" if error else "SUCCESS"
    return {"kind": "OPT-OUT", "code": participation_id, "version": version, "status": status,
            **error}  # fmt: skip


def participation(cpm: Cpm, program_event_id: str, nic: str) -> dict[str, Any]:
    (found,) = listed(cpm, program_event_id, nicId=nic)["items"]
    return found


def sent(cpm: Cpm) -> list[dict[str, Any]]:
    return cpm.outbox_messages("OPT-OUT")


# -- opt out --------------------------------------------------------------------------------


def test_a_reserved_participation_opts_out_with_one_message_for_derms(
    seeded: Cpm, reserved: dict[str, Any]
):
    pid = reserved["ids"]["NIC-1"]
    before = participation(seeded, reserved["event"], "NIC-1")
    assert before["optOut"] is None
    assert before["optOutCutoff"] == {"at": "2026-07-17T21:00:00+00:00", "minutes": 60}
    seeded.clock.advance(days=30, seconds=1.5)
    done = opted_out(seeded, pid, reason="away that day")
    at = "2026-05-31T12:00:01.500000+00:00"
    opt_out_read = {"at": at, "channel": "CSR", "by": "operator", "reason": "away that day",
                    "version": 1, "dermsVersion": 0, "dermsSync": "Pending",
                    "dermsDetail": ""}  # fmt: skip
    assert done["outcome"] == "OptedOut"
    assert done["participation"] == {
        **before, "state": "OptedOut", "preemptiveOptOut": True, "updatedAt": at,
        "optOut": opt_out_read, "optOutCutoff": None, "outcomeDetail": None,
    }  # fmt: skip
    [message] = sent(seeded)
    assert message.pop("dacsMessageId").startswith("OOM-")
    assert message == {
        "participationId": pid, "programEventId": reserved["event"],
        "eventExternalIdentifier": "EV-1", "externalIdentifier": "SG-1", "programCode": "BYOT",
        "headEndSystem": HE, "nicId": "NIC-1", "deviceId": reserved["devices"]["NIC-1"],
        "optOutDateTime": "2026-05-31T12:00:01.500Z", "channel": "CSR", "version": 1,
    }  # fmt: skip
    # Every read shows it; the other device stays Reserved.
    assert participation(seeded, reserved["event"], "NIC-1") == done["participation"]
    (in_history,) = history(seeded, nicId="NIC-1")["items"]
    assert in_history["optOut"] == opt_out_read and in_history["state"] == "OptedOut"
    assert participation(seeded, reserved["event"], "NIC-2")["state"] == "Reserved"
    counts = seeded.get(f"/program-events/{reserved['event']}").json()["participations"]
    assert counts == {"Reserved": 1, "OptedOut": 1}


def test_a_repeated_opt_out_is_unchanged_and_sends_nothing_more(
    seeded: Cpm, reserved: dict[str, Any]
):
    pid = reserved["ids"]["NIC-1"]
    first = opted_out(seeded, pid, reason="first")
    seeded.clock.at = CUTOFF + timedelta(hours=1)  # past the cut-off too
    again = opt_out(seeded, pid, {"channel": "CUSTOMER", "reason": "second"}, client="operator")
    assert again.status_code == 200, again.text
    assert again.json() == {"outcome": "Unchanged", "participation": first["participation"]}
    assert len(sent(seeded)) == 1


def test_an_opt_out_is_refused_from_the_cut_off_on(seeded: Cpm, reserved: dict[str, Any]):
    pid = reserved["ids"]["NIC-1"]
    seeded.clock.at = CUTOFF
    refused = opt_out(seeded, pid)
    assert refusal(refused) == (409, "CPM-OPT-OUT-CUTOFF")
    assert refused.json()["cutoff"] == "2026-07-17T21:00:00+00:00"
    assert refused.json()["cutoffMinutes"] == 60
    assert (
        "the opt-out cut-off was 2026-07-17T21:00:00+00:00, 60 minutes" in refused.json()["detail"]
    )
    assert participation(seeded, reserved["event"], "NIC-1")["state"] == "Reserved"
    assert sent(seeded) == []
    seeded.clock.at = CUTOFF - timedelta(seconds=1)
    assert opted_out(seeded, pid)["outcome"] == "OptedOut"


def test_without_a_rule_in_effect_an_opt_out_is_taken_until_the_start(seeded: Cpm):
    # A rule of last year only: not in effect on the start's day.
    seeded.post("/programs/BYOT/rules", {**RULE, "effectiveFrom": "2025-06-01",
                                         "effectiveTo": "2025-10-01"})  # fmt: skip
    seeded.post("/program-events", stage(), client="hub")
    enroll(seeded, "REQ-1", ["NIC-1"])
    (result,) = reserve(seeded, reservation(device("NIC-1")))
    pid = result["participationId"]
    start = datetime(2026, 7, 17, 22, 0, tzinfo=UTC)
    assert participation(seeded, event_id(seeded), "NIC-1")["optOutCutoff"] == {
        "at": "2026-07-17T22:00:00+00:00", "minutes": 0}  # fmt: skip
    seeded.clock.at = start
    assert refusal(opt_out(seeded, pid)) == (409, "CPM-OPT-OUT-CUTOFF")
    seeded.clock.at = start - timedelta(microseconds=1)
    assert opted_out(seeded, pid)["outcome"] == "OptedOut"


def test_the_cut_off_reads_the_rules_on_the_start_s_day_in_the_utility_s_zone(
    database_url: str, tmp_path: Path
):
    """A stage at 02:00 UTC on 1 July starts on 30 June in Los Angeles, where BYOT's June rule
    (30 minutes) is in effect, not its July one (120 minutes)."""
    cpm = build_part(database_url, tmp_path, time_zone="America/Los_Angeles")
    try:
        cpm.seed()
        for since, until, minutes in (("2026-06-01", "2026-07-01", 30),
                                      ("2026-07-01", None, 120)):  # fmt: skip
            rule = {**RULE, "effectiveFrom": since, "effectiveTo": until,
                    "optOutCutoffMin": minutes}  # fmt: skip
            assert cpm.post("/programs/BYOT/rules", rule).status_code == 201
        start = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
        assert cpm.post("/program-events", stage(start=start), client="hub").status_code == 200
        enroll(cpm, "REQ-1", ["NIC-1"])
        (result,) = reserve(cpm, reservation(device("NIC-1")))
        assert participation(cpm, event_id(cpm), "NIC-1")["optOutCutoff"] == {
            "at": "2026-07-01T01:30:00+00:00", "minutes": 30}  # fmt: skip
        cpm.clock.at = start - timedelta(minutes=31)
        assert opted_out(cpm, result["participationId"])["outcome"] == "OptedOut"
    finally:
        cpm.close()


def test_an_unknown_participation_or_one_not_reserved_is_refused(
    seeded: Cpm, reserved: dict[str, Any]
):
    unknown = opt_out(seeded, "EP-NOPE")
    assert refusal(unknown) == (404, "CPM-PARTICIPATION-UNKNOWN")
    assert unknown.json()["detail"] == "no participation 'EP-NOPE'"
    pid = reserved["ids"]["NIC-2"]
    with seeded.part.db.begin() as conn:  # as the release flow will leave it
        conn.execute(ep.update().where(ep.c.id == pid).values(state="Released"))
    released = opt_out(seeded, pid)
    assert refusal(released) == (409, "CPM-PARTICIPATION-STATE")
    assert released.json()["state"] == "Released"
    assert released.json()["detail"] == (
        f"participation {pid} is Released: only a Reserved participation opts out"
    )
    assert sent(seeded) == []


def test_an_opt_out_body_is_strict_and_only_cpm_write_opts_out(
    seeded: Cpm, reserved: dict[str, Any]
):
    pid = reserved["ids"]["NIC-1"]

    def fields(body: Any) -> list[str]:
        answer = opt_out(seeded, pid, body)
        assert refusal(answer) == (422, None)
        return [e["field"] for e in answer.json()["errors"]]

    assert fields({"channel": "CSR", "note": "x"}) == ["note"]
    assert fields({"channel": "PHONE"}) == ["channel"]
    assert fields({}) == ["channel"]
    assert fields({"channel": "CSR", "reason": "r" * 255}) == ["reason"]
    assert refusal(opt_out(seeded, "E" * 41)) == (422, None)
    for client in ("viewer", "hub"):
        assert refusal(opt_out(seeded, pid, client=client)) == (403, "DL-FORBIDDEN")
    assert sent(seeded) == []
    done = opted_out(seeded, pid, reason="r" * 254)
    assert done["participation"]["optOut"]["reason"] == "r" * 254


def test_concurrent_opt_outs_of_a_participation_send_one_message(
    seeded: Cpm, reserved: dict[str, Any]
):
    pid = reserved["ids"]["NIC-1"]

    def ask(n: int) -> p.OptOutOutcome:
        return opt_out_service.opt_out(
            db=seeded.part.db, clock=seeded.clock, zone=UTC, participation_id=pid,
            channel=p.OptOutChannel.CUSTOMER, actor=f"client-{n}",
        ).outcome  # fmt: skip

    with ThreadPoolExecutor(6) as pool:
        outcomes = sorted(pool.map(ask, range(6)))
    assert outcomes == [p.OptOutOutcome.OPTED_OUT] + [p.OptOutOutcome.UNCHANGED] * 5
    assert [m["version"] for m in sent(seeded)] == [1]


# -- resend ---------------------------------------------------------------------------------


def test_an_opt_out_is_sent_again_as_the_next_version_until_derms_holds_it(
    seeded: Cpm, reserved: dict[str, Any]
):
    pid = reserved["ids"]["NIC-1"]

    def resend(client: str = "operator") -> Any:
        return seeded.post(f"/participations/{pid}/opt-out/resend", client=client)

    never = resend()
    assert refusal(never) == (409, "CPM-PARTICIPATION-STATE")
    assert never.json()["detail"] == (
        f"participation {pid} is Reserved, its opt-out never sent at DERMS: only an OptedOut "
        "participation whose opt-out DERMS refused (Error) or has not answered (Pending) is sent "
        "again"
    )
    opted_out(seeded, pid)
    pending = resend()  # DERMS has not answered version 1
    assert pending.status_code == 200, pending.text
    assert pending.json()["optOut"]["version"] == 2
    assert pending.json()["optOut"]["dermsSync"] == "Pending"
    assert ack(seeded, answer_of(pid, 2, errorCode="DERMS-X", message="no")).status_code == 200
    after_error = resend()  # DERMS refused version 2
    assert after_error.status_code == 200, after_error.text
    resent = after_error.json()["optOut"]
    assert (resent["version"], resent["dermsSync"], resent["dermsDetail"]) == (3, "Pending", "")
    messages = sent(seeded)
    assert [m["version"] for m in messages] == [1, 2, 3]
    assert len({m["dacsMessageId"] for m in messages}) == 3
    assert {m["optOutDateTime"] for m in messages} == {"2026-05-01T12:00:00.000Z"}
    ack(seeded, answer_of(pid, 3))
    synchronized = resend()
    assert refusal(synchronized) == (409, "CPM-PARTICIPATION-STATE")
    assert "its opt-out Synchronized at DERMS" in synchronized.json()["detail"]
    assert refusal(resend("viewer")) == (403, "DL-FORBIDDEN")
    assert refusal(seeded.post("/participations/EP-NOPE/opt-out/resend")) == (
        404, "CPM-PARTICIPATION-UNKNOWN")  # fmt: skip
    assert len(sent(seeded)) == 3


# -- DERMS's answers ------------------------------------------------------------------------


def test_derms_s_answers_say_whether_it_holds_the_latest_version(
    seeded: Cpm, reserved: dict[str, Any]
):
    pid = reserved["ids"]["NIC-1"]
    opted_out(seeded, pid)
    seeded.post(f"/participations/{pid}/opt-out/resend")  # version 2

    def results(*acks: dict[str, Any]) -> list[tuple[str, str, str]]:
        answer = ack(seeded, *acks)
        assert answer.status_code == 200, answer.text
        return [(r["kind"], r["outcome"], r["detail"]) for r in answer.json()["results"]]

    def sync() -> tuple[int, int, str, str]:
        o = participation(seeded, reserved["event"], "NIC-1")["optOut"]
        return o["version"], o["dermsVersion"], o["dermsSync"], o["dermsDetail"]

    # An older version: Stale; its success only raises the version DERMS holds.
    assert results(answer_of(pid, 1)) == [("OPT-OUT", "Stale", "")]
    assert sync() == (2, 1, "Pending", "")
    refused = answer_of(pid, 2, errorCode="DERMS-RESERVATION-UNKNOWN",
                        message="no reservation of NIC-1")  # fmt: skip
    assert results(refused, answer_of("EP-NOPE", 1)) == [
        ("OPT-OUT", "Applied", ""), ("OPT-OUT", "Rejected", "no participation 'EP-NOPE'"),
    ]  # fmt: skip
    assert sync() == (2, 1, "Error", "DERMS-RESERVATION-UNKNOWN: no reservation of NIC-1")
    assert results(answer_of(pid, 2)) == [("OPT-OUT", "Applied", "")]
    assert sync() == (2, 2, "Synchronized", "")
    # An older failure changes nothing.
    assert results(answer_of(pid, 1, errorCode="X", message="late")) == [("OPT-OUT", "Stale", "")]
    assert sync() == (2, 2, "Synchronized", "")


def test_only_cpm_sync_answers_and_only_for_opt_outs(seeded: Cpm, reserved: dict[str, Any]):
    pid = reserved["ids"]["NIC-1"]
    opted_out(seeded, pid)
    assert refusal(ack(seeded, answer_of(pid, 1), client="viewer")) == (403, "DL-FORBIDDEN")
    wrong_kind = ack(seeded, {**answer_of(pid, 1), "kind": "PROG-RULE"})
    assert refusal(wrong_kind) == (422, None)
    assert [e["field"] for e in wrong_kind.json()["errors"]] == ["acknowledgements[0].kind"]
    empty = seeded.post("/participations/opt-out-acknowledgements", {"acknowledgements": []},
                        client="hub")  # fmt: skip
    assert refusal(empty) == (422, None)
    assert participation(seeded, reserved["event"], "NIC-1")["optOut"]["dermsSync"] == "Pending"


# -- the schema -----------------------------------------------------------------------------


def test_a_database_at_revision_0008_gains_the_opt_out_columns(fresh_url: str, tmp_path: Path):
    made = build_part(fresh_url, tmp_path)  # at the newest revision, then taken back to 0008
    try:
        made.seed()
        made.post("/program-events", stage(), client="hub")
        enroll(made, "REQ-1", ["NIC-1"])
        (result,) = reserve(made, reservation(device("NIC-1")))
    finally:
        made.close()
    engine = make_engine(fresh_url, schema=None if fresh_url.startswith("sqlite") else "cpm")
    try:
        with engine.begin() as conn:  # as revision 0008 left it
            for column in opt_out_columns():
                conn.execute(sa.text(f"ALTER TABLE event_participations DROP COLUMN {column.name}"))
        stamp(engine, SCHEMA, "0008")
        assert upgrade(engine, SCHEMA).ran == ("0009", "0010", "0011")
        with engine.connect() as conn:
            row = conn.execute(sa.select(ep).where(ep.c.id == result["participationId"])).one()
        assert (row.state, row.opted_out_at, row.opt_out_channel, row.opt_out_by,
                row.opt_out_reason, row.opt_out_version, row.derms_version, row.derms_sync,
                row.derms_detail) == ("Reserved", None, None, "", "", 0, 0, None, "")  # fmt: skip
        assert upgrade(engine, SCHEMA).ran == ()
    finally:
        engine.dispose()
    again = build_part(fresh_url, tmp_path)
    try:
        assert opted_out(again, result["participationId"])["outcome"] == "OptedOut"
    finally:
        again.close()


# -- the CLI --------------------------------------------------------------------------------


def test_the_cli_opts_out_and_sends_again(
    seeded: Cpm, reserved: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    pid, other = reserved["ids"]["NIC-1"], reserved["ids"]["NIC-2"]
    home = seeded.cli_home(tmp_path)
    env = {"DERLINK_HOME": str(home), "DERLINK_TIME_ZONE": "America/Los_Angeles",
           "COLUMNS": "60"}  # fmt: skip
    runner = CliRunner()

    def cli_run(*args: str) -> Any:
        return runner.invoke(cli, ["cpm", *args, "--url", url], env=env)

    with serve(seeded.part.app) as url:
        done = cli_run("opt-out", pid, "--reason", "away that day")
        again = cli_run("opt-out", pid, "--channel", "CUSTOMER")
        as_json = cli_run("opt-out", other, "--channel", "CUSTOMER", "--json")
        resent = cli_run("opt-out-resend", pid)
        bad_channel = cli_run("opt-out", other, "--channel", "PHONE")
        unknown = cli_run("opt-out", "EP-NOPE")
        with pytest.MonkeyPatch.context() as env_vars:
            for name, value in env.items():
                env_vars.setenv(name, value)
            status = run(["cpm", "opt-out-resend", reserved["ids"]["NIC-2"], "--url", url])
    assert done.exit_code == 0, done.output
    # Whole ids at 60 columns, the time in the utility's zone.
    assert done.output.splitlines() == [
        f"{pid}: OptedOut",
        "opted out 2026-05-01 05:00 PDT by operator (CSR): away that day",
        "DERMS: Pending (version 1, DERMS has 0)",
    ]
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[0] == f"{pid}: Unchanged (opted out already)"
    assert "by operator (CSR)" in again.output  # the first opt-out's, kept
    assert json.loads(as_json.output)["participation"]["optOut"]["channel"] == "CUSTOMER"
    assert resent.exit_code == 0, resent.output
    assert "DERMS: Pending (version 2, DERMS has 0)" in resent.output
    assert bad_channel.exit_code == 2
    assert unknown.exit_code == 1
    assert "404: no participation 'EP-NOPE'" in str(unknown.exception)
    # Sent again while DERMS has not answered: another version; as a command, one line.
    assert status == 0
    assert "DERMS: Pending (version 2, DERMS has 0)" in capsys.readouterr().out
    assert [m["version"] for m in sent(seeded)] == [1, 1, 2, 2]


def test_a_refused_opt_out_is_one_line_and_a_non_zero_exit(
    seeded: Cpm, reserved: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):  # fmt: skip
    pid = reserved["ids"]["NIC-1"]
    monkeypatch.setenv("DERLINK_HOME", str(seeded.cli_home(tmp_path)))
    seeded.clock.at = CUTOFF + timedelta(minutes=5)
    with serve(seeded.part.app) as url:
        status = run(["cpm", "opt-out", pid, "--url", url])
        never = run(["cpm", "opt-out-resend", pid, "--url", url])
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert (status, never) == (1, 1)
    assert len(lines) == 2 and "Traceback" not in captured.err + captured.out
    assert lines[0].startswith("error: POST ") and lines[0].endswith(
        f"answered 409: participation {pid}: the opt-out cut-off was 2026-07-17T21:00:00+00:00, "
        "60 minutes before its program event's start"
    )
    assert f"answered 409: participation {pid} is Reserved" in lines[1]
