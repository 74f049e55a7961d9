"""OPT-OUT end to end against the real parts, on SQLite and PostgreSQL: a device reserved in
DERMS and cpm is opted out in cpm before the cut-off; the hub delivers the opt-out to DERMS,
which releases the reservation and marks the stage for review, and cpm learns that DERMS holds
it. A redelivery has no second effect."""

from __future__ import annotations

import sqlalchemy as sa

from derlink.derms.events import reservations
from derlink.derms.events.tables import stages
from derlink.hub.model import InstanceStatus

from .test_event_reservation_flow import active_device
from .test_event_status_flow import clock, derms, scheduled_event, unsent
from .test_hub_with_parts import Served, World, _publish_outbox, served, world

__all__ = ["clock", "served", "world"]


async def test_an_opt_out_in_cpm_releases_the_reservation_in_derms_and_cpm_learns_it(
    world: World, served: Served
) -> None:
    await active_device(world, "NIC-1")  # cpm does not hold NIC-9: that row is refused
    event_id, (first, _second) = await scheduled_event(world, served, ("NIC-1", "NIC-9"))
    await reservations.write_files(
        db=served.derms.db, clock=served.clock, store=served.derms.content
    )
    [message] = unsent(served, 0, "EVT-RESERVE")
    answer = await world.publish(
        "derms", "EVT-RESERVE", {"batchId": "EVR-1", "reservations": [message]}
    )
    reserved = world.instance(answer.json()["instanceId"])
    assert reserved["status"] == InstanceStatus.COMPLETED_WITH_ERRORS, reserved
    [program_event] = world.cpm_call("GET", f"/program-events?externalIdentifier={first}")["items"]
    held = world.cpm_call("GET", f"/program-events/{program_event['id']}/participations")
    participation = next(p for p in held["items"] if p["nicId"] == "NIC-1")

    # 15:00 UTC: the stage starts at 22:00, the rule's cut-off is 60 minutes before.
    done = world.cpm_call(
        "POST", f"/participations/{participation['id']}/opt-out", {"channel": "CUSTOMER"}
    )
    assert done["outcome"] == "OptedOut"
    assert done["participation"]["optOut"]["dermsSync"] == "Pending"

    instance = await _publish_outbox(world, "OPT-OUT", "optOuts", "OOB-1")
    assert instance["status"] == InstanceStatus.COMPLETED, instance
    page = derms(world, "GET", f"/stages/{first}/reservations", who="viewer")
    assert [(r["nicId"], r["state"], r["reason"]) for r in page["items"]] == [
        ("NIC-1", "Released", "OPT_OUT"),
        ("NIC-9", "Reserved", None),
    ]
    [opted] = derms(world, "GET", f"/events/{event_id}/opt-outs", who="viewer")
    assert (opted["participationId"], opted["channel"], opted["effect"]) == (
        participation["id"], "CUSTOMER", "Released")  # fmt: skip
    with served.derms.db.read() as conn:
        due = conn.execute(
            sa.select(stages.c.review_due_at).where(stages.c.id == first)
        ).scalar_one()
    assert due is not None  # the stage review comes next
    held = world.cpm_call("GET", f"/program-events/{program_event['id']}/participations")
    mine = next(p for p in held["items"] if p["nicId"] == "NIC-1")
    assert (mine["state"], mine["optOut"]["dermsSync"], mine["optOut"]["dermsVersion"]) == (
        "OptedOut", "Synchronized", 1)  # fmt: skip

    # The same batch delivered again: no second effect anywhere.
    again = await _publish_outbox(world, "OPT-OUT", "optOuts", "OOB-2")
    assert again["status"] == InstanceStatus.COMPLETED, again
    assert again["outcome"]["stale"] == 1
