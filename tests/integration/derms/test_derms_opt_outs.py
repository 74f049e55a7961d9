"""Opt-outs from DERMS's side, on SQLite and PostgreSQL: an OPT-OUT record releases the
device's reservation of the stage once (a redelivery is Stale), what DERMS cannot find is
refused by name, and the stage review raises the alert and backfills a short Scheduled stage
from the planner's ranking as a delta reservation file — or only raises the alert when the
strategy does not backfill, or nothing within the tolerance."""

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
from derlink.derms.app import DermsPart
from derlink.derms.events import reservations, review, service
from derlink.derms.events.schemas import OPT_OUT_EXAMPLE
from derlink.derms.events.tables import stages, strategies
from derlink.derms.migrations import SCHEMA
from derlink.derms.migrations.versions import v0009_opt_outs
from derlink.platform.migrations import stamp, upgrade

from .support import Headers, outbox_messages
from .test_derms_stage_generation_api import API, END, PROGRAM, START, make_world

SITES = ("S1", "S2", "S5", "S6")


@pytest.fixture
def world(client: TestClient, settings: Any, operator: Headers, hub_headers: Headers) -> None:
    """Four thermostats under the zone, each expected to reduce 0.8 kW (1 kW × score 80)."""
    make_world(client, settings, operator, hub_headers, zone_sites=SITES)


def scheduled_event(
    client: TestClient, operator: Headers, approver: Headers, *, backfill: bool = True
) -> tuple[str, str]:
    """An event asking 1.5 kW, planned (S1 and S2: 1.6 kW) and Scheduled: (event, stage)."""
    strategy = {
        "name": "North peak",
        "controlZone": "SUB-NORTH",
        "programs": [PROGRAM],
        "type": "PEAK",
        "target": {"objective": "LOAD_REDUCTION", "mwPerHour": 0.0015, "maxIncreasePct": 100},
        "backfill": backfill,
    }
    made = client.post(f"{API}/strategies", json=strategy, headers=operator)
    assert made.status_code == 201, made.text
    assert made.json()["backfill"] is backfill
    body = {"strategyId": made.json()["id"], "name": "Peak", "type": "ECONOMIC",
            "start": START, "end": END}  # fmt: skip
    event_id = client.post(f"{API}/events", json=body, headers=operator).json()["id"]
    answer = client.post(f"{API}/events/{event_id}/generate", json={"intervalSeconds": 3600},
                         headers=operator)  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert client.post(f"{API}/events/{event_id}/submit", headers=operator).status_code == 200
    done = client.post(f"{API}/events/{event_id}/approve", headers=approver)
    assert done.json()["event"]["state"] == "Scheduled", done.text
    (stage,) = done.json()["event"]["stages"]
    return event_id, stage["id"]


def opt_out(event_id: str, stage_id: str, site: str, *, version: int = 1) -> dict[str, Any]:
    return {
        **OPT_OUT_EXAMPLE,
        "dacsMessageId": f"OOM-{site}-{version}",
        "participationId": f"EP-{site}",
        "eventExternalIdentifier": event_id,
        "externalIdentifier": stage_id,
        "programCode": PROGRAM,
        "headEndSystem": "ECOBEE-HE",
        "nicId": f"NIC-{site}",
        "deviceId": f"D-NIC-{site}",
        "version": version,
    }


def send(client: TestClient, hub: Headers, *records: dict[str, Any]) -> list[tuple[Any, ...]]:
    answer = client.post(
        f"{API}/opt-outs", json={"batchId": "OO-1", "optOuts": list(records)}, headers=hub
    )
    assert answer.status_code == 200, answer.text
    return [
        (r["code"], r["version"], r["outcome"], r["errorCode"]) for r in answer.json()["results"]
    ]


def reserved(client: TestClient, viewer: Headers, stage_id: str) -> list[tuple[Any, ...]]:
    page = client.get(f"{API}/stages/{stage_id}/reservations", headers=viewer).json()
    return [
        (r["nicId"], r["state"], r["reason"], r["fileSeq"], r["recordId"]) for r in page["items"]
    ]


def trail(client: TestClient, viewer: Headers, event_id: str) -> list[tuple[str, str]]:
    lines = client.get(f"{API}/events/{event_id}/audit", headers=viewer).json()
    return [(a["action"], a["detail"]) for a in lines]


@pytest.fixture
def approver(credentials: Any) -> Headers:
    return dict(credentials.client("approver").header())


@pytest.mark.usefixtures("world")
def test_an_opt_out_releases_the_reservation_and_the_short_stage_is_backfilled_as_a_delta_file(
    client: TestClient,
    settings: Any,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    approver: Headers,
    viewer: Headers,
    hub_headers: Headers,
) -> None:
    event_id, stage_id = scheduled_event(client, operator, approver)
    assert reserved(client, viewer, stage_id) == [
        ("NIC-S1", "Reserved", None, 0, 1),
        ("NIC-S2", "Reserved", None, 0, 2),
    ]
    assert send(client, hub_headers, opt_out(event_id, stage_id, "S1")) == [
        ("EP-S1", 1, "Applied", None)
    ]
    # The hub delivers the collection again: no second effect.
    assert send(client, hub_headers, opt_out(event_id, stage_id, "S1")) == [
        ("EP-S1", 1, "Stale", None)
    ]
    assert reserved(client, viewer, stage_id)[0] == ("NIC-S1", "Released", "OPT_OUT", 0, 1)
    assert trail(client, viewer, event_id)[-1] == (
        "OPT_OUT", "1 device(s) opted out in cpm: their reservations released")  # fmt: skip
    (held,) = client.get(f"{API}/events/{event_id}/opt-outs", headers=viewer).json()
    assert (held["participationId"], held["stageId"], held["nicId"], held["channel"],
            held["effect"]) == ("EP-S1", stage_id, "NIC-S1", "CSR", "Released")  # fmt: skip

    (done,) = review.review_stages(db=part.db, clock=clock, zone=part.zone)
    assert (done.stage_id, done.short, done.added) == (stage_id, True, 1)
    assert (round(done.before, 3), round(done.after, 3)) == (0.5, 1.0)
    # NIC-S5 is the next in the ranking (the same key, then the device id); S1 is never taken
    # back, and S2 holds its reservation.
    assert reserved(client, viewer, stage_id) == [
        ("NIC-S1", "Released", "OPT_OUT", 0, 1),
        ("NIC-S2", "Reserved", None, 0, 2),
        ("NIC-S5", "Reserved", None, 1, 3),
    ]
    lines = trail(client, viewer, event_id)
    assert lines[-2] == (
        "SHORTFALL",
        "alert: after opt-outs the stage's 1 reserved device(s) are expected to reduce 0.8 kW "
        "(P50) against a target of 1.6 kW in its interval 1, 50.0% short; the tolerance is 5%",
    )
    assert lines[-1] == (
        "BACKFILL",
        "backfilled 1 device(s), the next of the planner's ranking: 1 device(s) reserved (delta "
        "file seq 1); now expected to reach 100.0% of the target at its lowest",
    )
    stage = client.get(f"{API}/stages/{stage_id}", headers=viewer).json()
    assert stage["deviceCount"] == 3
    # Nothing is due any more.
    assert review.review_stages(db=part.db, clock=clock, zone=part.zone) == []

    # The delta file holds the added device alone, its recordId going on from the first file's.
    files = client.get(f"{API}/events/{event_id}/reservation-files", headers=viewer).json()
    assert [(f["seq"], f["rows"], f["state"]) for f in files] == [(0, 2, "Pending"),
                                                                   (1, 1, "Pending")]  # fmt: skip
    asyncio.run(reservations.write_files(db=part.db, clock=clock, store=part.content))
    name = files[1]["fileName"]
    assert name == f"RESERVE_{event_id}_{stage_id}_001.csv"
    text = (settings.home / "files" / "derms-content" / name).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["recordId"], r["nicId"]) for r in rows] == [("3", "NIC-S5")]
    sent = [orjson.loads(p) for _, p in outbox_messages(part, "EVT-RESERVE")]
    assert [(m["seq"], m["rows"]) for m in sent] == [(0, 2), (1, 1)]

    # The backfilled device opts out too: the next one takes its place in a third file.
    assert send(client, hub_headers, opt_out(event_id, stage_id, "S5")) == [
        ("EP-S5", 1, "Applied", None)
    ]
    (again,) = review.review_stages(db=part.db, clock=clock, zone=part.zone)
    assert again.added == 1
    assert reserved(client, viewer, stage_id)[-1] == ("NIC-S6", "Reserved", None, 2, 4)


@pytest.mark.usefixtures("world")
def test_what_derms_cannot_find_is_refused_by_name_and_the_rest_applied(
    client: TestClient, operator: Headers, approver: Headers, hub_headers: Headers
) -> None:
    event_id, stage_id = scheduled_event(client, operator, approver)
    results = send(
        client,
        hub_headers,
        {**opt_out(event_id, "SG-NONE", "S1"), "participationId": "EP-A"},
        {**opt_out("EV-OTHER", stage_id, "S1"), "participationId": "EP-B"},
        opt_out(event_id, stage_id, "S5"),  # planned for no stage: no reservation
        opt_out(event_id, stage_id, "S2"),
    )
    assert results == [
        ("EP-A", 1, "Rejected", "DERMS-STAGE-UNKNOWN"),
        ("EP-B", 1, "Rejected", "DERMS-STAGE-UNKNOWN"),
        ("EP-S5", 1, "Rejected", "DERMS-RESERVATION-UNKNOWN"),
        ("EP-S2", 1, "Applied", None),
    ]
    answer = client.post(
        f"{API}/opt-outs",
        json={"batchId": "OO-2", "optOuts": [opt_out(event_id, stage_id, "S5")]},
        headers=hub_headers,
    ).json()["results"][0]
    assert answer["detail"] == (
        f"stage {stage_id} holds no reservation of device NIC-S5 of the head-end system ECOBEE-HE"
    )
    refused = client.post(
        f"{API}/opt-outs",
        json={"batchId": "OO-3", "optOuts": [{**opt_out(event_id, stage_id, "S1"),
                                              "channel": "WEB"}]},
        headers=hub_headers,
    )  # fmt: skip
    assert refused.status_code == 422 and "channel" in refused.text


@pytest.mark.usefixtures("world")
def test_a_strategy_that_does_not_backfill_only_raises_the_alert(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    approver: Headers,
    viewer: Headers,
    hub_headers: Headers,
) -> None:
    event_id, stage_id = scheduled_event(client, operator, approver, backfill=False)
    send(client, hub_headers, opt_out(event_id, stage_id, "S2"))
    (done,) = review.review_stages(db=part.db, clock=clock, zone=part.zone)
    assert (done.short, done.added) == (True, 0)
    assert [a for a, _ in trail(client, viewer, event_id)[-2:]] == ["SHORTFALL", "BACKFILL"]
    assert trail(client, viewer, event_id)[-1][1] == (
        "not backfilled: the strategy does not backfill"
    )
    assert [r[0] for r in reserved(client, viewer, stage_id)] == ["NIC-S1", "NIC-S2"]


@pytest.mark.usefixtures("world")
def test_within_the_tolerance_or_after_the_start_nothing_is_added(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    approver: Headers,
    viewer: Headers,
    hub_headers: Headers,
) -> None:
    event_id, stage_id = scheduled_event(client, operator, approver)
    send(client, hub_headers, opt_out(event_id, stage_id, "S1"))
    (done,) = review.review_stages(db=part.db, clock=clock, zone=part.zone, tolerance=0.6)
    assert (done.short, done.added, done.detail) == (False, 0, "")
    assert trail(client, viewer, event_id)[-1][0] == "OPT_OUT"  # no alert: 50 % within 60 %

    # An opt-out whose review comes after the stage started: not reviewed, and said so.
    send(client, hub_headers, opt_out(event_id, stage_id, "S2"))
    later = FixedClock(clock.now() + timedelta(days=46, hours=1))  # 17 July, 13:00 UTC
    service.advance_stages(db=part.db, clock=later)
    (late,) = review.review_stages(db=part.db, clock=later, zone=part.zone)
    assert late.detail == "not reviewed against its target: the stage is In Progress"
    assert trail(client, viewer, event_id)[-1] == ("SHORTFALL", late.detail)
    assert review.review_stages(db=part.db, clock=later, zone=part.zone) == []


def test_a_database_at_the_reservations_revision_gains_the_opt_outs(part: DermsPart) -> None:
    engine = part.db.engine
    with engine.begin() as conn:
        conn.execute(
            strategies.insert().values(
                id="ST-1", name="Old", description="", control_zone="Z", programs="[]",
                type_code="PEAK", objective="MANUAL", override_rules=False, per_feeder=False,
                firm=False, state="Active", created_at="t", updated_at="t",
            )
        )  # fmt: skip
        conn.execute(sa.text("DROP TABLE opt_outs"))
        conn.execute(sa.text("ALTER TABLE stages DROP COLUMN review_due_at"))
        conn.execute(sa.text("ALTER TABLE strategies DROP COLUMN backfill"))
    stamp(engine, SCHEMA, "0008")
    assert upgrade(engine, SCHEMA).ran == (v0009_opt_outs.revision, "0010", "0011")
    inspect = sa.inspect(engine)
    assert "opt_outs" in inspect.get_table_names()
    assert "review_due_at" in {c["name"] for c in inspect.get_columns("stages")}
    with engine.connect() as conn:
        assert conn.execute(sa.select(strategies.c.backfill)).scalar_one() is True
        assert conn.execute(sa.select(sa.func.count()).select_from(stages)).scalar_one() == 0
