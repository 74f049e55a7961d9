"""The devices' outcomes in DERMS, on SQLite and PostgreSQL: a head-end system's outcome file is
taken through the file intake (each row recorded on its reservation or refused by name, every
row answered, a re-delivered file without a second effect); the outcome window's close makes
the unreported devices D1ND and closes the stage to later reports."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from derlink.common.clock import FixedClock
from derlink.contracts.event_files import (
    HEADEND_OUTCOME_ACK_HEADER,
    HEADEND_OUTCOME_HEADER,
    OUTCOME_HEADER,
)
from derlink.derms.app import DermsPart
from derlink.derms.events import outcome_files, outcomes, service
from derlink.derms.events.tables import reservations, stages
from derlink.derms.migrations import SCHEMA
from derlink.platform.migrations import stamp, upgrade

from .support import Headers, outbox_messages
from .test_derms_opt_outs import SITES, approver, opt_out, scheduled_event, trail
from .test_derms_opt_outs import send as send_opt_outs
from .test_derms_stage_generation_api import API, make_world

__all__ = ["approver"]

#: 17 July 2026: the stage runs 12:00–16:00 UTC.
STARTED = timedelta(days=46, hours=1)  # from the parts' clock (1 June, 12:00) to 13:00


@pytest.fixture
def world(client: TestClient, settings: Any, operator: Headers, hub_headers: Headers) -> None:
    make_world(client, settings, operator, hub_headers, zone_sites=SITES)


def head_end_file(settings: Any, name: str, *rows: tuple[str, ...]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([HEADEND_OUTCOME_HEADER, *rows])
    folder = settings.home / "files" / "derms-headend"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(out.getvalue())


def acknowledgement(settings: Any, name: str) -> list[list[str]]:
    text = (settings.home / "files" / "derms-content" / f"HEOUTCOME_ACK_{name}").read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == HEADEND_OUTCOME_ACK_HEADER
    return rows[1:]


def held(part: DermsPart, stage_id: str) -> list[tuple[Any, ...]]:
    r = reservations.c
    with part.db.read() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                sa.select(r.nic_id, r.state, r.outcome, r.error_message, r.measured_kw,
                          r.participation_start_at, r.outcome_source)
                .where(r.stage_id == stage_id)
                .order_by(r.nic_id)
            )
        ]  # fmt: skip


def intake(client: TestClient, operator: Headers) -> list[dict[str, Any]]:
    answer = client.post(f"{API}/outcome-files/intake", headers=operator)
    assert answer.status_code == 200, answer.text
    files: list[dict[str, Any]] = answer.json()["files"]
    return files


@pytest.mark.usefixtures("world")
def test_a_head_end_outcome_file_is_recorded_row_by_row_and_the_window_closes_the_rest(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    settings: Any,
    operator: Headers,
    approver: Headers,
    viewer: Headers,
    hub_headers: Headers,
) -> None:
    event_id, stage_id = scheduled_event(client, operator, approver)  # S1 and S2 reserved
    # Before the stage starts, nothing can be reported.
    head_end_file(settings, "HEOUTCOME_early.csv", (stage_id, "ECOBEE-HE", "NIC-S1", "D1SP",
                                                    "", "", "", ""))  # fmt: skip
    (early,) = intake(client, operator)
    assert (early["accepted"], early["rejected"]) == (0, 1)
    assert acknowledgement(settings, "HEOUTCOME_early.csv")[0][4:6] == [
        "REJECTED", "DERMS-OUTCOME-EARLY"]  # fmt: skip

    later = FixedClock(clock.now() + STARTED)
    service.advance_stages(db=part.db, clock=later)
    head_end_file(
        settings, "HEOUTCOME_ecobee_1.csv",
        (stage_id, "ECOBEE-HE", "NIC-S1", "D1SP", "", "2026-07-17T12:00:00Z",
         "2026-07-17T16:00:00+00:00", "0.93"),
        (stage_id, "ECOBEE-HE", "NIC-S9", "D1SP", "", "", "", ""),  # not reserved
        (stage_id, "ECOBEE-HE", "NIC-S2", "D1XX", "", "", "", ""),  # no such outcome
        (stage_id, "ECOBEE-HE", "NIC-S2", "D1ER", "x" * 101, "", "", ""),  # too long
        (stage_id, "ECOBEE-HE", "NIC-S2", "D1ER", "", "2026-07-17T12:00:00", "", ""),  # naive
        ("SG-NONE", "ECOBEE-HE", "NIC-S1", "D1SP", "", "", "", ""),
    )  # fmt: skip
    (taken,) = intake(client, operator)
    assert (taken["rows"], taken["accepted"], taken["rejected"]) == (6, 1, 5)
    answered = acknowledgement(settings, "HEOUTCOME_ecobee_1.csv")
    assert [(r[0], r[3], r[4], r[5]) for r in answered] == [
        ("2", "NIC-S1", "ACCEPTED", ""),
        ("3", "NIC-S9", "REJECTED", "DERMS-RESERVATION-UNKNOWN"),
        ("4", "NIC-S2", "REJECTED", "DERMS-OUTCOME-INVALID"),
        ("5", "NIC-S2", "REJECTED", "DERMS-OUTCOME-INVALID"),
        ("6", "NIC-S2", "REJECTED", "DERMS-OUTCOME-INVALID"),
        ("7", "NIC-S1", "REJECTED", "DERMS-RESERVATION-UNKNOWN"),
    ]
    assert answered[3][6] == "the error message has 101 characters, more than 100"
    assert answered[4][6] == "ParticipationStartTime '2026-07-17T12:00:00' has no UTC offset"
    assert held(part, stage_id) == [
        ("NIC-S1", "Reserved", "D1SP", None, 0.93, "2026-07-17T12:00:00+00:00", "HEAD_END_FILE"),
        ("NIC-S2", "Reserved", None, None, None, None, None),
    ]
    # The same content again: a duplicate, no second effect.
    head_end_file(settings, "HEOUTCOME_ecobee_1_again.csv", *[
        (stage_id, "ECOBEE-HE", "NIC-S1", "D1SP", "", "2026-07-17T12:00:00Z",
         "2026-07-17T16:00:00+00:00", "0.93"),
        (stage_id, "ECOBEE-HE", "NIC-S9", "D1SP", "", "", "", ""),
        (stage_id, "ECOBEE-HE", "NIC-S2", "D1XX", "", "", "", ""),
        (stage_id, "ECOBEE-HE", "NIC-S2", "D1ER", "x" * 101, "", "", ""),
        (stage_id, "ECOBEE-HE", "NIC-S2", "D1ER", "", "2026-07-17T12:00:00", "", ""),
        ("SG-NONE", "ECOBEE-HE", "NIC-S1", "D1SP", "", "", "", ""),
    ])  # fmt: skip
    (again,) = intake(client, operator)
    assert again["state"] == "Duplicate"

    # A later report replaces the earlier until the window closes.
    override = (stage_id, "ECOBEE-HE", "NIC-S1", "D1IO", "override at 14:10", "", "", "")
    head_end_file(settings, "HEOUTCOME_ecobee_2.csv", override)
    intake(client, operator)
    assert held(part, stage_id)[0][2:4] == ("D1IO", "override at 14:10")

    # The window has not passed at 16:30 (60 min after the 16:00 end); at 17:00 it has.
    at_1630 = FixedClock(clock.now() + STARTED + timedelta(hours=3, minutes=30))
    service.advance_stages(db=part.db, clock=at_1630)
    assert outcomes.close_stages(db=part.db, clock=at_1630, window=timedelta(minutes=60)) == []
    at_1700 = FixedClock(clock.now() + STARTED + timedelta(hours=4))
    (closed,) = outcomes.close_stages(db=part.db, clock=at_1700, window=timedelta(minutes=60))
    assert (closed.stage_id, closed.closed, closed.no_report) == (stage_id, 2, 1)
    assert [(n, s, o, src) for n, s, o, _, _, _, src in held(part, stage_id)] == [
        ("NIC-S1", "Closed", "D1IO", "HEAD_END_FILE"),
        ("NIC-S2", "Closed", "D1ND", "DERMS"),
    ]
    assert trail(client, viewer, event_id)[-1] == (
        "OUTCOMES", "outcomes closed: 2 device(s), 1 of them without a report (D1ND)")  # fmt: skip
    assert outcomes.close_stages(db=part.db, clock=at_1700, window=timedelta(minutes=60)) == []
    head_end_file(settings, "HEOUTCOME_late.csv", (stage_id, "ECOBEE-HE", "NIC-S2", "D1SP",
                                                   "", "", "", ""))  # fmt: skip
    intake(client, operator)
    late = acknowledgement(settings, "HEOUTCOME_late.csv")[0]
    assert late[5] == "DERMS-OUTCOME-CLOSED"
    page = client.get(f"{API}/stages/{stage_id}/reservations", headers=viewer).json()
    first = page["items"][0]
    assert (first["outcome"], first["errorMessage"], first["outcomeSource"]) == (
        "D1IO", "override at 14:10", "HEAD_END_FILE")  # fmt: skip


@pytest.mark.usefixtures("world")
def test_an_opted_out_device_takes_no_outcome_and_a_canceled_stage_closes_at_once(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    settings: Any,
    operator: Headers,
    approver: Headers,
    hub_headers: Headers,
) -> None:
    event_id, stage_id = scheduled_event(client, operator, approver)
    send_opt_outs(client, hub_headers, opt_out(event_id, stage_id, "S1"))
    later = FixedClock(clock.now() + STARTED)
    service.advance_stages(db=part.db, clock=later)
    head_end_file(settings, "HEOUTCOME_x.csv", (stage_id, "ECOBEE-HE", "NIC-S1", "D1SP",
                                                "", "", "", ""))  # fmt: skip
    intake(client, operator)
    assert acknowledgement(settings, "HEOUTCOME_x.csv")[0][5] == "DERMS-RESERVATION-RELEASED"

    answer = client.post(f"{API}/events/{event_id}/cancel", json={"reason": "storm"},
                         headers=operator)  # fmt: skip
    assert answer.status_code == 200, answer.text
    (closed,) = outcomes.close_stages(db=part.db, clock=later, window=timedelta(minutes=60))
    assert (closed.closed, closed.no_report) == (0, 0)
    assert [(n, s, o) for n, s, o, *_ in held(part, stage_id)] == [
        ("NIC-S1", "Released", None),  # the opt-out: cpm holds it OptedOut
        ("NIC-S2", "Released", "D1CN"),
    ]


def test_a_database_at_the_unavailability_revision_gains_the_outcomes(part: DermsPart) -> None:
    engine = part.db.engine
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE outcome_files"))
        conn.execute(sa.text("DROP INDEX ix_stages_outcomes_closed_at"))
        for column in ("outcomes_closed_at", "outcome_file_seq"):
            conn.execute(sa.text(f"ALTER TABLE stages DROP COLUMN {column}"))
        for column in ("error_message", "participation_start_at", "participation_end_at",
                       "measured_kw", "outcome_at", "outcome_source"):  # fmt: skip
            conn.execute(sa.text(f"ALTER TABLE reservations DROP COLUMN {column}"))
    stamp(engine, SCHEMA, "0010")
    assert upgrade(engine, SCHEMA).ran == ("0011",)
    inspect = sa.inspect(engine)
    assert "outcome_files" in inspect.get_table_names()
    assert {"outcomes_closed_at", "outcome_file_seq"} <= {
        c["name"] for c in inspect.get_columns("stages")
    }
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(stages)).scalar_one() == 0


@pytest.mark.usefixtures("world")
def test_closed_stages_go_out_in_one_outcome_file_and_the_hubs_answer_is_kept(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    settings: Any,
    operator: Headers,
    approver: Headers,
    viewer: Headers,
    hub_headers: Headers,
) -> None:
    event_id, stage_id = scheduled_event(client, operator, approver)
    later = FixedClock(clock.now() + STARTED)
    service.advance_stages(db=part.db, clock=later)
    head_end_file(settings, "HEOUTCOME_1.csv", (stage_id, "ECOBEE-HE", "NIC-S1", "D1SP", "",
                  "2026-07-17T12:00:00Z", "2026-07-17T16:00:00Z", "0.8"))  # fmt: skip
    intake(client, operator)
    # Nothing is closed yet: no file.
    assert asyncio.run(outcome_files.write_files(db=part.db, clock=later, store=part.content)) == []
    at_1700 = FixedClock(clock.now() + STARTED + timedelta(hours=4))
    service.advance_stages(db=part.db, clock=at_1700)
    outcomes.close_stages(db=part.db, clock=at_1700, window=timedelta(minutes=60))
    (written,) = asyncio.run(
        outcome_files.write_files(db=part.db, clock=at_1700, store=part.content)
    )
    assert (written.seq, written.rows, written.stages) == (1, 2, 1)
    assert written.file_name == "OUTCOME_20260717T170000Z_000001.csv"
    text = (settings.home / "files" / "derms-content" / written.file_name).read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == OUTCOME_HEADER
    assert rows[1:] == [
        ["1", event_id, stage_id, "BYOT-SUMMER", "ECOBEE-HE", "NIC-S1", "D-NIC-S1", "SP-S1",
         "D1SP", "", "2026-07-17T12:00:00+00:00", "2026-07-17T16:00:00+00:00", "0.8"],
        ["2", event_id, stage_id, "BYOT-SUMMER", "ECOBEE-HE", "NIC-S2", "D-NIC-S2", "SP-S2",
         "D1ND", "", "", "", ""],
    ]  # fmt: skip
    [(key, payload)] = outbox_messages(part, "EVT-OUTCOME")
    assert key == "OUTCOME.000001"
    assert orjson.loads(payload) == {
        "messageId": key, "seq": 1, "fileName": written.file_name, "rows": 2,
        "size": len(text.encode()), "stageIds": [stage_id], "eventIds": [event_id],
    }  # fmt: skip
    # Written once: the next pass has nothing.
    assert (
        asyncio.run(outcome_files.write_files(db=part.db, clock=at_1700, store=part.content)) == []
    )

    def ack(code: str, value: str, message: str = key) -> list[tuple[str, str]]:
        body = {"ackType": "SUCCESS" if code == "SUCCESS" else "ERROR",
                "responses": [{"id": message, "responseCode": code, "value": value}]}  # fmt: skip
        answer = client.post(f"{API}/acks/event-outcomes", json=body, headers=hub_headers)
        assert answer.status_code == 200, answer.text
        return [(r["messageId"], r["outcome"]) for r in answer.json()["results"]]

    assert ack("CPM-OUTCOME-REFUSED", "1 recorded, 1 refused") == [(key, "Failed")]
    assert trail(client, viewer, event_id)[-1] == (
        "CPM_FAILED",
        f"outcome file {written.file_name} was not taken whole: CPM-OUTCOME-REFUSED: 1 "
        "recorded, 1 refused",
    )
    assert ack("SUCCESS", "2 recorded") == [(key, "Acknowledged")]
    assert ack("SUCCESS", "again") == [(key, "Duplicate")]
    assert ack("SUCCESS", "?", "OUTCOME.000009") == [("OUTCOME.000009", "Unknown")]
    (listed,) = client.get(f"{API}/outcome-files", params={"eventId": event_id},
                           headers=viewer).json()  # fmt: skip
    assert (listed["state"], listed["detail"], listed["stageIds"]) == (
        "Acknowledged", "2 recorded", [stage_id])  # fmt: skip
    assert client.get(f"{API}/outcome-files", params={"eventId": "EV-x"},
                      headers=viewer).json() == []  # fmt: skip


@pytest.mark.usefixtures("world")
def test_a_stage_with_nothing_to_carry_is_in_no_file(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    approver: Headers,
    hub_headers: Headers,
) -> None:
    event_id, stage_id = scheduled_event(client, operator, approver)
    send_opt_outs(client, hub_headers, opt_out(event_id, stage_id, "S1"),
                  opt_out(event_id, stage_id, "S2"))  # fmt: skip
    at_1700 = FixedClock(clock.now() + STARTED + timedelta(hours=4))
    service.advance_stages(db=part.db, clock=at_1700)
    outcomes.close_stages(db=part.db, clock=at_1700, window=timedelta(minutes=60))
    assert (
        asyncio.run(outcome_files.write_files(db=part.db, clock=at_1700, store=part.content)) == []
    )
    with part.db.read() as conn:
        seq = conn.execute(
            sa.select(stages.c.outcome_file_seq).where(stages.c.id == stage_id)
        ).scalar_one()
    assert seq == 0
