"""What derms answers: the MsgAck of a sync, a device status check, an enrollment request's ack."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from derlink.contracts.acks import HeadEndRegistration
from derlink.derms.registry.model import (
    CheckStatus,
    Device,
    DeviceStatus,
    EnrollSync,
    OriginationStatus,
    Rejection,
    Subscription,
    SubscriptionStatus,
    SyncResult,
    SyncType,
    check_device_status,
    is_final,
    msg_ack,
    request_outcome,
)

AT = datetime(2026, 6, 1, 12, 30, 5, 123456, tzinfo=UTC)
SYNC = EnrollSync(
    dacs_message_id="SR-1",
    sync_type=SyncType.ENROLL,
    subscription_id="E-1",
    status=SubscriptionStatus.ACTIVE,
    version=1,
)


def test_a_successful_sync_is_acked_with_one_response_per_device() -> None:
    result = SyncResult(
        sync=SYNC,
        registrations=(
            ("D-1", HeadEndRegistration.REGISTERED),
            ("D-2", HeadEndRegistration.NOT_REGISTERED),
        ),
    )

    ack = msg_ack(result, at=AT)

    when = "2026-06-01T12:30:05.123Z"
    assert ack == {
        "ackType": "SUCCESS",
        "whenISO": when,
        "dacsMessageId": "SR-1",
        "responses": [
            {
                "id": "D-1",
                "value": "D1RE",
                "responseCode": "SUCCESS",
                "responseTimeISO": when,
                "dacsMessageId": "SR-1",
            },
            {
                "id": "D-2",
                "value": "D1NR",
                "responseCode": "SUCCESS",
                "responseTimeISO": when,
                "dacsMessageId": "SR-1",
            },
        ],
    }


def test_a_failed_sync_is_acked_error_with_one_response_naming_the_subscription_and_code() -> None:
    result = SyncResult(
        sync=SYNC,
        registrations=(("D-1", HeadEndRegistration.NOT_REGISTERED),),
        rejection=Rejection("DERMS-DEVICE-CONFLICT", "device HE!N is registered to E-9"),
    )

    ack = msg_ack(result, at=AT)

    assert ack["ackType"] == "ERROR"
    assert ack["responses"][-1] == {
        "id": "E-1",
        "value": "device HE!N is registered to E-9",
        "responseCode": "DERMS-DEVICE-CONFLICT",
        "responseTimeISO": "2026-06-01T12:30:05.123Z",
        "dacsMessageId": "SR-1",
    }
    assert ack["responses"][0]["responseCode"] == "SUCCESS"


def test_ack_timestamps_are_utc_with_milliseconds_and_a_z() -> None:
    pacific = timezone(timedelta(hours=-7))
    at = datetime(2026, 6, 1, 5, 0, 0, tzinfo=pacific)

    ack = msg_ack(
        SyncResult(sync=SYNC, registrations=(("D-1", HeadEndRegistration.REGISTERED),)), at=at
    )

    assert ack["whenISO"] == "2026-06-01T12:00:00.000Z"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ack["responses"][0]["responseTimeISO"]
    )


def test_an_ack_needs_a_timezone_aware_moment() -> None:
    with pytest.raises(ValueError, match="naive"):
        msg_ack(SyncResult(sync=SYNC, registrations=()), at=datetime(2026, 6, 1))


ENTRY = Subscription(subscription_id="E-1", status=SubscriptionStatus.ACTIVE, version=1)
KEY = ("ECOBEE-HE", "NIC-1")


def on_registry(
    *,
    status: DeviceStatus = DeviceStatus.ACTIVE,
    registration: HeadEndRegistration = HeadEndRegistration.REGISTERED,
) -> Device:
    return Device(
        head_end_system="ECOBEE-HE",
        nic_id="NIC-1",
        device_id="D-1",
        subscription_id="E-1",
        status=status,
        registration=registration,
    )


def test_a_device_registered_on_an_active_subscription_passes_the_status_check() -> None:
    answer = check_device_status(KEY, device=on_registry(), subscription=ENTRY)

    assert answer.status is CheckStatus.SUCCESS
    assert "E-1" in answer.message


@pytest.mark.parametrize(
    ("device", "subscription", "why"),
    [
        (None, None, "not in the registry"),
        (on_registry(registration=HeadEndRegistration.NOT_REGISTERED), ENTRY, "not registered"),
        (
            on_registry(status=DeviceStatus.REMOVED, registration=HeadEndRegistration.DEREGISTERED),
            ENTRY,
            "removed",
        ),
        (
            on_registry(),
            Subscription(subscription_id="E-1", status=SubscriptionStatus.INACTIVE, version=2),
            "not active",
        ),
    ],
)
def test_any_other_device_fails_the_status_check_with_a_reason(
    device: Device | None, subscription: Subscription | None, why: str
) -> None:
    answer = check_device_status(KEY, device=device, subscription=subscription)

    assert answer.status is CheckStatus.FAILURE
    assert why in answer.message
    assert "ECOBEE-HE!NIC-1" in answer.message


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("SUCCESS", OriginationStatus.ACCEPTED),
        ("10589", OriginationStatus.ACCEPTED),
        ("CPM-PROGRAM-UNKNOWN", OriginationStatus.REJECTED),
    ],
)
def test_an_enrollment_request_ack_accepts_success_and_already_exists(
    code: str, status: OriginationStatus
) -> None:
    assert request_outcome(code) is status


def test_only_accepted_and_rejected_requests_are_final() -> None:
    assert [s for s in OriginationStatus if is_final(s)] == [
        OriginationStatus.ACCEPTED,
        OriginationStatus.REJECTED,
    ]
