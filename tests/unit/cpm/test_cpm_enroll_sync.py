"""The EnrollSync builder: a state transfer stamped with the subscription's version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from derlink.cpm.enrollment import model as m

PACIFIC = timezone(timedelta(hours=-7))
SUBSCRIPTION = m.SubscriptionSnapshot(
    subscription_id="E-1",
    version=3,
    cis_account_id="A1",
    contact_id="C-1",
    cis_person_id="P1",
    subscription_type="DR",
    program_id="PG-1",
    program_code="BYOT-SUMMER",
    start_at=datetime(2026, 6, 1, tzinfo=PACIFIC),
    end_at=None,
    division="CA",
    service_point_id="SPX-1",
    cis_premise_id="PR1",
    cis_service_point_id="SP1",
)
OLD = m.DeviceSnapshot(
    "D-1", "THERMOSTAT", "ECOBEE-ST", "ECOBEE", "SMARTTHERMOSTAT", "ECOBEE-HE", "NIC-1",
    "SN1", "", m.DeviceLinkStatus.REMOVED,
)  # fmt: skip
NEW = m.DeviceSnapshot(
    "D-2", "THERMOSTAT", "ECOBEE-ST", "ECOBEE", "SMARTTHERMOSTAT", "ECOBEE-HE", "NIC-2",
    "SN2", "B2", m.DeviceLinkStatus.ACTIVE,
)  # fmt: skip


def test_the_payload_has_the_contract_shape_with_the_version() -> None:
    payload = m.build_enroll_sync(
        sync_request_id="SR-1", sync_type=m.SyncType.DEVICE_REPLACEMENT,
        subscription=SUBSCRIPTION, devices=[OLD, NEW],
    )  # fmt: skip
    assert payload == {
        "dacsMessageId": "SR-1",
        "syncType": "DEVICE_REPLACEMENT",
        "contactInfo": {"contactId": "C-1", "cisPersonId": "P1"},
        "subscriptionInfo": {
            "subscriptionId": "E-1", "cisAccountId": "A1", "subscriptionType": "DR",
            "status": "ACTIVE", "programId": "PG-1", "programCode": "BYOT-SUMMER",
            "startDateTimeISO": "2026-06-01T00:00:00-07:00", "endDateTimeISO": None,
            "version": 3,
        },
        "locationInfo": {
            "division": "CA", "servicePointId": "SPX-1", "cisPremiseId": "PR1",
            "cisServicePointId": "SP1",
            "controllableDevices": [
                {"deviceId": "D-1", "deviceType": "THERMOSTAT", "specification": "ECOBEE-ST",
                 "make": "ECOBEE", "model": "SMARTTHERMOSTAT", "headEndSystem": "ECOBEE-HE",
                 "nicId": "NIC-1", "serialNo": "SN1", "badgeNo": "", "status": "REMOVED"},
                {"deviceId": "D-2", "deviceType": "THERMOSTAT", "specification": "ECOBEE-ST",
                 "make": "ECOBEE", "model": "SMARTTHERMOSTAT", "headEndSystem": "ECOBEE-HE",
                 "nicId": "NIC-2", "serialNo": "SN2", "badgeNo": "B2", "status": "ACTIVE"},
            ],
        },
    }  # fmt: skip


def test_an_unenrollment_carries_inactive_and_its_end() -> None:
    ended = m.SubscriptionSnapshot(
        **{**SUBSCRIPTION.__dict__, "end_at": datetime(2026, 9, 1, 12, tzinfo=UTC)}
    )
    payload = m.build_enroll_sync(
        sync_request_id="SR-2", sync_type=m.SyncType.UNENROLL, subscription=ended, devices=[NEW]
    )
    info = payload["subscriptionInfo"]
    assert (info["status"], info["endDateTimeISO"]) == ("INACTIVE", "2026-09-01T12:00:00+00:00")


@pytest.mark.parametrize(
    "sync_type", [m.SyncType.ENROLL, m.SyncType.ADD_DEVICE, m.SyncType.DEVICE_REPLACEMENT]
)
def test_every_other_sync_carries_active(sync_type: m.SyncType) -> None:
    payload = m.build_enroll_sync(
        sync_request_id="SR-3", sync_type=sync_type, subscription=SUBSCRIPTION, devices=[NEW]
    )
    assert payload["subscriptionInfo"]["status"] == "ACTIVE"
    assert payload["syncType"] == sync_type.value


def test_a_naive_start_is_refused_rather_than_guessed() -> None:
    naive = m.SubscriptionSnapshot(**{**SUBSCRIPTION.__dict__, "start_at": datetime(2026, 6, 1)})
    with pytest.raises(ValueError, match="naive"):
        m.build_enroll_sync(
            sync_request_id="SR-4", sync_type=m.SyncType.ENROLL, subscription=naive, devices=[]
        )


def test_the_device_status_check_message_has_the_oracle_shape() -> None:
    payload = m.device_status_check_payload(
        dacs_message_id="DS-1", division="CA", device_type="THERMOSTAT",
        specification="ECOBEE-ST", head_end_system="ECOBEE-HE", nic_id="NIC-1",
    )  # fmt: skip
    assert payload == {
        "dacsMessageId": "DS-1",
        "deviceInfo": {"division": "CA", "deviceType": "THERMOSTAT",
                       "specification": "ECOBEE-ST", "headEndSystem": "ECOBEE-HE",
                       "nicId": "NIC-1"},
    }  # fmt: skip
