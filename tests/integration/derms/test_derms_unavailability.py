"""Customer unavailability from DERMS's side, on SQLite and PostgreSQL: an Active period
releases the reservations of Scheduled stages it overlaps (UNAVAILABLE, outcome D1CN) and the
stage is backfilled; versions are kept once, in order; stage generation leaves an unavailable
device out until the period is canceled; a canceled stage's reservations have outcome D1CN."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from derlink.common.clock import FixedClock
from derlink.derms.app import DermsPart
from derlink.derms.events import review
from derlink.derms.events.schemas import UNAVAILABILITY_EXAMPLE
from derlink.derms.events.tables import reservations
from derlink.derms.migrations import SCHEMA
from derlink.platform.migrations import stamp, upgrade

from .support import Headers
from .test_derms_opt_outs import SITES, approver, reserved, scheduled_event, trail
from .test_derms_stage_generation_api import API, make_world

__all__ = ["approver"]


@pytest.fixture
def world(client: TestClient, settings: Any, operator: Headers, hub_headers: Headers) -> None:
    make_world(client, settings, operator, hub_headers, zone_sites=SITES)


def period(site: str, start: str, end: str, *, version: int = 1, status: str = "ACTIVE") -> dict:
    return {
        **UNAVAILABILITY_EXAMPLE,
        "dacsMessageId": f"UAM-{site}-{version}",
        "unavailabilityId": f"CU-{site}",
        "headEndSystem": "ECOBEE-HE",
        "nicId": f"NIC-{site}",
        "start": start,
        "end": end,
        "status": status,
        "version": version,
    }


def send(client: TestClient, hub: Headers, *records: dict) -> list[tuple[Any, ...]]:
    answer = client.post(
        f"{API}/unavailabilities",
        json={"batchId": "U-1", "unavailabilities": list(records)},
        headers=hub,
    )
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    return [(r["code"], r["version"], r["outcome"], r["errorCode"]) for r in results]


@pytest.mark.usefixtures("world")
def test_an_active_period_releases_the_overlapped_reservation_and_the_stage_is_backfilled(
    client: TestClient,
    part: DermsPart,
    clock: FixedClock,
    operator: Headers,
    approver: Headers,
    viewer: Headers,
    hub_headers: Headers,
) -> None:
    event_id, stage_id = scheduled_event(client, operator, approver)  # 12:00–16:00 UTC
    # S1 is away from 15:00 (overlaps the stage); S2 from 16:00 (touches its end only).
    assert send(
        client,
        hub_headers,
        period("S1", "2026-07-17T15:00:00Z", "2026-07-17T20:00:00Z"),
        period("S2", "2026-07-17T16:00:00Z", "2026-07-17T20:00:00Z"),
        period("S5", "2026-07-17T20:00:00Z", "2026-07-17T19:00:00Z"),
    ) == [
        ("CU-S1", 1, "Applied", None),
        ("CU-S2", 1, "Applied", None),
        ("CU-S5", 1, "Rejected", "DERMS-UNAVAILABILITY-INVALID"),
    ]
    page = client.get(f"{API}/stages/{stage_id}/reservations", headers=viewer).json()
    assert [(r["nicId"], r["state"], r["reason"], r["outcome"]) for r in page["items"]] == [
        ("NIC-S1", "Released", "UNAVAILABLE", "D1CN"),
        ("NIC-S2", "Reserved", None, None),
    ]
    assert trail(client, viewer, event_id)[-1] == (
        "UNAVAILABLE",
        "1 device(s) unavailable (customer unavailability): their reservations released, "
        "outcome D1CN",
    )
    # A redelivery, and an older version after a newer one: no second effect.
    edited = period("S1", "2026-07-17T10:00:00Z", "2026-07-17T20:00:00Z", version=2)
    assert send(client, hub_headers, edited) == [("CU-S1", 2, "Applied", None)]
    assert send(client, hub_headers, edited, period("S1", "2026-07-17T15:00:00Z",
                "2026-07-17T20:00:00Z")) == [("CU-S1", 2, "Stale", None),
                                             ("CU-S1", 1, "Stale", None)]  # fmt: skip
    held = client.get(f"{API}/unavailabilities", params={"nicId": "NIC-S1"}, headers=viewer)
    [(s1)] = held.json()
    assert (s1["version"], s1["start"], s1["status"], s1["released"]) == (
        2, "2026-07-17T10:00:00Z", "ACTIVE", 0)  # fmt: skip

    # The stage review backfills the stage with the next device; S1 is not taken back.
    (done,) = review.review_stages(db=part.db, clock=clock, zone=part.zone)
    assert done.added == 1
    assert reserved(client, viewer, stage_id)[-1] == ("NIC-S5", "Reserved", None, 1, 3)


@pytest.mark.usefixtures("world")
def test_generation_leaves_an_unavailable_device_out_until_the_period_is_canceled(
    client: TestClient,
    operator: Headers,
    approver: Headers,
    viewer: Headers,
    hub_headers: Headers,
) -> None:
    send(client, hub_headers, period("S1", "2026-07-17T11:00:00Z", "2026-07-17T13:00:00Z"))
    event_id, stage_id = scheduled_event(client, operator, approver)
    plan = client.get(f"{API}/events/{event_id}/plan", headers=viewer).json()
    assert plan["exclusions"]["UNAVAILABLE"] == 1
    assert [r[0] for r in reserved(client, viewer, stage_id)] == ["NIC-S2", "NIC-S5"]

    canceled = period("S1", "2026-07-17T11:00:00Z", "2026-07-17T13:00:00Z", version=2,
                      status="CANCELED")  # fmt: skip
    assert send(client, hub_headers, canceled) == [("CU-S1", 2, "Applied", None)]
    client.post(f"{API}/events/{event_id}/cancel", json={"reason": "cool"}, headers=operator)
    second, other = scheduled_event(client, operator, approver)
    plan = client.get(f"{API}/events/{second}/plan", headers=viewer).json()
    assert plan["exclusions"]["UNAVAILABLE"] == 0
    assert [r[0] for r in reserved(client, viewer, other)] == ["NIC-S1", "NIC-S2"]
    # The canceled event's reservations were released with outcome D1CN.
    page = client.get(f"{API}/stages/{stage_id}/reservations", headers=viewer).json()
    assert {(r["reason"], r["outcome"]) for r in page["items"]} == {("STAGE_CANCELED", "D1CN")}


def test_a_database_at_the_opt_outs_revision_gains_unavailability_and_outcomes(
    part: DermsPart,
) -> None:
    engine = part.db.engine
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE unavailabilities"))
        conn.execute(sa.text("ALTER TABLE reservations DROP COLUMN outcome"))
        conn.execute(
            reservations.insert(),
            [
                {"stage_id": "SG-1", "head_end_system": "HE", "nic_id": nic, "event_id": "EV-1",
                 "device_id": "D", "sp_id": "SP", "feeder_id": "", "program": "BYOT",
                 "start_at": "t", "end_at": "t", "state": state, "reason": reason,
                 "file_seq": 0, "record_id": i, "created_at": "t", "updated_at": "t"}
                for i, (nic, state, reason) in enumerate(
                    [("N1", "Released", "STAGE_CANCELED"), ("N2", "Released", "OPT_OUT"),
                     ("N3", "Reserved", None)], start=1)
            ],
        )  # fmt: skip
    stamp(engine, SCHEMA, "0009")
    assert upgrade(engine, SCHEMA).ran == ("0010", "0011")
    assert "unavailabilities" in sa.inspect(engine).get_table_names()
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(reservations.c.nic_id, reservations.c.outcome).order_by(reservations.c.nic_id)
        ).all()
    assert [tuple(r) for r in found] == [("N1", "D1CN"), ("N2", None), ("N3", None)]
