"""EVT-RESERVE end to end against the real parts, on SQLite and PostgreSQL: a Scheduled stage's
devices are reserved in DERMS, its file written to DERMS's content server, streamed by the hub
to cpm's reserve-device service (the program event created first when EVT-STATUS has not
brought it), each device an event participation in cpm, a device cpm does not hold refused by
row, and DERMS keeps what cpm made of the file."""

from __future__ import annotations

from derlink.derms.events import reservations
from derlink.hub.model import InstanceStatus

from .test_event_status_flow import clock, derms, scheduled_event, unsent
from .test_hub_with_parts import Served, World, _msg_ack, served, world

__all__ = ["clock", "served", "world"]  # the fixtures, shared with the other flows' tests


async def active_device(world: World, nic: str) -> str:
    """A device cpm holds on an Active subscription of BYOT, enrolled and acknowledged: its id
    in cpm."""
    created = world.enroll(f"REQ-{nic}", nic=nic)
    ack = {"batchId": f"ACK-{nic}", "acks": [_msg_ack(created["syncRequestId"])]}
    assert (await world.publish("derms", "ENR-ACK", ack)).status_code == 202
    enrollment = world.enrollment(created["enrollmentId"])
    assert enrollment["status"] == "Active"
    device_id: str = enrollment["devices"][0]["deviceId"]
    return device_id


async def test_a_stage_reservation_file_becomes_cpm_participations_and_derms_learns_it(
    world: World, served: Served
) -> None:
    await active_device(world, "NIC-1")
    event_id, (first, _second) = await scheduled_event(world, served, ("NIC-1", "NIC-9"))
    written = await reservations.write_files(
        db=served.derms.db, clock=served.clock, store=served.derms.content
    )
    assert [(w.stage_id, w.rows) for w in written] == [(first, 2)]
    [message] = unsent(served, 0, "EVT-RESERVE")

    # EVT-STATUS has not run: the flow creates the stage's program event itself.
    answer = await world.publish(
        "derms", "EVT-RESERVE", {"batchId": "EVR-1", "reservations": [message]}
    )
    assert answer.status_code == 202, answer.text
    instance = world.instance(answer.json()["instanceId"])

    assert instance["status"] == InstanceStatus.COMPLETED_WITH_ERRORS, instance
    outcome = instance["outcome"]
    assert (outcome["processed"], outcome["succeeded"]) == (2, 1)
    assert [(e["key"], e["code"]) for e in outcome["errors"]] == [("row 3", "CPM-DEVICE-UNKNOWN")]
    assert outcome["renamedTo"] == f"Sent-{message['fileName']}"
    [program_event] = world.cpm_call("GET", f"/program-events?externalIdentifier={first}")["items"]
    assert (program_event["state"], program_event["programEventCategory"]) == ("Scheduled", "X1EM")
    held = world.cpm_call("GET", f"/program-events/{program_event['id']}/participations")
    assert [(p["nicId"], p["state"], p["reservationStartDateTime"]) for p in held["items"]] == [
        ("NIC-1", "Reserved", "2026-07-17T22:00:00+00:00")
    ]
    [file] = derms(world, "GET", f"/events/{event_id}/reservation-files", who="viewer")
    assert file["state"] == "Failed"
    assert file["detail"].startswith(
        "CPM-RESERVE-REFUSED: 1 reserved, 0 reserved already, 1 refused: row 3 CPM-DEVICE-UNKNOWN"
    )
    content = served.settings.home / "files" / "derms-content"
    assert (content / f"Sent-{message['fileName']}").exists()


async def test_a_redelivered_file_has_no_second_effect(world: World, served: Served) -> None:
    await active_device(world, "NIC-1")
    event_id, (first, _second) = await scheduled_event(world, served, ("NIC-1",))
    await reservations.write_files(
        db=served.derms.db, clock=served.clock, store=served.derms.content
    )
    [message] = unsent(served, 0, "EVT-RESERVE")
    answer = await world.publish(
        "derms", "EVT-RESERVE", {"batchId": "EVR-1", "reservations": [message]}
    )
    assert world.instance(answer.json()["instanceId"])["status"] == InstanceStatus.COMPLETED
    [file] = derms(world, "GET", f"/events/{event_id}/reservation-files", who="viewer")
    assert (file["state"], file["detail"]) == (
        "Acknowledged",
        "1 reserved, 0 reserved already, 0 refused",
    )

    # DERMS wrote the same file again (a crash before it was marked sent) and sent it again.
    content = served.settings.home / "files" / "derms-content"
    (content / f"Sent-{message['fileName']}").rename(content / message["fileName"])
    again = await world.publish(
        "derms", "EVT-RESERVE", {"batchId": "EVR-2", "reservations": [message]}
    )
    detail = world.instance(again.json()["instanceId"])
    assert detail["status"] == InstanceStatus.COMPLETED, detail
    assert detail["outcome"]["duplicateOf"] == "EVT-RESERVE:EVR-1"
    [program_event] = world.cpm_call("GET", f"/program-events?externalIdentifier={first}")["items"]
    held = world.cpm_call("GET", f"/program-events/{program_event['id']}/participations")
    assert len(held["items"]) == 1
