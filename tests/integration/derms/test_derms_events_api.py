"""DERMS's strategies and events over HTTP, on SQLite and PostgreSQL: the lifecycle with its
approvals, the balance-authority check, preemption, the audit trail and the stage schedule
across a restart."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from derlink.common.clock import FixedClock
from derlink.derms.app import DermsPart, create_part
from derlink.derms.events import service
from derlink.derms.events.schemas import STRATEGY_EXAMPLE
from derlink.derms.events.tables import (
    event_audit,
    events,
    stage_transitions,
    stages,
    strategies,
    strategy_types,
)
from derlink.derms.migrations import SCHEMA
from derlink.derms.settings import DermsSettings
from derlink.platform.auth import CredentialStore
from derlink.platform.database import make_engine
from derlink.platform.mail import OutboxMailer
from derlink.platform.migrations import upgrade
from derlink.platform.settings import Settings
from tests.support.schemas import at_revision

from .conftest import auth
from .support import Headers
from .test_derms_masterdata_api import RULES, program, rule
from .test_derms_network import load, model_file

API = "/api/v1"
T0 = datetime(2026, 7, 17, 22, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def mailer(tmp_path: Path) -> OutboxMailer:
    return OutboxMailer(tmp_path / "mail")


@pytest.fixture
def part(
    settings: Settings, credentials: CredentialStore, clock: FixedClock, mailer: OutboxMailer
) -> Iterator[DermsPart]:
    derms = create_part(
        settings=settings.with_part(DermsSettings(ba_threshold_mw=5.0)),
        credentials=credentials,
        clock=clock,
        hub=None,
        mailer=mailer,
    )
    yield derms
    derms.db.dispose()


@pytest.fixture
def approver(credentials: CredentialStore) -> Headers:
    return auth(credentials, "approver")


@pytest.fixture
def ba(credentials: CredentialStore) -> Headers:
    return auth(credentials, "ba-approver")


@pytest.fixture
def ready(client: TestClient, settings: Settings, operator: Headers, hub_headers: Headers) -> None:
    """A program, a network model with the zone SUB-NORTH, and two strategy types."""
    sent = client.post(
        RULES,
        json={"batchId": "B1", "programs": [program("BYOT", 1, rule())]},
        headers=hub_headers,
    )
    assert sent.json()["results"][0]["outcome"] == "Applied", sent.text
    load(client, settings, operator, "NETMODEL_1.csv", model_file(
        ("SUBSTATION", "SUB-NORTH", "", "North", "2026-01-01"),
    ))  # fmt: skip
    for code, priority in (("PEAK", 50), ("EMERGENCY", 90)):
        body = {"name": code.title(), "priority": priority, "baChecked": True}
        answer = client.put(f"{API}/strategy-types/{code}", json=body, headers=operator)
        assert answer.status_code == 200, answer.text


def strategy(client: TestClient, operator: Headers, kind: str = "PEAK") -> str:
    answer = client.post(
        f"{API}/strategies", json={**STRATEGY_EXAMPLE, "type": kind}, headers=operator
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def new_event(client: TestClient, operator: Headers, strategy_id: str, start: datetime) -> str:
    body = {
        "strategyId": strategy_id,
        "name": "Heat wave",
        "type": "EMERGENCY",
        "start": start.isoformat(),
        "end": (start + 4 * H).isoformat(),
    }
    answer = client.post(f"{API}/events", json=body, headers=operator)
    assert answer.status_code == 201, answer.text
    assert answer.json()["state"] == "New"
    return str(answer.json()["id"])


def planned(part: DermsPart, clock: FixedClock, event_id: str, start: datetime, mw: float) -> None:
    """Two stages of two hours of ``mw`` each: what stage generation gives an event."""
    plans = [
        service.StagePlan("BYOT", start + i * 2 * H, start + (i + 1) * 2 * H, 3600,
                          (mw * 800,) * 2, (mw * 1000,) * 2, (mw * 1200,) * 2, 100)
        for i in range(2)
    ]  # fmt: skip
    service.plan_event(db=part.db, clock=clock, event_id=event_id, plans=plans, actor="operator")


def move_to(clock: FixedClock, at: datetime) -> None:
    clock.advance(seconds=(at - clock.now()).total_seconds())


def act(client: TestClient, headers: Headers, event_id: str, action: str, **body: Any) -> Any:
    answer = client.post(f"{API}/events/{event_id}/{action}", json=body or None, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.usefixtures("ready")
def test_an_event_goes_from_new_to_completed_with_its_approvals_audited(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    approver: Headers,
    ba: Headers,
    viewer: Headers,
    mailer: OutboxMailer,
) -> None:
    event_id = new_event(client, operator, strategy(client, operator), T0)
    planned(part, clock, event_id, T0, mw=6.0)  # 6 MW > the 5 MW threshold
    submitted = act(client, operator, event_id, "submit")
    assert submitted["state"] == "Submitted" and submitted["needsBaApproval"] is True
    (mail,) = list(mailer.outbox.iterdir())
    message = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == f"derms: event {event_id} awaits the balance authority's approval"
    assert message["To"] == "balance-authority@utility.example"

    first = act(client, approver, event_id, "approve")
    assert first["event"]["state"] == "Submitted"
    assert client.post(f"{API}/events/{event_id}/ba-approve", headers=approver).status_code == 403
    done = act(client, ba, event_id, "ba-approve")
    assert done["event"]["state"] == "Scheduled"
    assert [s["state"] for s in done["event"]["stages"]] == ["Scheduled", "Scheduled"]
    assert done["event"]["start"] == "2026-07-17T22:00:00Z"
    assert done["event"]["peakExpectedMw"] == 6.0

    move_to(clock, T0 + 5 * H)  # the whole window has passed: both stages move, in order
    moves = service.advance_stages(db=part.db, clock=clock)
    assert [m.to_state for m in moves] == ["In Progress", "Completed"] * 2
    shown = client.get(f"{API}/events/{event_id}", headers=viewer).json()
    assert shown["state"] == "Completed"

    trail = client.get(f"{API}/events/{event_id}/audit", headers=viewer).json()
    assert [(a["action"], a["actor"]) for a in trail] == [
        ("CREATE", "operator"),
        ("PLAN", "operator"),
        ("SUBMIT", "operator"),
        ("APPROVE", "approver"),
        ("BA_APPROVE", "ba-approver"),
        ("SCHEDULE", "ba-approver"),
        *[("RESERVE", "derms")] * 2,  # each stage's devices (none planned here)
        *[("STAGE", "derms")] * 4,
        ("FOLLOW", "derms"),
    ]
    assert trail[3]["detail"] == "awaiting the balance authority's approval"


@pytest.mark.usefixtures("ready")
def test_a_higher_priority_event_preempts_a_scheduled_lower_one(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    approver: Headers,
    viewer: Headers,
) -> None:
    low = new_event(client, operator, strategy(client, operator, "PEAK"), T0)
    planned(part, clock, low, T0, mw=1.0)
    act(client, operator, low, "submit")
    assert act(client, approver, low, "approve")["event"]["state"] == "Scheduled"

    same = new_event(client, operator, strategy(client, operator, "PEAK"), T0 + H)
    planned(part, clock, same, T0 + H, mw=1.0)
    act(client, operator, same, "submit")
    held = act(client, approver, same, "approve")
    assert held["event"]["state"] == "Approved" and held["preempted"] == []

    high = new_event(client, operator, strategy(client, operator, "EMERGENCY"), T0 + H)
    planned(part, clock, high, T0 + H, mw=1.0)
    act(client, operator, high, "submit")
    done = act(client, approver, high, "approve")
    assert done["event"]["state"] == "Scheduled" and done["preempted"] == [low]
    canceled = client.get(f"{API}/events/{low}", headers=viewer).json()
    assert canceled["state"] == "Canceled"
    assert canceled["reason"] == f"preempted by event {high} of priority 90"
    assert {s["state"] for s in canceled["stages"]} == {"Canceled"}

    listed = client.get(f"{API}/events", params={"state": "Canceled"}, headers=viewer).json()
    assert [e["id"] for e in listed["items"]] == [low]


@pytest.mark.usefixtures("ready")
def test_a_restart_neither_misses_nor_repeats_a_stage_transition(
    settings: Settings,
    credentials: CredentialStore,
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    approver: Headers,
) -> None:
    event_id = new_event(client, operator, strategy(client, operator), T0)
    planned(part, clock, event_id, T0, mw=1.0)
    act(client, operator, event_id, "submit")
    act(client, approver, event_id, "approve")
    move_to(clock, T0 + H / 2)  # 22:30: the first stage has started
    assert len(service.advance_stages(db=part.db, clock=clock)) == 1
    part.db.dispose()  # derms goes down at 22:30 and comes back at 03:00

    move_to(clock, T0 + 5 * H)
    again = create_part(
        settings=settings.with_part(DermsSettings(ba_threshold_mw=5.0)),
        credentials=credentials,
        clock=clock,
        hub=None,
    )
    try:
        moves = service.advance_stages(db=again.db, clock=clock)
        assert [(m.to_state, m.due) for m in moves] == [
            ("Completed", T0 + 2 * H),
            ("In Progress", T0 + 2 * H),
            ("Completed", T0 + 4 * H),
        ]
        assert service.advance_stages(db=again.db, clock=clock) == []
        done = service.stage_transitions_of(db=again.db, event_id=event_id)
        assert [m.to_state for m in done] == [
            "Scheduled", "Scheduled", "In Progress", "Completed", "In Progress", "Completed",
        ]  # fmt: skip
        assert service.get_event(db=again.db, event_id=event_id).event.state == "Completed"
    finally:
        again.db.dispose()


@pytest.mark.usefixtures("ready")
def test_denial_and_cancel_keep_their_reasons_and_refuse_out_of_state(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    approver: Headers,
) -> None:
    strategy_id = strategy(client, operator)
    denied = new_event(client, operator, strategy_id, T0)
    answer = client.post(f"{API}/events/{denied}/submit", headers=operator)
    assert answer.status_code == 422 and "no stage" in answer.json()["detail"]
    planned(part, clock, denied, T0, mw=1.0)
    act(client, operator, denied, "submit")
    shown = act(client, approver, denied, "deny", reason="cool day")
    assert (shown["state"], shown["reason"]) == ("Denied", "cool day")
    again = client.post(f"{API}/events/{denied}/approve", headers=approver)
    assert again.status_code == 409 and again.json()["code"] == "DERMS-EVENT-STATE"

    canceled = new_event(client, operator, strategy_id, T0)
    shown = act(client, operator, canceled, "cancel", reason="feeder outage")
    assert (shown["state"], shown["reason"]) == ("Canceled", "feeder outage")
    assert client.post(f"{API}/events/{canceled}/approve", headers=operator).status_code == 403


@pytest.mark.usefixtures("ready")
def test_a_strategy_names_what_it_lacks(client: TestClient, operator: Headers) -> None:
    cases = {
        "programs": ({"programs": ["NOPE"]}, "programs NOPE are not programs derms holds"),
        "zone": ({"controlZone": "SUB-9"}, "controlZone 'SUB-9' is not a network node"),
        "type": ({"type": "NOPE"}, "type 'NOPE' is not a strategy type"),
        "target": (
            {"target": {"objective": "MAX_DEMAND_THRESHOLD"}},
            "objective MAX_DEMAND_THRESHOLD needs maxDemandMw",
        ),
    }
    for change, detail in cases.values():
        answer = client.post(f"{API}/strategies", json={**STRATEGY_EXAMPLE, **change},
                             headers=operator)  # fmt: skip
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "DERMS-STRATEGY-INVALID"
        assert detail in answer.json()["detail"]


@pytest.mark.usefixtures("ready")
def test_an_archived_strategy_makes_no_new_event(client: TestClient, operator: Headers) -> None:
    strategy_id = strategy(client, operator)
    archived = client.post(f"{API}/strategies/{strategy_id}/archive", headers=operator)
    assert archived.json()["state"] == "Archived"
    body = {"strategyId": strategy_id, "name": "x", "type": "ECONOMIC",
            "start": T0.isoformat(), "end": (T0 + H).isoformat()}  # fmt: skip
    answer = client.post(f"{API}/events", json=body, headers=operator)
    assert answer.status_code == 422 and "Archived" in answer.json()["detail"]


def test_a_database_at_the_inputs_revision_gains_the_events_tables(database_url: str) -> None:
    sqlite = database_url.startswith("sqlite")
    engine = make_engine(database_url, schema=None if sqlite else "derms")
    tables = (event_audit, stage_transitions, stages, events, strategies, strategy_types)
    try:
        at_revision(engine, SCHEMA, "0004")
        with engine.begin() as conn:  # as revision 0004 left it
            for table in tables:
                table.drop(conn)
        assert upgrade(engine, SCHEMA).ran == (
            "0005",
            "0006",
            "0007",
            "0008",
            "0009",
            "0010",
            "0011",
        )
        assert {t.name for t in tables} <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
