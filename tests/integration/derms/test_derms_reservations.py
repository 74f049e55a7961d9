"""Reservations and EVT-RESERVE from DERMS's side, on SQLite and PostgreSQL: a Scheduled stage's
planned devices are reserved with it (a device another event holds at that time is left out),
a canceled or preempted stage's are released, each stage's file is written to the content
server and sent, and the hub's acknowledgements are kept."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from derlink.common.clock import FixedClock
from derlink.contracts.event_files import RESERVATION_HEADER
from derlink.derms.app import DermsPart
from derlink.derms.events import reservations, service
from derlink.derms.events.schemas import STRATEGY_EXAMPLE
from derlink.derms.events.tables import reservation_files
from derlink.platform.settings import Settings

from .support import Headers, outbox_messages
from .test_derms_events_api import (
    API,
    T0,
    H,
    act,
    approver,
    mailer,
    new_event,
    part,
    ready,
)
from .test_derms_masterdata_api import RULES, program, rule

__all__ = ["approver", "mailer", "part", "ready"]  # the fixtures, shared with the events' tests


def devices(*nics: str) -> tuple[tuple[str, str, str, str, str], ...]:
    return tuple(("ECOBEE-HE", nic, f"D-{nic}", f"SP-{nic}", "F1") for nic in nics)


def planned(
    part: DermsPart,
    clock: FixedClock,
    event_id: str,
    *stages: tuple[str, datetime, datetime, tuple[str, ...]],
) -> None:
    """The event's stages (program, start, end, NIC ids) as stage generation gives them."""
    plans = [
        service.StagePlan(program, start, end, 3600, (800.0,), (1000.0,), (1200.0,), len(nics),
                          devices=devices(*nics))
        for program, start, end, nics in stages
    ]  # fmt: skip
    service.plan_event(db=part.db, clock=clock, event_id=event_id, plans=plans, actor="operator")


def scheduled(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    approver: Headers,
    *stages: tuple[str, datetime, datetime, tuple[str, ...]],
    kind: str = "PEAK",
    programs: tuple[str, ...] = ("BYOT",),
) -> tuple[str, list[str]]:
    answer = client.post(
        f"{API}/strategies",
        json={**STRATEGY_EXAMPLE, "type": kind, "programs": list(programs)},
        headers=operator,
    )
    assert answer.status_code == 201, answer.text
    event_id = new_event(client, operator, answer.json()["id"], T0)
    planned(part, clock, event_id, *stages)
    act(client, operator, event_id, "submit")
    done = act(client, approver, event_id, "approve")
    assert done["event"]["state"] == "Scheduled", done
    return event_id, [s["id"] for s in done["event"]["stages"]]


def reserved(client: TestClient, viewer: Headers, stage_id: str, **params: str) -> list[tuple]:
    page = client.get(f"{API}/stages/{stage_id}/reservations", params=params, headers=viewer)
    assert page.status_code == 200, page.text
    return [(r["nicId"], r["state"], r["reason"], r["recordId"]) for r in page.json()["items"]]


@pytest.mark.usefixtures("ready")
def test_a_scheduled_stage_reserves_its_devices_and_a_held_one_is_left_out(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    approver: Headers,
    viewer: Headers,
    hub_headers: Headers,
) -> None:
    first, (stage,) = scheduled(
        client, part, clock, operator, approver, ("BYOT", T0, T0 + 2 * H, ("NIC-2", "NIC-1"))
    )
    assert reserved(client, viewer, stage) == [
        ("NIC-1", "Reserved", None, 1),
        ("NIC-2", "Reserved", None, 2),
    ]
    # Another program's event an hour later: NIC-1 is held until 00:00, NIC-3 is free.
    sent = client.post(RULES, json={"batchId": "B2", "programs": [program("EV", 1, rule())]},
                       headers=hub_headers)  # fmt: skip
    assert sent.status_code == 200, sent.text
    second, (other,) = scheduled(
        client, part, clock, operator, approver,
        ("EV", T0 + H, T0 + 3 * H, ("NIC-1", "NIC-3")), programs=("EV",),
    )  # fmt: skip
    assert reserved(client, viewer, other) == [("NIC-3", "Reserved", None, 1)]
    trail = client.get(f"{API}/events/{second}/audit", headers=viewer).json()
    assert trail[-1]["action"] == "RESERVE" and trail[-1]["stageId"] == other
    assert (
        trail[-1]["detail"]
        == "1 device(s) reserved; 1 held by another event at that time, left out"
    )
    files = client.get(f"{API}/events/{first}/reservation-files", headers=viewer).json()
    assert [(f["stageId"], f["seq"], f["rows"], f["state"]) for f in files] == [
        (stage, 0, 2, "Pending")
    ]
    assert files[0]["fileName"] == f"RESERVE_{first}_{stage}_000.csv"

    act(client, operator, first, "cancel", reason="cool day")
    assert reserved(client, viewer, stage, state="Released") == [
        ("NIC-1", "Released", "STAGE_CANCELED", 1),
        ("NIC-2", "Released", "STAGE_CANCELED", 2),
    ]
    assert reserved(client, viewer, stage, state="Reserved") == []
    trail = client.get(f"{API}/events/{first}/audit", headers=viewer).json()
    assert (trail[-1]["action"], trail[-1]["detail"]) == (
        "RELEASE", "2 reservation(s) released: the stage was canceled")  # fmt: skip


@pytest.mark.usefixtures("ready")
def test_a_preempting_event_takes_the_devices_the_preempted_one_held(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    approver: Headers,
    viewer: Headers,
) -> None:
    low, (low_stage,) = scheduled(
        client, part, clock, operator, approver, ("BYOT", T0, T0 + 2 * H, ("NIC-1",))
    )
    _high, (high_stage,) = scheduled(
        client, part, clock, operator, approver, ("BYOT", T0, T0 + 2 * H, ("NIC-1",)),
        kind="EMERGENCY",
    )  # fmt: skip
    assert client.get(f"{API}/events/{low}", headers=viewer).json()["state"] == "Canceled"
    assert reserved(client, viewer, low_stage) == [("NIC-1", "Released", "STAGE_CANCELED", 1)]
    assert reserved(client, viewer, high_stage) == [("NIC-1", "Reserved", None, 1)]


@pytest.mark.usefixtures("ready")
def test_the_file_writer_writes_each_stage_file_once_and_sends_it(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    approver: Headers,
    viewer: Headers,
    hub_headers: Headers,
    settings: Settings,
) -> None:
    event_id, (stage,) = scheduled(
        client, part, clock, operator, approver, ("BYOT", T0, T0 + 2 * H, ("NIC-2", "NIC-1"))
    )
    written = asyncio.run(reservations.write_files(db=part.db, clock=clock, store=part.content))
    assert [(w.stage_id, w.rows) for w in written] == [(stage, 2)]
    assert asyncio.run(reservations.write_files(db=part.db, clock=clock, store=part.content)) == []

    name = f"RESERVE_{event_id}_{stage}_000.csv"
    text = (settings.home / "files" / "derms-content" / name).read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == RESERVATION_HEADER
    assert rows[1:] == [
        ["1", "NIC-1", "ECOBEE-HE", "2026-07-17T22:00:00+00:00", "2026-07-18T00:00:00+00:00"],
        ["2", "NIC-2", "ECOBEE-HE", "2026-07-17T22:00:00+00:00", "2026-07-18T00:00:00+00:00"],
    ]
    [(key, payload)] = outbox_messages(part, "EVT-RESERVE")
    message = orjson.loads(payload)
    assert key == f"{stage}.R000"
    assert message == {
        "messageId": f"{stage}.R000", "eventId": event_id, "stageId": stage, "seq": 0,
        "programCode": "BYOT", "programExternalId": "BYOT-2026", "eventType": "EMERGENCY",
        "eventStartDateTime": "2026-07-17T22:00:00+00:00",
        "eventEndDateTime": "2026-07-18T00:00:00+00:00", "fileName": name, "rows": 2,
        "size": len(text.encode()),
    }  # fmt: skip

    def ack(code: str, value: str) -> list[tuple[str, str]]:
        body = {"ackType": "SUCCESS" if code == "SUCCESS" else "ERROR",
                "responses": [{"id": key, "responseCode": code, "value": value}]}  # fmt: skip
        answer = client.post(f"{API}/acks/event-reservations", json=body, headers=hub_headers)
        assert answer.status_code == 200, answer.text
        return [(r["messageId"], r["outcome"]) for r in answer.json()["results"]]

    refused = "1 reserved, 0 reserved already, 1 refused: row 3 CPM-DEVICE-UNKNOWN: no NIC-2"
    assert ack("CPM-RESERVE-REFUSED", refused) == [(key, "Failed")]
    files = client.get(f"{API}/events/{event_id}/reservation-files", headers=viewer).json()
    assert (files[0]["state"], files[0]["detail"]) == ("Failed", f"CPM-RESERVE-REFUSED: {refused}")
    trail = client.get(f"{API}/events/{event_id}/audit", headers=viewer).json()
    assert trail[-1]["action"] == "CPM_FAILED" and name in trail[-1]["detail"]
    assert ack("SUCCESS", "2 reserved, 0 reserved already, 0 refused") == [(key, "Acknowledged")]
    assert ack("SUCCESS", "again") == [(key, "Duplicate")]
    with part.db.read() as conn:
        state = conn.execute(sa.select(reservation_files.c.state)).scalar_one()
    assert state == "Acknowledged"
    body = {"ackType": "SUCCESS", "responses": [{"id": "SG-x.R000", "responseCode": "SUCCESS"}]}
    answer = client.post(f"{API}/acks/event-reservations", json=body, headers=hub_headers)
    assert answer.json()["results"] == [{"messageId": "SG-x.R000", "outcome": "Unknown"}]
