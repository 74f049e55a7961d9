"""Enroll, unenroll, add and replace devices over HTTP, with their codes and outbox messages."""

from __future__ import annotations

from typing import Any

import pytest
from cpm_harness import Cpm


def test_an_enrollment_is_created_pending_with_its_sync_request_and_message(seeded: Cpm) -> None:
    created = seeded.enroll()
    assert created["status"] == "Pending"
    enrollment = seeded.enrollment(created["enrollmentId"])
    assert enrollment["status"] == "Pending"
    assert enrollment["version"] == 1
    assert [(d["headEndSystem"], d["nicId"], d["status"]) for d in enrollment["devices"]] == [
        ("ECOBEE-HE", "NIC-1", "ACTIVE")
    ]
    [sync] = enrollment["syncRequests"]
    assert (sync["syncRequestId"], sync["syncType"], sync["state"]) == (
        created["syncRequestId"], "ENROLL", "Pending",
    )  # fmt: skip
    [message] = seeded.outbox_messages()
    assert message["dacsMessageId"] == created["syncRequestId"]
    assert message["syncType"] == "ENROLL"
    info = message["subscriptionInfo"]
    assert (info["subscriptionId"], info["status"], info["version"], info["programCode"]) == (
        created["enrollmentId"], "ACTIVE", 1, "BYOT",
    )  # fmt: skip
    assert info["startDateTimeISO"] == "2026-06-01T00:00:00-07:00"
    assert message["contactInfo"]["cisPersonId"] == "P1"
    location = message["locationInfo"]
    assert (location["cisServicePointId"], location["cisPremiseId"], location["division"]) == (
        "SP1", "PR1", "CA",
    )  # fmt: skip
    assert location["controllableDevices"][0]["deviceId"] == enrollment["devices"][0]["deviceId"]
    assert seeded.history(created["syncRequestId"]) == [(None, "Pending", "operator")]


def test_the_same_message_id_again_answers_409_10589_with_the_enrollment_id(seeded: Cpm) -> None:
    created = seeded.enroll()
    again = seeded.post("/enrollments", seeded.request())
    assert again.status_code == 409
    problem = again.json()
    assert (problem["code"], problem["messageNumber"], problem["enrollmentId"]) == (
        "10589", 10589, created["enrollmentId"],
    )  # fmt: skip
    assert len(seeded.outbox_messages()) == 1


@pytest.mark.parametrize(
    ("code", "request_changes"),
    [
        ("CPM-PROGRAM-UNKNOWN", {"program": "NOPE"}),
        ("CPM-PROGRAM-INACTIVE", {"program": "OLD"}),
        ("CPM-ACCOUNT-UNKNOWN", {"account": "A9"}),
        ("CPM-SP-UNKNOWN", {"service_point": "SP9"}),
        ("CPM-SP-NOT-ON-ACCOUNT", {"service_point": "SP2"}),
        ("CPM-SPEC-INELIGIBLE", {"assets": [{"spec": "NEST-T"}]}),
        ("CPM-SPEC-MISSING", {"assets": [{"spec": ""}]}),
        ("CPM-NO-DEVICES", {"assets": []}),
    ],
)
def test_a_request_breaking_a_rule_answers_422_with_its_code_and_changes_nothing(
    seeded: Cpm, code: str, request_changes: dict[str, Any]
) -> None:
    if "assets" in request_changes:
        request_changes["assets"] = [seeded.asset(**a) for a in request_changes["assets"]]
    answer = seeded.post("/enrollments", seeded.request(**request_changes))
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == code
    assert seeded.outbox_messages() == []
    assert seeded.get("/reconciliation/subscriptions").json()["items"] == []


def test_a_second_open_enrollment_at_the_same_place_answers_its_code(seeded: Cpm) -> None:
    seeded.enroll("REQ-1")
    answer = seeded.post("/enrollments", seeded.request("REQ-2", assets=[seeded.asset("NIC-2")]))
    assert (answer.status_code, answer.json()["code"]) == (422, "CPM-DUPLICATE-ENROLLMENT")


def test_a_device_on_another_open_subscription_answers_its_code(seeded: Cpm) -> None:
    seeded.enroll("REQ-1")
    answer = seeded.post("/enrollments", seeded.request("REQ-2", account="A2", service_point="SP2"))
    assert (answer.status_code, answer.json()["code"]) == (422, "CPM-DEVICE-IN-USE")


def test_a_device_freed_by_an_unenrollment_is_reused_by_the_next_enrollment(seeded: Cpm) -> None:
    first = seeded.active_enrollment("REQ-1")
    ended = seeded.post(f"/enrollments/{first['enrollmentId']}/unenroll", {"reason": "moved"})
    assert seeded.ack(ended.json()["syncRequestId"])["outcome"] == "Synchronized"
    second = seeded.enroll("REQ-2", account="A2", service_point="SP2")
    old_device = seeded.enrollment(first["enrollmentId"])["devices"][0]["deviceId"]
    new_device = seeded.enrollment(second["enrollmentId"])["devices"][0]["deviceId"]
    assert new_device == old_device


def test_changes_to_an_enrollment_that_is_not_active_answer_409(seeded: Cpm) -> None:
    pending = seeded.enroll()["enrollmentId"]
    for path, body in [
        (f"/enrollments/{pending}/unenroll", {"reason": "x"}),
        (f"/enrollments/{pending}/devices", {"asset": seeded.asset("NIC-2")}),
        (f"/enrollments/{pending}/devices/D-1/replace", {"asset": seeded.asset("NIC-2")}),
    ]:
        answer = seeded.post(path, body)
        assert (answer.status_code, answer.json()["code"]) == (409, "CPM-ENROLLMENT-NOT-ACTIVE")


def test_an_enrollment_being_unenrolled_takes_no_more_changes(seeded: Cpm) -> None:
    enrollment_id = seeded.active_enrollment()["enrollmentId"]
    assert seeded.post(f"/enrollments/{enrollment_id}/unenroll").status_code == 200
    answer = seeded.post(f"/enrollments/{enrollment_id}/unenroll")
    assert (answer.status_code, answer.json()["code"]) == (409, "CPM-ENROLLMENT-NOT-ACTIVE")


def test_changes_to_an_unknown_enrollment_answer_404(seeded: Cpm) -> None:
    assert seeded.post("/enrollments/E-404/unenroll").status_code == 404
    assert seeded.get("/enrollments/E-404").status_code == 404


def test_unenrolling_tells_derms_inactive_and_the_ack_ends_the_subscription(seeded: Cpm) -> None:
    enrollment_id = seeded.active_enrollment()["enrollmentId"]
    answer = seeded.post(
        f"/enrollments/{enrollment_id}/unenroll",
        {"reason": "moved out", "endDateTimeISO": "2026-08-31T23:59:59-07:00"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "Active"
    message = seeded.outbox_messages()[-1]
    assert message["syncType"] == "UNENROLL"
    info = message["subscriptionInfo"]
    # Version 1 at enrollment, 2 when the ack activated it, 3 now.
    assert (info["status"], info["endDateTimeISO"], info["version"]) == (
        "INACTIVE", "2026-08-31T23:59:59-07:00", 3,
    )  # fmt: skip
    assert seeded.enrollment(enrollment_id)["status"] == "Active"
    seeded.ack(answer.json()["syncRequestId"])
    assert seeded.enrollment(enrollment_id)["status"] == "Inactive"


def test_adding_a_device_sends_the_whole_device_list_with_a_new_version(seeded: Cpm) -> None:
    enrollment_id = seeded.active_enrollment()["enrollmentId"]
    answer = seeded.post(f"/enrollments/{enrollment_id}/devices", {"asset": seeded.asset("NIC-2")})
    assert answer.status_code == 201, answer.text
    added = answer.json()
    message = seeded.outbox_messages()[-1]
    assert (message["dacsMessageId"], message["syncType"]) == (
        added["syncRequestId"], "ADD_DEVICE",
    )  # fmt: skip
    assert message["subscriptionInfo"]["version"] == 3
    devices = message["locationInfo"]["controllableDevices"]
    assert [(d["nicId"], d["status"]) for d in devices] == [
        ("NIC-1", "ACTIVE"),
        ("NIC-2", "ACTIVE"),
    ]
    assert devices[1]["deviceId"] == added["deviceId"]


def test_adding_a_device_checks_it_like_an_enrollment_does(seeded: Cpm) -> None:
    enrollment_id = seeded.active_enrollment()["enrollmentId"]
    for spec_asset, code in [
        (seeded.asset("NIC-2", spec="NEST-T"), "CPM-SPEC-INELIGIBLE"),
        (seeded.asset("NIC-1"), "CPM-DEVICE-IN-USE"),
    ]:
        answer = seeded.post(f"/enrollments/{enrollment_id}/devices", {"asset": spec_asset})
        assert (answer.status_code, answer.json()["code"]) == (422, code)


def test_replacing_a_device_removes_the_old_and_registers_as_derms_says(seeded: Cpm) -> None:
    enrollment_id = seeded.active_enrollment()["enrollmentId"]
    old_id = seeded.enrollment(enrollment_id)["devices"][0]["deviceId"]
    answer = seeded.post(
        f"/enrollments/{enrollment_id}/devices/{old_id}/replace", {"asset": seeded.asset("NIC-9")}
    )
    assert answer.status_code == 200, answer.text
    replaced = answer.json()
    message = seeded.outbox_messages()[-1]
    assert message["syncType"] == "DEVICE_REPLACEMENT"
    devices = message["locationInfo"]["controllableDevices"]
    assert [(d["deviceId"], d["status"]) for d in devices] == [
        (old_id, "REMOVED"), (replaced["deviceId"], "ACTIVE"),
    ]  # fmt: skip
    result = seeded.ack(
        replaced["syncRequestId"],
        deviceHeadendStatus=[
            {"deviceId": old_id, "headEndRegistration": "D1DR", "message": "deregistered"},
            {"deviceId": replaced["deviceId"], "headEndRegistration": "D1RE"},
        ],
    )
    assert result["outcome"] == "Synchronized"
    held = {d["deviceId"]: d for d in seeded.enrollment(enrollment_id)["devices"]}
    assert (held[old_id]["status"], held[old_id]["headEndRegistration"]) == (
        "REMOVED", "D1DR",
    )  # fmt: skip
    assert held[old_id]["headEndMessage"] == "deregistered"
    new = held[replaced["deviceId"]]
    assert (new["status"], new["headEndRegistration"], new["nicId"]) == ("ACTIVE", "D1RE", "NIC-9")
    reconciled = seeded.get("/reconciliation/subscriptions").json()["items"]
    assert reconciled[0]["devices"] == ["ECOBEE-HE!NIC-9"]


def test_replacing_a_device_the_enrollment_does_not_hold_answers_its_code(seeded: Cpm) -> None:
    enrollment_id = seeded.active_enrollment()["enrollmentId"]
    answer = seeded.post(
        f"/enrollments/{enrollment_id}/devices/D-other/replace", {"asset": seeded.asset("NIC-9")}
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "CPM-DEVICE-NOT-ON-ENROLLMENT")
    assert seeded.enrollment(enrollment_id)["devices"][0]["status"] == "ACTIVE"


def test_a_device_cannot_replace_itself(seeded: Cpm) -> None:
    enrollment_id = seeded.active_enrollment()["enrollmentId"]
    device_id = seeded.enrollment(enrollment_id)["devices"][0]["deviceId"]
    answer = seeded.post(
        f"/enrollments/{enrollment_id}/devices/{device_id}/replace", {"asset": seeded.asset()}
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "CPM-DEVICE-IN-USE")
    assert [d["status"] for d in seeded.enrollment(enrollment_id)["devices"]] == ["ACTIVE"]


def test_the_reconciliation_pages_through_every_subscription(seeded: Cpm) -> None:
    first = seeded.enroll("REQ-1")["enrollmentId"]
    second = seeded.enroll("REQ-2", account="A2", service_point="SP2",
                           assets=[seeded.asset("NIC-2")])["enrollmentId"]  # fmt: skip
    page = seeded.get("/reconciliation/subscriptions", limit=1).json()
    assert [i["subscriptionId"] for i in page["items"]] == [first]
    assert page["items"][0] == {
        "subscriptionId": first, "status": "Pending", "programCode": "BYOT",
        "cisServicePointId": "SP1", "devices": ["ECOBEE-HE!NIC-1"],
    }  # fmt: skip
    last = seeded.get("/reconciliation/subscriptions", limit=1, after=page["next"]).json()
    assert [i["subscriptionId"] for i in last["items"]] == [second]
    assert last["next"] is None
