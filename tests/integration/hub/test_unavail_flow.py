"""UNAVAIL end to end against the real parts, on SQLite and PostgreSQL: a device reserved in a
Scheduled stage in DERMS is said unavailable in cpm over the stage; the hub delivers the period
to DERMS, which releases the reservation (UNAVAILABLE, outcome D1CN), keeps the period and
marks the stage for review, and cpm learns that DERMS holds it. An edit and a cancel reach
DERMS as the next versions; a redelivery is Stale."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from derlink.derms.events.tables import stages
from derlink.hub.model import InstanceStatus

from .test_event_reservation_flow import active_device
from .test_event_status_flow import clock, derms, scheduled_event
from .test_hub_with_parts import Served, World, _publish_outbox, served, world

__all__ = ["clock", "served", "world"]


def held_by_derms(world: World) -> list[tuple[str, int, str, str, str, int]]:
    """The periods DERMS holds of NIC-1: id, version, status, start, end, reservations
    released."""
    return [
        (u["unavailabilityId"], u["version"], u["status"], u["start"], u["end"], u["released"])
        for u in derms(world, "GET", "/unavailabilities?nicId=NIC-1", who="viewer")
    ]


def in_cpm(world: World, unavailability_id: str) -> tuple[str, int, int, str]:
    """The period in cpm: its status, the version cpm sent last, the one DERMS holds, the sync."""
    period: dict[str, Any] = world.cpm_call("GET", f"/unavailabilities/{unavailability_id}")
    return period["status"], period["version"], period["dermsVersion"], period["dermsSync"]


async def test_an_unavailability_in_cpm_releases_the_reservation_in_derms_and_cpm_learns_it(
    world: World, served: Served
) -> None:
    device = await active_device(world, "NIC-1")
    _event_id, (first, second) = await scheduled_event(world, served, ("NIC-1", "NIC-9"))

    # 15:00 UTC: the first stage runs 22:00 to 00:00, the period 14:00 to 16:00 in Los Angeles.
    period = world.cpm_call("POST", f"/devices/{device}/unavailabilities", {
        "start": "2026-07-17T14:00:00-07:00", "end": "2026-07-17T16:00:00-07:00",
        "reason": "a party"})  # fmt: skip
    pid = period["id"]
    assert (period["status"], period["version"], period["dermsSync"]) == ("Active", 1, "Pending")

    instance = await _publish_outbox(world, "UNAVAIL", "unavailabilities", "UAB-1")
    assert instance["status"] == InstanceStatus.COMPLETED, instance
    page = derms(world, "GET", f"/stages/{first}/reservations", who="viewer")
    assert [(r["nicId"], r["state"], r["reason"], r["outcome"]) for r in page["items"]] == [
        ("NIC-1", "Released", "UNAVAILABLE", "D1CN"),
        ("NIC-9", "Reserved", None, None),
    ]
    assert held_by_derms(world) == [
        (pid, 1, "ACTIVE", "2026-07-17T21:00:00Z", "2026-07-17T23:00:00Z", 1)
    ]
    with served.derms.db.read() as conn:
        due = dict(conn.execute(sa.select(stages.c.id, stages.c.review_due_at)).all())
    assert due[first] is not None and due[second] is None  # the stage review comes next
    assert in_cpm(world, pid) == ("Active", 1, 1, "Synchronized")

    # An edit is version 2: the outbox holds both, DERMS applies the second only.
    world.cpm_call("PATCH", f"/unavailabilities/{pid}", {"end": "2026-07-17T17:00:00-07:00"})
    edited = await _publish_outbox(world, "UNAVAIL", "unavailabilities", "UAB-2")
    assert edited["status"] == InstanceStatus.COMPLETED, edited
    assert (edited["outcome"]["processed"], edited["outcome"]["stale"]) == (2, 1)
    assert held_by_derms(world) == [
        (pid, 2, "ACTIVE", "2026-07-17T21:00:00Z", "2026-07-18T00:00:00Z", 0)
    ]
    assert in_cpm(world, pid) == ("Active", 2, 2, "Synchronized")

    # The same versions delivered again: no second effect anywhere.
    again = await _publish_outbox(world, "UNAVAIL", "unavailabilities", "UAB-3")
    assert again["status"] == InstanceStatus.COMPLETED, again
    assert again["outcome"]["stale"] == 2
    assert held_by_derms(world)[0][1] == 2
    assert in_cpm(world, pid) == ("Active", 2, 2, "Synchronized")

    # A cancel is version 3: DERMS keeps it Canceled, the released reservation stays released.
    world.cpm_call("POST", f"/unavailabilities/{pid}/cancel")
    canceled = await _publish_outbox(world, "UNAVAIL", "unavailabilities", "UAB-4")
    assert (canceled["status"], canceled["outcome"]["stale"]) == (InstanceStatus.COMPLETED, 2)
    assert held_by_derms(world)[0][1:3] == (3, "CANCELED")
    assert in_cpm(world, pid) == ("Canceled", 3, 3, "Synchronized")
    page = derms(world, "GET", f"/stages/{first}/reservations", who="viewer")
    assert page["items"][0]["state"] == "Released"
