"""Device status checks (DEV-STATUS): the outbound message and the responses."""

from __future__ import annotations

from cpm_harness import Cpm

from derlink.cpm.enrollment.service.status_checks import on_device_status_sent


def _device_id(cpm: Cpm) -> str:
    enrollment_id = cpm.active_enrollment()["enrollmentId"]
    return str(cpm.enrollment(enrollment_id)["devices"][0]["deviceId"])


def test_a_status_check_writes_the_oracle_message_to_the_outbox(seeded: Cpm) -> None:
    device_id = _device_id(seeded)
    answer = seeded.post(f"/devices/{device_id}/status-checks")
    assert answer.status_code == 202, answer.text
    check_id = answer.json()["dacsMessageId"]
    assert seeded.outbox_messages("DEV-STATUS") == [
        {"dacsMessageId": check_id,
         "deviceInfo": {"division": "CA", "deviceType": "THERMOSTAT",
                        "specification": "ECOBEE-ST", "headEndSystem": "ECOBEE-HE",
                        "nicId": "NIC-1"}},
    ]  # fmt: skip


def test_a_status_check_of_an_unknown_device_answers_404(seeded: Cpm) -> None:
    assert seeded.post("/devices/D-none/status-checks").status_code == 404


def test_responses_are_recorded_once_and_unknown_ones_rejected(seeded: Cpm) -> None:
    device_id = _device_id(seeded)
    check_id = seeded.post(f"/devices/{device_id}/status-checks").json()["dacsMessageId"]
    with seeded.part.db.begin() as conn:
        on_device_status_sent(seeded.clock)(conn, [check_id])
    body = {"responses": [
        {"transactionId": check_id, "status": "FAILURE", "message": "no answer from the NIC"},
        {"transactionId": check_id, "status": "SUCCESS"},
        {"transactionId": "DS-none", "status": "SUCCESS"},
    ]}  # fmt: skip
    answer = seeded.post("/device-status-responses", body, client="hub")
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"] == [
        {"transactionId": check_id, "outcome": "Recorded"},
        {"transactionId": check_id, "outcome": "Duplicate"},
        {"transactionId": "DS-none", "outcome": "Rejected", "code": "CPM-CHECK-UNKNOWN",
         "detail": "no device status check with dacsMessageId 'DS-none'"},
    ]  # fmt: skip


def test_a_status_other_than_success_or_failure_answers_422(seeded: Cpm) -> None:
    body = {"responses": [{"transactionId": "DS-1", "status": "MAYBE"}]}
    answer = seeded.post("/device-status-responses", body, client="hub")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "responses[0].status"
