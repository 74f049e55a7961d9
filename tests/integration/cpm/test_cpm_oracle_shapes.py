"""Oracle's published shapes in cpm: every field of the enrollment request taken, unknown ones
ignored and reported; acknowledgements checked against the sync request they name."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from cpm_harness import Cpm, enrollment_request

from derlink.cpm.enrollment import api as enrollment_api


def _oracle_request(message_id: str = "REQ-1", **program: Any) -> dict[str, Any]:
    """The enrollment request with the fields of Oracle's mapping the contract example omits."""
    body = enrollment_request(message_id)
    body["drmsInstanceId"] = "derms-1"
    body["programInfo"]["endDateTimeISO"] = "2026-10-01T00:00:00-07:00"
    body["programInfo"].update(program)
    return body


def test_an_enrollment_request_with_every_oracle_field_is_enrolled_and_keeps_them(
    seeded: Cpm,
) -> None:
    answer = seeded.post("/enrollments", _oracle_request(), client="hub")
    assert answer.status_code == 201, answer.text
    assert answer.json()["ignoredFields"] == []
    enrollment = seeded.enrollment(answer.json()["enrollmentId"])
    assert enrollment["drmsInstanceId"] == "derms-1"
    assert enrollment["endDateTimeISO"] == "2026-10-01T00:00:00-07:00"
    [message] = seeded.outbox_messages()
    assert message["subscriptionInfo"]["endDateTimeISO"] == "2026-10-01T00:00:00-07:00"


def test_an_end_that_is_not_after_the_start_answers_its_code(seeded: Cpm) -> None:
    body = _oracle_request(endDateTimeISO="2026-06-01T07:00:00+00:00")
    answer = seeded.post("/enrollments", body, client="hub")
    assert answer.status_code == 422
    assert answer.json()["code"] == "CPM-END-NOT-AFTER-START"
    assert seeded.outbox_messages() == []


def test_an_end_without_an_offset_answers_422_naming_it(seeded: Cpm) -> None:
    body = _oracle_request(endDateTimeISO="2026-10-01T00:00:00")
    answer = seeded.post("/enrollments", body, client="hub")
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["programInfo.endDateTimeISO"]


def test_unknown_fields_are_ignored_reported_and_logged_once_per_name(
    seeded: Cpm, caplog: pytest.LogCaptureFixture
) -> None:
    # A field name no other test sends: the log line is once per name and process.
    unknown = f"extra{uuid.uuid4().hex[:8]}"
    first = _oracle_request("REQ-1")
    first["customerInfo"][unknown] = "x"
    first["assetInfo"]["assetList"][0]["firmware"] = "1.2"
    second = enrollment_request("REQ-2", account="A2", service_point="SP2",
                                assets=[seeded.asset("NIC-2")])  # fmt: skip
    second["customerInfo"][unknown] = "y"

    with caplog.at_level(logging.WARNING, logger="derlink.cpm"):
        one = seeded.post("/enrollments", first, client="hub")
        many = seeded.post("/enrollments/collection", {"requests": [second]}, client="hub")

    assert one.status_code == 201, one.text
    assert sorted(one.json()["ignoredFields"]) == [
        "assetInfo.assetList.firmware",
        f"customerInfo.{unknown}",
    ]
    [result] = many.json()["results"]
    assert (result["outcome"], result["ignoredFields"]) == ("Created", [f"customerInfo.{unknown}"])
    lines = [r.getMessage() for r in caplog.records if unknown in r.getMessage()]
    assert len(lines) == 1
    assert f"customerInfo.{unknown}" in lines[0]


def test_past_a_number_of_names_no_more_are_logged(
    seeded: Cpm, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(enrollment_api, "_LOGGED_IGNORED", set())
    monkeypatch.setattr(enrollment_api, "_MOST_LOGGED", 2)
    body = _oracle_request()
    body.update({f"made{n}": n for n in range(5)})
    with caplog.at_level(logging.WARNING, logger="derlink.cpm"):
        answer = seeded.post("/enrollments", body, client="hub")
    assert answer.json()["ignoredFields"] == [f"made{n}" for n in range(5)]
    assert [r.getMessage().split(",")[0] for r in caplog.records] == [
        "enrollment requests carry made0",
        "enrollment requests carry made1",
        "enrollment requests carry more unknown fields: no more are logged",
    ]


def test_derlinks_own_device_api_stays_strict(seeded: Cpm) -> None:
    enrollment_id = seeded.active_enrollment()["enrollmentId"]
    asset = seeded.asset("NIC-9", firmware="1.2")
    answer = seeded.post(f"/enrollments/{enrollment_id}/devices", {"asset": asset})
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["asset.firmware"]


# -- acknowledgements ---------------------------------------------------------------------------


def test_update_and_transition_refuses_a_body_naming_another_sync_request(seeded: Cpm) -> None:
    sync_id = seeded.enroll()["syncRequestId"]
    other = seeded.enroll("REQ-2", account="A2", service_point="SP2",
                          assets=[seeded.asset("NIC-2")])["syncRequestId"]  # fmt: skip
    answer = seeded.post(
        f"/sync-requests/{sync_id}/update-and-transition",
        {"syncRequestId": other, "hasError": False},
        client="hub",
    )
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "syncRequestId"
    assert error["message"] == (
        f"the body names sync request {other!r}, the path {sync_id!r}: they must be the same"
    )
    assert (seeded.sync_state(sync_id), seeded.sync_state(other)) == ("Pending", "Pending")


@pytest.mark.parametrize("route", ["collection", "update-and-transition"])
def test_an_ack_naming_a_device_the_subscription_does_not_hold_is_rejected(
    seeded: Cpm, route: str
) -> None:
    created = seeded.enroll()
    sync_id = created["syncRequestId"]
    other = seeded.enroll("REQ-2", account="A2", service_point="SP2",
                          assets=[seeded.asset("NIC-2")])  # fmt: skip
    held = seeded.enrollment(created["enrollmentId"])["devices"][0]["deviceId"]
    foreign = seeded.enrollment(other["enrollmentId"])["devices"][0]["deviceId"]
    devices = [{"deviceId": d, "headEndRegistration": "D1RE"} for d in (held, foreign, "D-none")]
    ack = {"syncRequestId": sync_id, "hasError": False, "deviceHeadendStatus": devices}
    if route == "collection":
        answer = seeded.post("/sync-requests/acknowledgements", {"acknowledgements": [ack]},
                             client="hub")  # fmt: skip
        [result] = answer.json()["results"]
    else:
        answer = seeded.post(f"/sync-requests/{sync_id}/update-and-transition", ack, client="hub")
        result = answer.json()
    assert answer.status_code == 200, answer.text
    assert result == {
        "syncRequestId": sync_id,
        "outcome": "Rejected",
        "code": "CPM-DEVICE-NOT-ON-ENROLLMENT",
        "detail": f"enrollment {created['enrollmentId']} holds no device {foreign}, D-none",
    }
    assert seeded.sync_state(sync_id) == "Pending"
    enrollment = seeded.enrollment(created["enrollmentId"])
    assert enrollment["status"] == "Pending"
    assert enrollment["devices"][0]["headEndRegistration"] is None
    # A corrected ack settles it.
    ack["deviceHeadendStatus"] = ack["deviceHeadendStatus"][:1]
    assert seeded.ack(sync_id, **{k: v for k, v in ack.items() if k != "syncRequestId"}) == {
        "syncRequestId": sync_id,
        "outcome": "Synchronized",
    }


def test_a_status_answer_for_an_unknown_check_says_which(seeded: Cpm) -> None:
    body = {"responses": [{"transactionId": "DS-none", "status": "SUCCESS"}]}
    answer = seeded.post("/device-status-responses", body, client="hub")
    assert answer.json()["results"] == [
        {"transactionId": "DS-none", "outcome": "Rejected", "code": "CPM-CHECK-UNKNOWN",
         "detail": "no device status check with dacsMessageId 'DS-none'"},
    ]  # fmt: skip
