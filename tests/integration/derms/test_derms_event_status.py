"""EVT-STATUS from DERMS's side, on SQLite and PostgreSQL: every transition of a stage cpm knows
of is written to the outbox with the transition, in order; a Planned stage's cancel is not; the
hub's acknowledgements are kept on the transitions, a failure in the audit trail too."""

from __future__ import annotations

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from derlink.common.clock import FixedClock
from derlink.derms.app import DermsPart
from derlink.derms.events import service
from derlink.derms.events.tables import stage_transitions
from derlink.derms.migrations import SCHEMA
from derlink.platform.database import make_engine
from derlink.platform.migrations import upgrade
from tests.support.schemas import at_revision

from .support import Headers, outbox_messages
from .test_derms_events_api import (
    API,
    T0,
    H,
    act,
    approver,
    mailer,
    move_to,
    new_event,
    part,
    planned,
    ready,
    strategy,
)

__all__ = ["approver", "mailer", "part", "ready"]  # the fixtures, shared with the events' tests

FLOW = "EVT-STATUS"


def statuses(part: DermsPart) -> list[dict[str, object]]:
    return [orjson.loads(payload) for _, payload in outbox_messages(part, FLOW)]


def ack(client: TestClient, hub: Headers, *responses: tuple[str, str, str]) -> list[object]:
    body = {
        "ackType": "SUCCESS" if all(code == "SUCCESS" for _, code, _ in responses) else "ERROR",
        "whenISO": "2026-07-17T22:00:01.000Z",
        "responses": [
            {"id": m, "dacsMessageId": m, "responseCode": code, "value": value}
            for m, code, value in responses
        ],
    }
    answer = client.post(f"{API}/acks/event-status", json=body, headers=hub)
    assert answer.status_code == 200, answer.text
    return [(r["messageId"], r["outcome"]) for r in answer.json()["results"]]


@pytest.mark.usefixtures("ready")
def test_each_transition_of_a_scheduled_stage_goes_to_cpm_in_the_order_it_was_due(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    approver: Headers,
    viewer: Headers,
) -> None:
    event_id = new_event(client, operator, strategy(client, operator), T0)
    planned(part, clock, event_id, T0, mw=1.0)
    act(client, operator, event_id, "submit")
    assert statuses(part) == []  # nothing is sent before the event is Scheduled
    done = act(client, approver, event_id, "approve")
    first, second = (s["id"] for s in done["event"]["stages"])

    sent = statuses(part)
    assert [(m["stageId"], m["status"]) for m in sent] == [
        (first, "Scheduled"),
        (second, "Scheduled"),
    ]
    assert sent[0] == {
        "messageId": f"{first}.SCHEDULED",
        "eventId": event_id,
        "stageId": first,
        "stageSeq": 1,
        "programCode": "BYOT",
        "programExternalId": "BYOT-2026",
        "eventType": "EMERGENCY",
        "status": "Scheduled",
        "previousStatus": "Planned",
        "statusDateTime": clock.now().isoformat(),
        "startDateTime": T0.isoformat(),
        "endDateTime": (T0 + 2 * H).isoformat(),
        "cancelReason": "",
    }

    move_to(clock, T0 + 3 * H)  # the first stage has ended, the second started
    service.advance_stages(db=part.db, clock=clock)
    act(client, operator, event_id, "cancel", reason="the feeder tripped")
    moved = [(m["stageId"], m["status"], m["cancelReason"]) for m in statuses(part)[2:]]
    assert moved == [
        (first, "In Progress", ""),
        (first, "Completed", ""),
        (second, "In Progress", ""),
        (second, "Canceled", "the feeder tripped"),
    ]

    shown = client.get(f"{API}/events/{event_id}/transitions", headers=viewer).json()
    assert [(t["stageId"], t["toState"], t["cpm"]) for t in shown] == [
        (first, "Scheduled", "Pending"),
        (second, "Scheduled", "Pending"),
        (first, "In Progress", "Pending"),
        (first, "Completed", "Pending"),
        (second, "In Progress", "Pending"),
        (second, "Canceled", "Pending"),
    ]
    assert shown[0]["messageId"] == f"{first}.SCHEDULED"


@pytest.mark.usefixtures("ready")
def test_a_stage_canceled_while_planned_is_not_sent(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    viewer: Headers,
) -> None:
    event_id = new_event(client, operator, strategy(client, operator), T0)
    planned(part, clock, event_id, T0, mw=1.0)
    act(client, operator, event_id, "cancel", reason="cool day")

    assert statuses(part) == []
    shown = client.get(f"{API}/events/{event_id}/transitions", headers=viewer).json()
    assert [(t["toState"], t["cpm"], t["messageId"]) for t in shown] == [
        ("Canceled", None, None),
        ("Canceled", None, None),
    ]


@pytest.mark.usefixtures("ready")
def test_acknowledgements_are_kept_and_a_failure_is_audited(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    approver: Headers,
    viewer: Headers,
    hub_headers: Headers,
) -> None:
    event_id = new_event(client, operator, strategy(client, operator), T0)
    planned(part, clock, event_id, T0, mw=1.0)
    act(client, operator, event_id, "submit")
    first, second = (s["id"] for s in act(client, approver, event_id, "approve")["event"]["stages"])

    outcomes = ack(
        client,
        hub_headers,
        (f"{first}.SCHEDULED", "SUCCESS", "PE-1"),
        (f"{second}.SCHEDULED", "CPM-PROGRAM-INACTIVE", "program BYOT is Inactive"),
        ("SG-nope.SCHEDULED", "SUCCESS", "PE-9"),
    )
    assert outcomes == [
        (f"{first}.SCHEDULED", "Delivered"),
        (f"{second}.SCHEDULED", "Failed"),
        ("SG-nope.SCHEDULED", "Unknown"),
    ]
    shown = client.get(f"{API}/events/{event_id}/transitions", headers=viewer).json()
    assert [(t["cpm"], t["cpmDetail"]) for t in shown] == [
        ("Delivered", "PE-1"),
        ("Failed", "CPM-PROGRAM-INACTIVE: program BYOT is Inactive"),
    ]
    trail = client.get(f"{API}/events/{event_id}/audit", headers=viewer).json()
    assert trail[-1]["action"] == "CPM_FAILED" and trail[-1]["stageId"] == second
    assert "program BYOT is Inactive" in trail[-1]["detail"]

    # A resubmit delivers the failed one; a late FAILURE of the delivered one changes nothing.
    again = ack(
        client,
        hub_headers,
        (f"{second}.SCHEDULED", "SUCCESS", "PE-2"),
        (f"{first}.SCHEDULED", "FAILURE", "cpm unreachable"),
    )
    assert again == [(f"{second}.SCHEDULED", "Delivered"), (f"{first}.SCHEDULED", "Duplicate")]
    shown = client.get(f"{API}/events/{event_id}/transitions", headers=viewer).json()
    assert [(t["cpm"], t["cpmDetail"]) for t in shown] == [("Delivered", "PE-1"),
                                                            ("Delivered", "PE-2")]  # fmt: skip
    refused = client.post(f"{API}/acks/event-status", json={"ackType": "SUCCESS"}, headers=viewer)
    assert refused.status_code == 403


def test_a_database_at_the_plans_revision_gains_the_transitions_cpm_columns(
    database_url: str,
) -> None:
    sqlite = database_url.startswith("sqlite")
    engine = make_engine(database_url, schema=None if sqlite else "derms")
    try:
        at_revision(engine, SCHEMA, "0006")
        with engine.begin() as conn:  # as revision 0006 left it, with one transition
            for column in ("cpm_status", "cpm_detail", "cpm_at"):
                conn.execute(sa.text(f"ALTER TABLE stage_transitions DROP COLUMN {column}"))
            conn.execute(
                sa.text(
                    "INSERT INTO stage_transitions (stage_id, to_state, event_id, from_state, "
                    "due_at, recorded_at) VALUES ('SG-1', 'Scheduled', 'EV-1', 'Planned', "
                    "'2026-07-17T20:00:00+00:00', '2026-07-17T20:00:00+00:00')"
                )
            )
        assert upgrade(engine, SCHEMA).ran == ("0007", "0008", "0009", "0010", "0011")
        with engine.connect() as conn:
            row = conn.execute(sa.select(stage_transitions)).one()
        assert (row.stage_id, row.cpm_status, row.cpm_detail) == ("SG-1", None, None)
    finally:
        engine.dispose()
