"""Event participations in cpm (EVT-RESERVE, docs/contracts/program-events.md): a stage's
devices reserved in collections, one participation per device and program event, each device
of a call answered in its order (Reserved, Exists, Rejected with a code); the reads of a
program event's participations and of a device's event history; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cpm_harness import Cpm
from tests.support.schemas import at_revision
from tests.support.servers import serve
from typer.testing import CliRunner

from derlink.cli.main import app as cli
from derlink.cpm.events import participation as p
from derlink.cpm.events import participation_service
from derlink.cpm.events.tables import event_participations, program_event_history, program_events
from derlink.cpm.migrations import SCHEMA
from derlink.platform.database import make_engine
from derlink.platform.migrations import upgrade

PDT = timezone(timedelta(hours=-7))
START = datetime(2026, 7, 17, 15, 0, tzinfo=PDT)
END = START + timedelta(hours=2)
HE = "ECOBEE-HE"
THREADS = 6


def stage(stage_id: str = "SG-1", start: datetime = START, **changes: Any) -> dict[str, Any]:
    """An EVT-STATUS create of a two-hour stage of event EV-1 in program BYOT."""
    return {
        "startDateTime": start.isoformat(),
        "endDateTime": (start + timedelta(hours=2)).isoformat(),
        "eventExternalIdentifier": "EV-1",
        "externalIdentifier": stage_id,
        "programExternalIdentifier": "BYOT",
        "programEventCategory": "X1EM",
        **changes,
    }


def device(nic: str, head_end: str = HE, **times: str | None) -> dict[str, Any]:
    return {"headEndSystem": head_end, "nicId": nic, **times}


def reservation(*devices: dict[str, Any], stage_id: str = "SG-1", **changes: Any) -> dict[str, Any]:
    return {"eventExternalIdentifier": "EV-1", "externalIdentifier": stage_id,
            "deviceList": list(devices), **changes}  # fmt: skip


def enroll(cpm: Cpm, message_id: str, nics: list[str], *, active: bool = True,
           **changes: Any) -> dict[str, Any]:  # fmt: skip
    """An enrollment of these NICs (Active once the hub acknowledges it): its id and devices'
    ids by NIC."""
    assets = [cpm.asset(nic, sequence=n) for n, nic in enumerate(nics, 1)]
    created = (cpm.active_enrollment if active else cpm.enroll)(message_id, assets=assets,
                                                                **changes)  # fmt: skip
    held = cpm.enrollment(created["enrollmentId"])["devices"]
    return {"id": created["enrollmentId"], "devices": {d["nicId"]: d["deviceId"] for d in held}}


@pytest.fixture
def world(seeded: Cpm) -> Cpm:
    """Seeded cpm (BYOT Active, OLD Inactive) with WH Active too; stage SG-1 of BYOT
    (15:00–17:00 PDT)."""
    answer = seeded.post("/programs", {"programCode": "WH", "name": "WH", "status": "Active",
                                       "programType": "DR",
                                       "eligibleSpecifications": ["ECOBEE-ST"]})  # fmt: skip
    assert answer.status_code == 201, answer.text
    created = seeded.post("/program-events", stage(), client="hub")
    assert created.status_code == 200, created.text
    return seeded


@pytest.fixture
def enrolled(world: Cpm) -> dict[str, dict[str, Any]]:
    """NIC-1, NIC-2 and NIC-5…NIC-8 on an Active BYOT subscription at SP1, NIC-3 on a Pending
    one of BYOT at SP2, NIC-4 on an Active WH subscription at SP2."""
    return {
        "byot": enroll(world, "REQ-1", ["NIC-1", "NIC-2", "NIC-5", "NIC-6", "NIC-7", "NIC-8"]),
        "pending": enroll(world, "REQ-2", ["NIC-3"], active=False, account="A2",
                          service_point="SP2"),
        "wh": enroll(world, "REQ-3", ["NIC-4"], account="A2", service_point="SP2", program="WH"),
    }  # fmt: skip


def reserve(cpm: Cpm, body: dict[str, Any], client: str = "hub") -> list[dict[str, Any]]:
    answer = cpm.post("/program-events/reservations", body, client=client)
    assert answer.status_code == 200, answer.text
    results: list[dict[str, Any]] = answer.json()["results"]
    return results


def outcomes(results: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(r["nicId"], r["outcome"], r["code"]) for r in results]


def event_id(cpm: Cpm, stage_id: str = "SG-1") -> str:
    found = cpm.get("/program-events", externalIdentifier=stage_id).json()["items"]
    return str(found[0]["id"])


def listed(cpm: Cpm, program_event_id: str, **params: Any) -> dict[str, Any]:
    answer = cpm.get(f"/program-events/{program_event_id}/participations", client="viewer",
                     **params)  # fmt: skip
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


def history(cpm: Cpm, **params: Any) -> dict[str, Any]:
    answer = cpm.get("/participations", client="viewer", **params)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


def refusal(answer: Any) -> tuple[int, str]:
    assert answer.headers["content-type"] == "application/problem+json"
    return answer.status_code, answer.json().get("code")


def count_participations(cpm: Cpm) -> int:
    with cpm.part.db.read() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(event_participations)).scalar_one()
        )


# -- reserve --------------------------------------------------------------------------------


def test_a_device_of_the_program_is_reserved_for_the_window_given_or_the_event_s(
    world: Cpm, enrolled: dict[str, dict[str, Any]]
):
    world.clock.advance(minutes=3)
    results = reserve(world, reservation(
        device("NIC-1"),
        device("NIC-2", reservationStartDateTime="2026-07-17T15:30:00-07:00",
               reservationEndDateTime="2026-07-17T23:45:00Z"),
    ))  # fmt: skip
    assert [{k: v for k, v in r.items() if k != "participationId"} for r in results] == [
        {"headEndSystem": HE, "nicId": "NIC-1", "outcome": "Reserved", "code": "", "detail": ""},
        {"headEndSystem": HE, "nicId": "NIC-2", "outcome": "Reserved", "code": "", "detail": ""},
    ]
    ids = [r["participationId"] for r in results]
    assert all(i.startswith("EP-") and len(i) == 29 for i in ids) and len(set(ids)) == 2
    pe_id = event_id(world)
    items = listed(world, pe_id)["items"]
    byot = enrolled["byot"]
    assert items[0] == {
        "id": ids[0],
        "programEventId": pe_id,
        "externalIdentifier": "SG-1",
        "eventExternalIdentifier": "EV-1",
        "programCode": "BYOT",
        "deviceId": byot["devices"]["NIC-1"],
        "subscriptionId": byot["id"],
        "headEndSystem": HE,
        "nicId": "NIC-1",
        "reservationStartDateTime": "2026-07-17T22:00:00+00:00",
        "reservationEndDateTime": "2026-07-18T00:00:00+00:00",
        "state": "Reserved",
        "reserved": True,
        "outcome": None,
        "preemptiveOptOut": False,
        "createdAt": "2026-05-01T12:03:00+00:00",
        "updatedAt": "2026-05-01T12:03:00+00:00",
        "optOut": None,
        # BYOT links no rule: the cut-off is the program event's start.
        "optOutCutoff": {"at": "2026-07-17T22:00:00+00:00", "minutes": 0},
        "outcomeDetail": None,
    }
    # Kept in UTC, whatever offset the call wrote.
    assert (items[1]["id"], items[1]["reservationStartDateTime"],
            items[1]["reservationEndDateTime"]) == (
        ids[1], "2026-07-17T22:30:00+00:00", "2026-07-17T23:45:00+00:00",
    )  # fmt: skip
    shown = world.get(f"/program-events/{pe_id}", client="viewer").json()
    assert shown["participations"] == {"Reserved": 2}


def test_each_device_is_answered_in_the_call_s_order_and_a_rejected_one_holds_no_other_up(
    world: Cpm, enrolled: dict[str, dict[str, Any]]
):
    inside = {"reservationStartDateTime": "2026-07-17T15:30:00-07:00"}
    results = reserve(world, reservation(
        device("NIC-9"),  # cpm holds no such device
        device("NIC-1", "OTHER-HE"),  # nor this key: the head-end system is part of it
        device("NIC-3"),  # on a Pending subscription of BYOT
        device("NIC-4"),  # on an Active subscription of WH only
        device("NIC-5", reservationStartDateTime="2026-07-17T16:00:00-07:00",
               reservationEndDateTime="2026-07-17T16:00:00-07:00"),  # ends as it starts
        device("NIC-6", reservationStartDateTime="2026-07-17T14:00:00-07:00"),  # before the event
        device("NIC-7", reservationEndDateTime="2026-07-17T17:01:00-07:00"),  # after it
        device("NIC-8", reservationStartDateTime="2026-07-17T15:30:00"),  # no offset
        device("NIC-2", reservationEndDateTime="tomorrow"),
        device("NIC-1", **inside),
        device("NIC-1"),  # again in the call
        device("NIC-2", reservationStartDateTime=None, reservationEndDateTime=""),
    ))  # fmt: skip
    invalid = "CPM-RESERVATION-INVALID"
    assert outcomes(results) == [
        ("NIC-9", "Rejected", "CPM-DEVICE-UNKNOWN"),
        ("NIC-1", "Rejected", "CPM-DEVICE-UNKNOWN"),
        ("NIC-3", "Rejected", "CPM-DEVICE-NOT-IN-PROGRAM"),
        ("NIC-4", "Rejected", "CPM-DEVICE-NOT-IN-PROGRAM"),
        ("NIC-5", "Rejected", invalid),
        ("NIC-6", "Rejected", invalid),
        ("NIC-7", "Rejected", invalid),
        ("NIC-8", "Rejected", invalid),
        ("NIC-2", "Rejected", invalid),
        ("NIC-1", "Reserved", ""),
        ("NIC-1", "Rejected", invalid),
        ("NIC-2", "Rejected", invalid),  # named before in the call, whatever that was
    ]
    details = [r["detail"] for r in results]
    assert details[0] == "cpm holds no device 'NIC-9' of the head-end system 'ECOBEE-HE'"
    assert details[3] == (
        f"device {enrolled['wh']['devices']['NIC-4']} is on no Active subscription of the program"
    )
    assert "is not after reservationStartDateTime" in details[4]
    assert "is outside the program event's window 2026-07-17T22:00:00+00:00 to" in details[5]
    assert "is outside the program event's window" in details[6]
    assert details[7] == "reservationStartDateTime '2026-07-17T15:30:00' has no UTC offset"
    assert details[8] == "reservationEndDateTime 'tomorrow' is not an ISO-8601 date-time"
    assert details[10] == details[11] == "the device is named twice in the call"
    assert [bool(r["participationId"]) for r in results] == [False] * 9 + [True, False, False]
    assert [i["nicId"] for i in listed(world, event_id(world))["items"]] == ["NIC-1"]


def test_a_redelivered_collection_answers_exists_with_the_same_participations(
    world: Cpm, enrolled: dict[str, dict[str, Any]]
):
    body = reservation(device("NIC-1"), device("NIC-9"), device("NIC-2"))
    first = reserve(world, body)
    before = listed(world, event_id(world))
    world.clock.advance(minutes=10)
    # The device left the program since, and the window differs: it exists all the same.
    ended = world.post(f"/enrollments/{enrolled['byot']['id']}/unenroll", {"reason": "moved"})
    assert ended.status_code == 200, ended.text
    again = reserve(world, reservation(
        device("NIC-2", reservationStartDateTime="2026-07-17T16:00:00-07:00"), device("NIC-9"),
        device("NIC-1"),
    ))  # fmt: skip
    assert outcomes(again) == [
        ("NIC-2", "Exists", ""), ("NIC-9", "Rejected", "CPM-DEVICE-UNKNOWN"),
        ("NIC-1", "Exists", ""),
    ]  # fmt: skip
    ids = {r["nicId"]: r["participationId"] for r in first}
    assert [r["participationId"] for r in again] == [ids["NIC-2"], "", ids["NIC-1"]]
    assert listed(world, event_id(world)) == before
    assert count_participations(world) == 2


def test_one_device_takes_one_participation_in_each_program_event(
    world: Cpm, enrolled: dict[str, dict[str, Any]]
):
    world.post("/program-events", stage("SG-2", START + timedelta(hours=2)), client="hub")
    first = reserve(world, reservation(device("NIC-1")))
    second = reserve(world, reservation(device("NIC-1"), stage_id="SG-2"))
    assert outcomes(first) == outcomes(second) == [("NIC-1", "Reserved", "")]
    assert first[0]["participationId"] != second[0]["participationId"]


def test_a_stage_cpm_does_not_hold_is_unknown_by_the_code_the_hub_reacts_to(world: Cpm):
    answer = world.post("/program-events/reservations", reservation(device("NIC-1"),
                        stage_id="SG-9"), client="hub")  # fmt: skip
    assert refusal(answer) == (404, "CPM-PROGRAM-EVENT-UNKNOWN")
    assert "no program event for the stage 'SG-9'" in answer.text


def test_a_reservation_naming_another_derms_event_is_invalid(
    world: Cpm, enrolled: dict[str, dict[str, Any]]
):
    answer = world.post("/program-events/reservations",
                        reservation(device("NIC-1"), eventExternalIdentifier="EV-2"),
                        client="hub")  # fmt: skip
    assert refusal(answer) == (422, "CPM-PROGRAM-EVENT-INVALID")
    assert "program event SG-1 belongs to the event EV-1, not EV-2" in answer.text
    assert count_participations(world) == 0


def test_a_complete_or_canceled_program_event_takes_no_reservations_an_under_way_one_does(
    world: Cpm, enrolled: dict[str, dict[str, Any]]
):
    for stage_id in ("SG-2", "SG-3", "SG-4"):
        world.post("/program-events", stage(stage_id), client="hub")
    for stage_id, action, extra in (("SG-2", "F1CO", {}), ("SG-3", "F1CN", {"cancelReason": "x"}),
                                    ("SG-4", "X1IP", {})):  # fmt: skip
        moved = world.post("/program-events/lifecycle", {
            "action": action, "eventExternalIdentifier": "EV-1", "externalIdentifier": stage_id,
            **extra}, client="hub")  # fmt: skip
        assert moved.status_code == 200, moved.text
    for stage_id, state in (("SG-2", "Complete"), ("SG-3", "Canceled")):
        body = reservation(device("NIC-1"), stage_id=stage_id)
        answer = world.post("/program-events/reservations", body, client="hub")
        assert refusal(answer) == (409, "CPM-PROGRAM-EVENT-STATE")
        assert f"program event {stage_id} is {state}: it takes no reservations" in answer.text
    assert outcomes(reserve(world, reservation(device("NIC-1"), stage_id="SG-4"))) == [
        ("NIC-1", "Reserved", "")
    ]
    assert count_participations(world) == 1


def test_a_body_that_is_not_a_reservation_is_refused_field_by_field(
    world: Cpm, enrolled: dict[str, dict[str, Any]]
):
    def fields(body: dict[str, Any]) -> set[str]:
        answer = world.post("/program-events/reservations", body, client="hub")
        assert refusal(answer) == (422, None)
        return {e["field"] for e in answer.json()["errors"]}

    assert fields(reservation()) == {"deviceList"}
    assert fields(reservation(*[device(f"N-{n}") for n in range(5001)])) == {"deviceList"}
    assert fields(reservation(device("N", "H" * 51), device("N" * 101), {"nicId": "N"},
                              device(" "))) == {
        "deviceList[0].headEndSystem", "deviceList[1].nicId", "deviceList[2].headEndSystem",
        "deviceList[3].nicId",
    }  # fmt: skip
    missing = reservation(device("NIC-1"))
    del missing["externalIdentifier"]
    assert fields(missing) == {"externalIdentifier"}
    assert count_participations(world) == 0
    # A field Oracle's shape does not name is ignored; the event's window is DERMS's, not read.
    body = reservation(device("NIC-1", recordId=7), drmsInstanceId="DERMS-1",
                       eventStartDateTime="2026-07-17T15:00:00-07:00",
                       eventEndDateTime="not read")  # fmt: skip
    assert outcomes(reserve(world, body)) == [("NIC-1", "Reserved", "")]


def test_only_a_client_holding_cpm_sync_reserves(world: Cpm, enrolled: dict[str, dict[str, Any]]):
    refused = world.post("/program-events/reservations", reservation(device("NIC-1")),
                         client="viewer")  # fmt: skip
    assert refusal(refused) == (403, "DL-FORBIDDEN")
    assert count_participations(world) == 0
    assert outcomes(reserve(world, reservation(device("NIC-1")), client="operator")) == [
        ("NIC-1", "Reserved", "")
    ]
    pe_id = event_id(world)
    assert [i["nicId"] for i in listed(world, pe_id)["items"]] == ["NIC-1"]  # as viewer
    assert history(world, nicId="NIC-1")["items"][0]["programEventId"] == pe_id


# -- at the same time -----------------------------------------------------------------------


def test_concurrent_deliveries_of_a_collection_give_each_device_one_participation(
    world: Cpm, enrolled: dict[str, dict[str, Any]]
):
    db, clock = world.part.db, world.clock
    # Each delivery names the devices in another order, with one device only it names.
    keys = ["NIC-1", "NIC-2", "NIC-9"]

    def deliver(n: int) -> list[p.Reservation]:
        named = keys[n % 3 :] + keys[: n % 3]
        return participation_service.reserve_devices(
            db=db, clock=clock, external_identifier="SG-1", event_external_identifier="EV-1",
            devices=[p.RequestedDevice(HE, nic) for nic in named],
        )  # fmt: skip

    with ThreadPoolExecutor(THREADS) as pool:
        done = list(pool.map(deliver, range(THREADS)))
    by_nic: dict[str, list[tuple[str, str]]] = {}
    for results in done:
        for r in results:
            by_nic.setdefault(r.nic_id, []).append((r.outcome.value, r.participation_id))
    for nic in ("NIC-1", "NIC-2"):
        answers = sorted(by_nic[nic])
        assert [o for o, _ in answers] == ["Exists"] * (THREADS - 1) + ["Reserved"], nic
        assert len({i for _, i in answers}) == 1, nic  # every delivery names the same one
    assert {o for o, _ in by_nic["NIC-9"]} == {"Rejected"}
    assert count_participations(world) == 2


# -- a program event's participations -------------------------------------------------------


def _seven(world: Cpm) -> dict[str, Any]:
    """Seven devices of BYOT reserved on SG-1 (five of ECOBEE-HE, two of A-HE), NIC-06 of
    ECOBEE-HE from 16:00."""
    ecobee = enroll(world, "REQ-7", [f"NIC-0{n}" for n in range(1, 6)])
    other = [world.asset(f"NIC-0{n}", sequence=n, headEndSystem="A-HE") for n in (6, 7)]
    created = world.active_enrollment("REQ-8", assets=other, account="A2", service_point="SP2")
    results = reserve(world, reservation(
        *[device(f"NIC-0{n}") for n in (5, 3, 1, 4, 2)],
        device("NIC-06", "A-HE", reservationStartDateTime="2026-07-17T16:00:00-07:00"),
        device("NIC-07", "A-HE"),
    ))  # fmt: skip
    assert {r["outcome"] for r in results} == {"Reserved"}
    return {"ecobee": ecobee, "other": created["enrollmentId"],
            "ids": {r["nicId"]: r["participationId"] for r in results}}  # fmt: skip


def test_a_program_event_s_participations_page_in_device_key_order(world: Cpm):
    made = _seven(world)
    pe_id = event_id(world)
    seen: list[tuple[str, str]] = []
    after = None
    for _ in range(4):
        page = listed(world, pe_id, limit=3, **({"after": after} if after else {}))
        seen += [(i["headEndSystem"], i["nicId"]) for i in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert seen == [("A-HE", "NIC-06"), ("A-HE", "NIC-07")] + [
        (HE, f"NIC-0{n}") for n in range(1, 6)
    ]
    assert after is None
    assert listed(world, pe_id, limit=7)["next"] is None
    assert listed(world, pe_id, limit=6)["next"] == made["ids"]["NIC-04"]


def test_a_program_event_s_participations_narrow_by_state_nic_and_device(world: Cpm):
    made = _seven(world)
    pe_id = event_id(world)

    def nics(**params: Any) -> list[str]:
        return [i["nicId"] for i in listed(world, pe_id, **params)["items"]]

    assert nics(nicId="NIC-03") == ["NIC-03"]
    assert nics(deviceId=made["ecobee"]["devices"]["NIC-02"]) == ["NIC-02"]
    assert len(nics(state="Reserved")) == 7
    assert nics(state="Settled") == []
    assert nics(nicId="NIC-03", deviceId=made["ecobee"]["devices"]["NIC-02"]) == []
    bad = world.get(f"/program-events/{pe_id}/participations", state="Done")
    assert [e["field"] for e in bad.json()["errors"]] == ["query.state"]
    for limit in (0, 1001):
        assert world.get(f"/program-events/{pe_id}/participations", limit=limit).status_code == 422


def test_the_participations_of_a_program_event_cpm_does_not_hold_are_unknown(world: Cpm):
    answer = world.get("/program-events/PE-NOPE/participations")
    assert refusal(answer) == (404, "CPM-PROGRAM-EVENT-UNKNOWN")


def test_a_program_event_counts_its_participations_by_state(world: Cpm):
    pe_id = event_id(world)
    assert world.get(f"/program-events/{pe_id}").json()["participations"] == {}
    _seven(world)
    assert world.get(f"/program-events/{pe_id}").json()["participations"] == {"Reserved": 7}


# -- a device's event history ---------------------------------------------------------------


def _two_events(world: Cpm, enrolled: dict[str, dict[str, Any]]) -> dict[str, str]:
    """NIC-1 reserved on SG-1 (15:00) and SG-2 (a day later, X1DT, In Progress); NIC-2 on SG-1."""
    world.post("/program-events", stage("SG-2", START + timedelta(days=1),
                                        programEventCategory="X1DT"), client="hub")  # fmt: skip
    started = {"action": "X1IP", "eventExternalIdentifier": "EV-1", "externalIdentifier": "SG-2"}
    world.post("/program-events/lifecycle", started, client="hub")
    one = reserve(world, reservation(device("NIC-1"), device("NIC-2")))
    two = reserve(world, reservation(device("NIC-1"), stage_id="SG-2"))
    return {"SG-1": one[0]["participationId"], "SG-1/NIC-2": one[1]["participationId"],
            "SG-2": two[0]["participationId"]}  # fmt: skip


def test_a_device_s_event_history_lists_the_newest_reservation_first(
    world: Cpm, enrolled: dict[str, dict[str, Any]]
):
    ids = _two_events(world, enrolled)
    nic_1 = enrolled["byot"]["devices"]["NIC-1"]
    items = history(world, deviceId=nic_1)["items"]
    assert [i["id"] for i in items] == [ids["SG-2"], ids["SG-1"]]
    assert [
        (i["externalIdentifier"], i["programEventState"], i["programEventCategory"]) for i in items
    ] == [("SG-2", "In Progress", "X1DT"), ("SG-1", "Scheduled", "X1EM")]
    assert items[0]["reservationStartDateTime"] == "2026-07-18T22:00:00+00:00"
    by_nic = history(world, nicId="NIC-1", headEndSystem=HE)["items"]
    assert [i["id"] for i in by_nic] == [ids["SG-2"], ids["SG-1"]]
    assert history(world, nicId="NIC-1", headEndSystem="OTHER-HE")["items"] == []
    assert [i["id"] for i in history(world, nicId="NIC-1")["items"]] == [ids["SG-2"], ids["SG-1"]]
    by_subscription = history(world, subscriptionId=enrolled["byot"]["id"])["items"]
    # Two reservations at the same start: the later id first.
    same_start = sorted([ids["SG-1"], ids["SG-1/NIC-2"]], reverse=True)
    assert [i["id"] for i in by_subscription] == [ids["SG-2"], *same_start]
    assert history(world, deviceId=nic_1, state="Reserved")["items"] == items
    assert history(world, deviceId=nic_1, state="Released")["items"] == []
    assert history(world, deviceId="D-NOPE")["items"] == []


def test_a_device_s_event_history_pages(world: Cpm, enrolled: dict[str, dict[str, Any]]):
    ids = _two_events(world, enrolled)
    subscription = enrolled["byot"]["id"]
    first = history(world, subscriptionId=subscription, limit=1)
    second = history(world, subscriptionId=subscription, limit=1, after=first["next"])
    third = history(world, subscriptionId=subscription, limit=1, after=second["next"])
    seen = [page["items"][0]["id"] for page in (first, second, third)]
    assert seen == [ids["SG-2"], *sorted([ids["SG-1"], ids["SG-1/NIC-2"]], reverse=True)]
    assert third["next"] is None
    assert history(world, subscriptionId=subscription, after="EP-NOPE") == {
        "items": [], "next": None,
    }  # fmt: skip


def test_a_device_s_event_history_needs_the_device_named(world: Cpm):
    for params in ({}, {"headEndSystem": HE}, {"state": "Reserved"}, {"deviceId": "  "}):
        answer = world.get("/participations", **params)
        assert refusal(answer) == (422, None), params
        assert answer.json()["errors"][0]["field"] == "query.deviceId"
        assert (
            "name the device: deviceId, nicId (with headEndSystem) or subscriptionId"
            in (answer.json()["detail"])
        )


# -- the schema -----------------------------------------------------------------------------


def test_a_database_at_revision_0007_gains_the_event_participations(fresh_url: str) -> None:
    engine = make_engine(fresh_url, schema=None if fresh_url.startswith("sqlite") else "cpm")
    try:
        at_revision(engine, SCHEMA, "0007")
        with engine.begin() as conn:  # as revision 0007 left it
            event_participations.drop(conn)
        assert upgrade(engine, SCHEMA, "0008").ran == ("0008",)
        inspector = sa.inspect(engine)
        assert "event_participations" in inspector.get_table_names()
        assert {program_events.name, program_event_history.name} <= set(inspector.get_table_names())
        unique = inspector.get_unique_constraints("event_participations")
        assert [u["column_names"] for u in unique] == [
            ["program_event_id", "head_end_system", "nic_id"]
        ]
    finally:
        engine.dispose()


# -- the CLI --------------------------------------------------------------------------------


def test_the_cli_lists_a_program_event_s_participations_and_a_device_s_history(
    world: Cpm, enrolled: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    ids = _two_events(world, enrolled)
    pe_id = event_id(world)
    nic_1 = enrolled["byot"]["devices"]["NIC-1"]
    subscription = enrolled["byot"]["id"]
    home = world.cli_home(tmp_path)
    env = {"DERLINK_HOME": str(home), "DERLINK_TIME_ZONE": "America/Los_Angeles"}
    runner = CliRunner()

    def run(*args: str, columns: str = "200") -> Any:
        return runner.invoke(cli, ["cpm", *args, "--url", url], env={**env, "COLUMNS": columns})

    with serve(world.part.app) as url:
        listed_ = run("program-events", "participations", pe_id, "--limit", "1")
        narrow = run("program-events", "participations", pe_id, "--limit", "1", columns="100")
        following = run("program-events", "participations", pe_id, "--after",
                        listed_.output.split("'")[1])  # fmt: skip
        by_nic = run("program-events", "participations", pe_id, "--nic", "NIC-2", "--json")
        by_device = run("program-events", "participations", pe_id, "--device", nic_1, "--json")
        none = run("program-events", "participations", pe_id, "--state", "Settled")
        unknown = run("program-events", "participations", "PE-NOPE")
        device_history = run("participations", "--device", nic_1)
        nic_history = run("participations", "--nic", "NIC-1", "--head-end", HE, "--json")
        subscription_history = run("participations", "--subscription", subscription, "--json")
        nothing = run("participations", "--device", "D-NOPE")
        unnamed = run("participations")
    assert listed_.exit_code == 0, listed_.output
    assert ids["SG-1"] in listed_.output and ids["SG-1/NIC-2"] not in listed_.output
    assert nic_1 in listed_.output
    assert "2026-07-17 15:00 PDT" in listed_.output and "Reserved" in listed_.output
    for whole in (ids["SG-1"], "NIC-1", nic_1):  # whole at 100 columns too
        assert whole in narrow.output, whole
    assert "more: --after '" in listed_.output
    assert ids["SG-1/NIC-2"] in following.output and "more:" not in following.output
    assert [i["id"] for i in json.loads(by_nic.output)["items"]] == [ids["SG-1/NIC-2"]]
    assert [i["id"] for i in json.loads(by_device.output)["items"]] == [ids["SG-1"]]
    assert none.output.strip() == "no participations"
    assert unknown.exit_code == 1
    assert "404: no program event 'PE-NOPE'" in str(unknown.exception)
    assert device_history.exit_code == 0, device_history.output
    out = device_history.output
    assert out.index(ids["SG-2"]) < out.index(ids["SG-1"])  # the newest reservation first
    for words in ("SG-2", "In Progress", "X1DT", "2026-07-18 15:00 PDT", "EV-1"):
        assert words in out, words
    assert [i["id"] for i in json.loads(nic_history.output)["items"]] == [ids["SG-2"], ids["SG-1"]]
    assert len(json.loads(subscription_history.output)["items"]) == 3
    assert nothing.output.strip() == "no participations"
    assert unnamed.exit_code == 1
    assert "name the device: --device, --nic (with --head-end) or --subscription" in str(
        unnamed.exception
    )
