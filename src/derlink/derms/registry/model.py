"""The enrolled-device registry: how an enrollment sync changes it, and what derms answers.

An EnrollSync is a *state transfer* (docs/contracts/enrollment.md): it carries a subscription's
whole current state stamped with a ``version``, so syncs may arrive in any order and the newest
wins. Applying one yields the head-end registration of every device it names — ``D1RE``
registered, ``D1NR`` not registered, ``D1DR`` deregistered — and, when the record failed, a derms
business code. Each sync is answered by one MsgAck. The same registry answers device status
checks (DEV-STATUS).

A device is keyed by (headEndSystem, nicId) and belongs to at most one subscription at a time. A
registry device is ``ACTIVE`` while it is an active device of an active subscription and
``REMOVED`` once it was removed or its subscription ended.

Pure: values in, values out. Time comes in as a timezone-aware datetime.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from derlink.common.clock import iso_z
from derlink.contracts.acks import ALREADY_EXISTS, RESPONSE_SUCCESS, AckType, HeadEndRegistration


class SyncType(StrEnum):
    ENROLL = "ENROLL"
    UNENROLL = "UNENROLL"
    ADD_DEVICE = "ADD_DEVICE"
    DEVICE_REPLACEMENT = "DEVICE_REPLACEMENT"


class SubscriptionStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class DeviceStatus(StrEnum):
    ACTIVE = "ACTIVE"
    REMOVED = "REMOVED"


#: derms business codes, sent in MsgAck responses (docs/contracts/enrollment.md).
DEVICE_CONFLICT = "DERMS-DEVICE-CONFLICT"
INVALID_DEVICE = "DERMS-INVALID-DEVICE"
UNKNOWN_SUBSCRIPTION = "DERMS-UNKNOWN-SUBSCRIPTION"

#: (headEndSystem, nicId), the device key.
DeviceKey = tuple[str, str]


def device_label(key: DeviceKey) -> str:
    """``HE!NIC``, how the reconciliation pages name a device."""
    return f"{key[0]}!{key[1]}"


@dataclass(frozen=True, slots=True)
class SyncDevice:
    """A device as an enrollment sync names it; a missing key part is the empty string."""

    device_id: str
    head_end_system: str
    nic_id: str
    status: DeviceStatus = DeviceStatus.ACTIVE
    device_type: str = ""
    specification: str = ""

    @property
    def key(self) -> DeviceKey:
        return (self.head_end_system, self.nic_id)


@dataclass(frozen=True, slots=True)
class EnrollSync:
    """One DERMS Enroll record: the subscription's whole state at ``version``."""

    dacs_message_id: str
    sync_type: SyncType
    subscription_id: str
    status: SubscriptionStatus
    version: int
    devices: tuple[SyncDevice, ...] = ()
    program_code: str = ""
    program_id: str = ""
    cis_account_id: str = ""
    cis_service_point_id: str = ""
    service_point_id: str = ""
    division: str = ""
    starts_at: str | None = None
    ends_at: str | None = None


@dataclass(frozen=True, slots=True)
class Subscription:
    """A registry entry: what derms knows of one subscription (its devices are kept apart)."""

    subscription_id: str
    status: SubscriptionStatus
    version: int
    program_code: str = ""
    program_id: str = ""
    cis_account_id: str = ""
    cis_service_point_id: str = ""
    service_point_id: str = ""
    division: str = ""
    starts_at: str | None = None
    ends_at: str | None = None
    last_dacs_message_id: str = ""


@dataclass(frozen=True, slots=True)
class Device:
    """A registry device: the subscription holding it and its head-end registration."""

    head_end_system: str
    nic_id: str
    device_id: str
    subscription_id: str
    status: DeviceStatus
    registration: HeadEndRegistration
    device_type: str = ""
    specification: str = ""

    @property
    def key(self) -> DeviceKey:
        return (self.head_end_system, self.nic_id)


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one sync did: the registrations to acknowledge and the registry's new state."""

    sync: EnrollSync
    #: (deviceId, registration) for every device the sync names, in its order.
    registrations: tuple[tuple[str, HeadEndRegistration], ...]
    rejection: Rejection | None = None
    #: The entry's new state; None when the sync changed nothing (stale or rejected).
    subscription: Subscription | None = None
    #: Device rows whose new state this sync sets.
    devices: tuple[Device, ...] = ()

    @property
    def applied(self) -> bool:
        return self.subscription is not None


def registration_for(*, active: bool, head_end_known: bool) -> HeadEndRegistration:
    """A removed device or an ended subscription is deregistered; otherwise the head-end decides."""
    if not active:
        return HeadEndRegistration.DEREGISTERED
    return HeadEndRegistration.REGISTERED if head_end_known else HeadEndRegistration.NOT_REGISTERED


def apply_sync(
    sync: EnrollSync,
    *,
    current: Subscription | None,
    held: Iterable[Device],
    holders: Mapping[DeviceKey, Device],
    head_ends: Container[str],
) -> SyncResult:
    """Apply ``sync`` to the registry: ``current`` is its entry, ``held`` the devices it holds,
    ``holders`` the registry rows of the device keys it names, ``head_ends`` the head-end
    systems derms serves."""
    held_by_key = {d.key: d for d in held}
    problem = _invalid_device(sync)
    if problem is not None:
        return _unchanged(sync, held_by_key, Rejection(INVALID_DEVICE, problem))
    if current is None and sync.sync_type is not SyncType.ENROLL:
        message = f"subscription {sync.subscription_id} was never enrolled in derms"
        return _unchanged(sync, held_by_key, Rejection(UNKNOWN_SUBSCRIPTION, message))
    if current is not None and sync.version <= current.version:
        # State transfer: derms already holds this version or a newer one, so an older (or
        # repeated) sync changes nothing. It is still acknowledged SUCCESS, with the
        # registrations derms holds now, so cpm's sync request completes.
        return _unchanged(sync, held_by_key)
    conflict = _conflict(sync, holders)
    if conflict is not None:
        return _unchanged(sync, held_by_key, Rejection(DEVICE_CONFLICT, conflict))
    return _applied(sync, held_by_key, holders, head_ends)


def _invalid_device(sync: EnrollSync) -> str | None:
    seen: set[DeviceKey] = set()
    for device in sync.devices:
        if not device.head_end_system or not device.nic_id:
            return f"device {device.device_id} lacks a headEndSystem or a nicId"
        if device.key in seen:
            return f"device {device_label(device.key)} is listed twice"
        seen.add(device.key)
    return None


def _conflict(sync: EnrollSync, holders: Mapping[DeviceKey, Device]) -> str | None:
    if sync.status is not SubscriptionStatus.ACTIVE:
        return None  # ending a subscription claims no device
    for device in sync.devices:
        if device.status is not DeviceStatus.ACTIVE:
            continue
        holder = holders.get(device.key)
        if (
            holder is not None
            and holder.subscription_id != sync.subscription_id
            and holder.status is DeviceStatus.ACTIVE
        ):
            return (
                f"device {device_label(device.key)} is registered to active subscription "
                f"{holder.subscription_id}"
            )
    return None


def _unchanged(
    sync: EnrollSync, held: Mapping[DeviceKey, Device], rejection: Rejection | None = None
) -> SyncResult:
    """Acknowledge without change: each device with the registration derms holds for it on this
    subscription (D1NR when it holds none)."""
    registrations = tuple(
        (
            d.device_id,
            held[d.key].registration if d.key in held else HeadEndRegistration.NOT_REGISTERED,
        )
        for d in sync.devices
    )
    return SyncResult(sync=sync, registrations=registrations, rejection=rejection)


def _applied(
    sync: EnrollSync,
    held: Mapping[DeviceKey, Device],
    holders: Mapping[DeviceKey, Device],
    head_ends: Container[str],
) -> SyncResult:
    subscription_active = sync.status is SubscriptionStatus.ACTIVE
    registrations: list[tuple[str, HeadEndRegistration]] = []
    rows: list[Device] = []
    for device in sync.devices:
        active = subscription_active and device.status is DeviceStatus.ACTIVE
        registration = registration_for(
            active=active, head_end_known=device.head_end_system in head_ends
        )
        registrations.append((device.device_id, registration))
        holder = holders.get(device.key)
        if not active and holder is not None and holder.subscription_id != sync.subscription_id:
            # The device has moved to another subscription since; ending it here must not
            # take it from there.
            continue
        rows.append(
            Device(
                head_end_system=device.head_end_system,
                nic_id=device.nic_id,
                device_id=device.device_id,
                subscription_id=sync.subscription_id,
                status=DeviceStatus.ACTIVE if active else DeviceStatus.REMOVED,
                registration=registration,
                device_type=device.device_type,
                specification=device.specification,
            )
        )
    named = {d.key for d in sync.devices}
    for old in held.values():
        if old.key not in named and old.status is DeviceStatus.ACTIVE:
            # State transfer: a device the new state no longer names has left the subscription.
            rows.append(
                replace(
                    old, status=DeviceStatus.REMOVED, registration=HeadEndRegistration.DEREGISTERED
                )
            )
    entry = Subscription(
        subscription_id=sync.subscription_id,
        status=sync.status,
        version=sync.version,
        program_code=sync.program_code,
        program_id=sync.program_id,
        cis_account_id=sync.cis_account_id,
        cis_service_point_id=sync.cis_service_point_id,
        service_point_id=sync.service_point_id,
        division=sync.division,
        starts_at=sync.starts_at,
        ends_at=sync.ends_at,
        last_dacs_message_id=sync.dacs_message_id,
    )
    return SyncResult(
        sync=sync, registrations=tuple(registrations), subscription=entry, devices=tuple(rows)
    )


class RegistrySlice:
    """The part of the registry one batch of syncs touches, applied to in memory, in order.

    A later sync of the batch sees what the earlier ones did; ``changed_subscriptions`` and
    ``changed_devices`` are what the batch must write back.
    """

    def __init__(self, subscriptions: Iterable[Subscription], devices: Iterable[Device]) -> None:
        self._subscriptions = {s.subscription_id: s for s in subscriptions}
        self._devices: dict[DeviceKey, Device] = {}
        self._held: dict[str, dict[DeviceKey, Device]] = {}
        for device in devices:
            self._put(device)
        self._changed_subscriptions: dict[str, Subscription] = {}
        self._changed_devices: dict[DeviceKey, Device] = {}

    def subscription(self, subscription_id: str) -> Subscription | None:
        return self._subscriptions.get(subscription_id)

    def device(self, key: DeviceKey) -> Device | None:
        return self._devices.get(key)

    def apply(self, sync: EnrollSync, *, head_ends: Container[str]) -> SyncResult:
        """Apply one sync (see ``apply_sync``) and keep its effect for the next."""
        holders = {d.key: self._devices[d.key] for d in sync.devices if d.key in self._devices}
        result = apply_sync(
            sync,
            current=self._subscriptions.get(sync.subscription_id),
            held=self._held.get(sync.subscription_id, {}).values(),
            holders=holders,
            head_ends=head_ends,
        )
        if result.subscription is not None:
            self._subscriptions[sync.subscription_id] = result.subscription
            self._changed_subscriptions[sync.subscription_id] = result.subscription
        for device in result.devices:
            self._put(device)
            self._changed_devices[device.key] = device
        return result

    @property
    def changed_subscriptions(self) -> list[Subscription]:
        return list(self._changed_subscriptions.values())

    @property
    def changed_devices(self) -> list[Device]:
        return list(self._changed_devices.values())

    def _put(self, device: Device) -> None:
        previous = self._devices.get(device.key)
        if previous is not None and previous.subscription_id != device.subscription_id:
            self._held.get(previous.subscription_id, {}).pop(device.key, None)
        self._devices[device.key] = device
        self._held.setdefault(device.subscription_id, {})[device.key] = device


def msg_ack(result: SyncResult, *, at: datetime) -> dict[str, Any]:
    """The MsgAck of one sync: one response per device, plus one for the failure.

    ``dacsMessageId`` is repeated at the top so that an ack whose sync names no device can
    still be correlated.
    """
    when = iso_z(at)
    message_id = result.sync.dacs_message_id
    responses = [
        {
            "id": device_id,
            "value": registration.value,
            "responseCode": RESPONSE_SUCCESS,
            "responseTimeISO": when,
            "dacsMessageId": message_id,
        }
        for device_id, registration in result.registrations
    ]
    if result.rejection is not None:
        responses.append(
            {
                "id": result.sync.subscription_id,
                "value": result.rejection.message,
                "responseCode": result.rejection.code,
                "responseTimeISO": when,
                "dacsMessageId": message_id,
            }
        )
    return {
        "ackType": (AckType.SUCCESS if result.rejection is None else AckType.ERROR).value,
        "whenISO": when,
        "dacsMessageId": message_id,
        "responses": responses,
    }


class CheckStatus(StrEnum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    status: CheckStatus
    message: str


def check_device_status(
    key: DeviceKey, *, device: Device | None, subscription: Subscription | None
) -> StatusAnswer:
    """DEV-STATUS: SUCCESS when the device is registered (D1RE) on an active subscription."""
    label = device_label(key)
    if device is None:
        return StatusAnswer(CheckStatus.FAILURE, f"device {label} is not in the registry")
    if subscription is None or subscription.status is not SubscriptionStatus.ACTIVE:
        return StatusAnswer(
            CheckStatus.FAILURE,
            f"device {label} is on subscription {device.subscription_id}, which is not active",
        )
    if device.status is not DeviceStatus.ACTIVE:
        return StatusAnswer(
            CheckStatus.FAILURE,
            f"device {label} was removed from subscription {device.subscription_id}",
        )
    if device.registration is not HeadEndRegistration.REGISTERED:
        return StatusAnswer(
            CheckStatus.FAILURE,
            f"device {label} is not registered with its head-end ({device.registration.value})",
        )
    return StatusAnswer(
        CheckStatus.SUCCESS,
        f"device {label} is registered on subscription {device.subscription_id}",
    )


class OriginationStatus(StrEnum):
    """An originated enrollment request: Pending → Sent (the hub took it) → Accepted | Rejected."""

    PENDING = "Pending"
    SENT = "Sent"
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"


def request_outcome(response_code: str) -> OriginationStatus:
    """The status an ENR-REQ collection-ack response gives its request."""
    if response_code in (RESPONSE_SUCCESS, ALREADY_EXISTS):
        return OriginationStatus.ACCEPTED
    return OriginationStatus.REJECTED


def is_final(status: OriginationStatus) -> bool:
    """A request already Accepted or Rejected ignores further acks (a redelivered ack)."""
    return status in (OriginationStatus.ACCEPTED, OriginationStatus.REJECTED)


@dataclass(frozen=True, slots=True)
class RequestAnswer:
    """One response of the collection MsgAck of an ENR-REQ batch."""

    message_id: str
    response_code: str
    value: str = ""


@dataclass(frozen=True, slots=True)
class StatusCheck:
    """A device status check (DEV-STATUS): which device, under which dacsMessageId."""

    dacs_message_id: str
    head_end_system: str
    nic_id: str

    @property
    def key(self) -> DeviceKey:
        return (self.head_end_system, self.nic_id)
