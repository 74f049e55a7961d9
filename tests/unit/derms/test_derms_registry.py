"""The registry rule: how an enrollment sync (a state transfer) changes derms's registry."""

from __future__ import annotations

import pytest

from derlink.contracts.acks import HeadEndRegistration
from derlink.derms.registry.model import (
    DEVICE_CONFLICT,
    INVALID_DEVICE,
    UNKNOWN_SUBSCRIPTION,
    Device,
    DeviceStatus,
    EnrollSync,
    RegistrySlice,
    SubscriptionStatus,
    SyncDevice,
    SyncType,
    apply_sync,
)

HEAD_ENDS = frozenset({"ECOBEE-HE", "NEST-HE"})
ACTIVE, INACTIVE = SubscriptionStatus.ACTIVE, SubscriptionStatus.INACTIVE
REMOVED = DeviceStatus.REMOVED


def device(
    nic: str, *, he: str = "ECOBEE-HE", status: DeviceStatus = DeviceStatus.ACTIVE
) -> SyncDevice:
    return SyncDevice(device_id=f"D-{nic}", head_end_system=he, nic_id=nic, status=status)


def sync(
    message: str,
    *devices: SyncDevice,
    subscription: str = "E-1",
    version: int = 1,
    status: SubscriptionStatus = ACTIVE,
    sync_type: SyncType = SyncType.ENROLL,
) -> EnrollSync:
    return EnrollSync(
        dacs_message_id=message,
        sync_type=sync_type,
        subscription_id=subscription,
        status=status,
        version=version,
        devices=devices,
        program_code="BYOT-SUMMER",
        cis_service_point_id="SP1",
    )


def registered(registry: RegistrySlice, nic: str, he: str = "ECOBEE-HE") -> Device:
    found = registry.device((he, nic))
    assert found is not None
    return found


def test_an_enrollment_registers_each_device_on_a_head_end_derms_serves() -> None:
    registry = RegistrySlice([], [])
    result = registry.apply(sync("SR-1", device("NIC-1"), device("NIC-2")), head_ends=HEAD_ENDS)

    assert result.rejection is None
    assert result.registrations == (
        ("D-NIC-1", HeadEndRegistration.REGISTERED),
        ("D-NIC-2", HeadEndRegistration.REGISTERED),
    )
    entry = registry.subscription("E-1")
    assert entry is not None
    assert (entry.status, entry.version, entry.last_dacs_message_id) == (ACTIVE, 1, "SR-1")
    assert registered(registry, "NIC-1").status is DeviceStatus.ACTIVE
    assert registered(registry, "NIC-1").subscription_id == "E-1"


def test_a_device_on_a_head_end_derms_does_not_serve_is_not_registered() -> None:
    registry = RegistrySlice([], [])
    result = registry.apply(sync("SR-1", device("NIC-1", he="OTHER-HE")), head_ends=HEAD_ENDS)

    assert result.registrations == (("D-NIC-1", HeadEndRegistration.NOT_REGISTERED),)
    assert registered(registry, "NIC-1", "OTHER-HE").status is DeviceStatus.ACTIVE


def test_the_same_version_again_changes_nothing_and_is_still_acked_success() -> None:
    registry = RegistrySlice([], [])
    registry.apply(sync("SR-1", device("NIC-1")), head_ends=HEAD_ENDS)

    again = registry.apply(sync("SR-9", device("NIC-1"), device("NIC-2")), head_ends=HEAD_ENDS)

    assert not again.applied
    assert again.rejection is None
    assert again.registrations == (
        ("D-NIC-1", HeadEndRegistration.REGISTERED),
        ("D-NIC-2", HeadEndRegistration.NOT_REGISTERED),
    )
    assert registry.device(("ECOBEE-HE", "NIC-2")) is None
    entry = registry.subscription("E-1")
    assert entry is not None and entry.last_dacs_message_id == "SR-1"


def test_an_older_version_arriving_late_changes_nothing_and_reports_what_derms_holds() -> None:
    registry = RegistrySlice([], [])
    registry.apply(sync("SR-1", device("NIC-1")), head_ends=HEAD_ENDS)
    registry.apply(
        sync("SR-2", device("NIC-1"), version=2, status=INACTIVE, sync_type=SyncType.UNENROLL),
        head_ends=HEAD_ENDS,
    )

    late = registry.apply(sync("SR-0", device("NIC-1"), version=1), head_ends=HEAD_ENDS)

    assert not late.applied and late.rejection is None
    assert late.registrations == (("D-NIC-1", HeadEndRegistration.DEREGISTERED),)
    entry = registry.subscription("E-1")
    assert entry is not None and (entry.status, entry.version) == (INACTIVE, 2)


def test_a_newer_version_wins() -> None:
    registry = RegistrySlice([], [])
    registry.apply(sync("SR-1", device("NIC-1")), head_ends=HEAD_ENDS)

    newer = registry.apply(
        sync(
            "SR-2",
            device("NIC-1"),
            device("NIC-2", he="NEST-HE"),
            version=2,
            sync_type=SyncType.ADD_DEVICE,
        ),
        head_ends=HEAD_ENDS,
    )

    assert newer.applied
    assert newer.registrations[1] == ("D-NIC-2", HeadEndRegistration.REGISTERED)
    entry = registry.subscription("E-1")
    assert entry is not None and (entry.version, entry.last_dacs_message_id) == (2, "SR-2")
    assert registered(registry, "NIC-2", "NEST-HE").subscription_id == "E-1"


def test_an_unenrollment_ends_the_subscription_and_deregisters_its_devices() -> None:
    registry = RegistrySlice([], [])
    registry.apply(sync("SR-1", device("NIC-1"), device("NIC-2")), head_ends=HEAD_ENDS)

    ended = registry.apply(
        sync(
            "SR-2",
            device("NIC-1"),
            device("NIC-2"),
            version=2,
            status=INACTIVE,
            sync_type=SyncType.UNENROLL,
        ),
        head_ends=HEAD_ENDS,
    )

    assert ended.registrations == (
        ("D-NIC-1", HeadEndRegistration.DEREGISTERED),
        ("D-NIC-2", HeadEndRegistration.DEREGISTERED),
    )
    entry = registry.subscription("E-1")
    assert entry is not None and entry.status is INACTIVE
    assert registered(registry, "NIC-1").status is REMOVED
    assert registered(registry, "NIC-2").registration is HeadEndRegistration.DEREGISTERED


def test_a_replacement_deregisters_the_old_device_and_registers_the_new_one() -> None:
    registry = RegistrySlice([], [])
    registry.apply(sync("SR-1", device("OLD")), head_ends=HEAD_ENDS)

    replaced = registry.apply(
        sync(
            "SR-2",
            device("OLD", status=REMOVED),
            device("NEW"),
            version=2,
            sync_type=SyncType.DEVICE_REPLACEMENT,
        ),
        head_ends=HEAD_ENDS,
    )

    assert replaced.registrations == (
        ("D-OLD", HeadEndRegistration.DEREGISTERED),
        ("D-NEW", HeadEndRegistration.REGISTERED),
    )
    assert registered(registry, "OLD").status is REMOVED
    assert registered(registry, "NEW").status is DeviceStatus.ACTIVE


def test_a_device_active_on_another_subscription_is_a_conflict_that_changes_nothing() -> None:
    registry = RegistrySlice([], [])
    registry.apply(sync("SR-1", device("NIC-1"), subscription="E-1"), head_ends=HEAD_ENDS)

    clash = registry.apply(
        sync("SR-2", device("NIC-1"), device("NIC-2"), subscription="E-2"), head_ends=HEAD_ENDS
    )

    assert clash.rejection is not None
    assert clash.rejection.code == DEVICE_CONFLICT
    assert "ECOBEE-HE!NIC-1" in clash.rejection.message and "E-1" in clash.rejection.message
    assert clash.registrations == (
        ("D-NIC-1", HeadEndRegistration.NOT_REGISTERED),
        ("D-NIC-2", HeadEndRegistration.NOT_REGISTERED),
    )
    assert registry.subscription("E-2") is None
    assert registry.device(("ECOBEE-HE", "NIC-2")) is None
    assert registered(registry, "NIC-1").subscription_id == "E-1"


def test_a_device_of_an_ended_subscription_may_join_another_one() -> None:
    registry = RegistrySlice([], [])
    registry.apply(sync("SR-1", device("NIC-1"), subscription="E-1"), head_ends=HEAD_ENDS)
    registry.apply(
        sync(
            "SR-2",
            device("NIC-1"),
            subscription="E-1",
            version=2,
            status=INACTIVE,
            sync_type=SyncType.UNENROLL,
        ),
        head_ends=HEAD_ENDS,
    )

    moved = registry.apply(sync("SR-3", device("NIC-1"), subscription="E-2"), head_ends=HEAD_ENDS)

    assert moved.rejection is None
    assert registered(registry, "NIC-1").subscription_id == "E-2"
    assert registered(registry, "NIC-1").status is DeviceStatus.ACTIVE


def test_ending_a_subscription_leaves_a_device_that_moved_elsewhere_alone() -> None:
    registry = RegistrySlice([], [])
    registry.apply(sync("SR-1", device("NIC-1"), subscription="E-1"), head_ends=HEAD_ENDS)
    registry.apply(
        sync(
            "SR-2",
            device("NIC-1", status=REMOVED),
            subscription="E-1",
            version=2,
            sync_type=SyncType.DEVICE_REPLACEMENT,
        ),
        head_ends=HEAD_ENDS,
    )
    registry.apply(sync("SR-3", device("NIC-1"), subscription="E-2"), head_ends=HEAD_ENDS)

    ended = registry.apply(
        sync(
            "SR-4",
            device("NIC-1", status=REMOVED),
            subscription="E-1",
            version=3,
            status=INACTIVE,
            sync_type=SyncType.UNENROLL,
        ),
        head_ends=HEAD_ENDS,
    )

    assert ended.registrations == (("D-NIC-1", HeadEndRegistration.DEREGISTERED),)
    assert registered(registry, "NIC-1").subscription_id == "E-2"
    assert registered(registry, "NIC-1").status is DeviceStatus.ACTIVE


def test_a_device_the_new_state_no_longer_names_is_deregistered() -> None:
    registry = RegistrySlice([], [])
    registry.apply(sync("SR-1", device("NIC-1"), device("NIC-2")), head_ends=HEAD_ENDS)

    registry.apply(sync("SR-2", device("NIC-1"), version=2), head_ends=HEAD_ENDS)

    assert registered(registry, "NIC-2").status is REMOVED
    assert registered(registry, "NIC-2").registration is HeadEndRegistration.DEREGISTERED
    assert registered(registry, "NIC-1").status is DeviceStatus.ACTIVE


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (SyncDevice(device_id="D-X", head_end_system="ECOBEE-HE", nic_id=""), "lacks"),
        (SyncDevice(device_id="D-X", head_end_system="", nic_id="NIC-9"), "lacks"),
        (device("NIC-1"), "listed twice"),
    ],
)
def test_a_device_without_its_full_key_or_listed_twice_is_invalid(
    bad: SyncDevice, reason: str
) -> None:
    registry = RegistrySlice([], [])

    result = registry.apply(sync("SR-1", device("NIC-1"), bad), head_ends=HEAD_ENDS)

    assert result.rejection is not None
    assert result.rejection.code == INVALID_DEVICE
    assert reason in result.rejection.message
    assert not result.applied
    assert registry.subscription("E-1") is None


@pytest.mark.parametrize(
    "sync_type", [SyncType.UNENROLL, SyncType.ADD_DEVICE, SyncType.DEVICE_REPLACEMENT]
)
def test_a_change_to_a_subscription_derms_never_enrolled_is_refused(sync_type: SyncType) -> None:
    result = apply_sync(
        sync("SR-1", device("NIC-1"), sync_type=sync_type),
        current=None,
        held=[],
        holders={},
        head_ends=HEAD_ENDS,
    )

    assert result.rejection is not None
    assert result.rejection.code == UNKNOWN_SUBSCRIPTION
    assert "E-1" in result.rejection.message
    assert result.subscription is None and result.devices == ()


def test_a_rejected_replacement_keeps_the_old_device_registered() -> None:
    registry = RegistrySlice([], [])
    registry.apply(sync("SR-1", device("OLD"), subscription="E-1"), head_ends=HEAD_ENDS)
    registry.apply(sync("SR-2", device("TAKEN"), subscription="E-2"), head_ends=HEAD_ENDS)

    refused = registry.apply(
        sync(
            "SR-3",
            device("OLD", status=REMOVED),
            device("TAKEN"),
            subscription="E-1",
            version=2,
            sync_type=SyncType.DEVICE_REPLACEMENT,
        ),
        head_ends=HEAD_ENDS,
    )

    assert refused.rejection is not None and refused.rejection.code == DEVICE_CONFLICT
    assert refused.registrations[0] == ("D-OLD", HeadEndRegistration.REGISTERED)
    assert registered(registry, "OLD").status is DeviceStatus.ACTIVE


def test_a_batch_reports_only_the_rows_it_changed() -> None:
    before = Device(
        head_end_system="ECOBEE-HE",
        nic_id="NIC-7",
        device_id="D-NIC-7",
        subscription_id="E-7",
        status=DeviceStatus.ACTIVE,
        registration=HeadEndRegistration.REGISTERED,
    )
    registry = RegistrySlice([], [before])

    registry.apply(sync("SR-1", device("NIC-1")), head_ends=HEAD_ENDS)
    registry.apply(sync("SR-2", device("NIC-1"), device("NIC-2"), version=2), head_ends=HEAD_ENDS)

    assert [s.subscription_id for s in registry.changed_subscriptions] == ["E-1"]
    assert sorted(d.nic_id for d in registry.changed_devices) == ["NIC-1", "NIC-2"]


def test_a_device_that_moved_away_is_no_longer_reported_for_its_old_subscription() -> None:
    registry = RegistrySlice([], [])
    registry.apply(sync("SR-1", device("NIC-1"), subscription="E-1"), head_ends=HEAD_ENDS)
    registry.apply(
        sync(
            "SR-2",
            device("NIC-1"),
            subscription="E-1",
            version=2,
            status=INACTIVE,
            sync_type=SyncType.UNENROLL,
        ),
        head_ends=HEAD_ENDS,
    )
    registry.apply(sync("SR-3", device("NIC-1"), subscription="E-2"), head_ends=HEAD_ENDS)

    late = registry.apply(sync("SR-0", device("NIC-1"), subscription="E-1"), head_ends=HEAD_ENDS)

    assert late.registrations == (("D-NIC-1", HeadEndRegistration.NOT_REGISTERED),)
