"""The enrollment feature's domain: subscriptions, devices, eligibility, the sync-request state
machine, device status checks and enrollment extracts.

Pure: values in, values (or a coded error) out. No database, web framework or clock; every
moment is passed in, timezone-aware. The rules and codes are those of
docs/contracts/enrollment.md ("cpm business codes", "Sync request states").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from derlink.common.errors import Conflict
from derlink.contracts.acks import ALREADY_EXISTS, HeadEndRegistration
from derlink.cpm.catalog.model import Program, check_program_takes_enrollments
from derlink.cpm.errors import CpmBusinessError, CpmConflict


class SubscriptionStatus(StrEnum):
    PENDING = "Pending"
    ACTIVE = "Active"
    INACTIVE = "Inactive"


class DeviceLinkStatus(StrEnum):
    """A device's place on a subscription: held, or taken off by a replacement."""

    ACTIVE = "ACTIVE"
    REMOVED = "REMOVED"


class SyncType(StrEnum):
    ENROLL = "ENROLL"
    UNENROLL = "UNENROLL"
    ADD_DEVICE = "ADD_DEVICE"
    DEVICE_REPLACEMENT = "DEVICE_REPLACEMENT"
    #: The analytics copy of a subscription: one row of an enrollment extract (OUAI-ENR).
    ANALYTICS = "ANALYTICS"


class SyncState(StrEnum):
    PENDING = "Pending"
    AWAITING_ACKNOWLEDGEMENT = "Awaiting Acknowledgement"
    SYNCHRONIZED = "Synchronized"
    ERROR = "Error"
    DISCARDED = "Discarded"


#: States an acknowledgement has already settled; a second ack on them is a duplicate.
FINAL_STATES = frozenset({SyncState.SYNCHRONIZED, SyncState.ERROR})
#: States that still wait for an acknowledgement.
OPEN_STATES = frozenset({SyncState.PENDING, SyncState.AWAITING_ACKNOWLEDGEMENT})
#: Subscriptions that hold their devices and block a second enrollment.
OPEN_SUBSCRIPTIONS = frozenset({SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE})


class AckOutcome(StrEnum):
    SYNCHRONIZED = "Synchronized"
    ERROR = "Error"
    DUPLICATE = "Duplicate"
    REJECTED = "Rejected"


class ExtractKind(StrEnum):
    """Which subscriptions an enrollment extract takes (OUAI-ENR)."""

    #: Every Active subscription.
    INITIAL = "INITIAL"
    #: Every subscription changed since analytics last got it, or never sent.
    INCREMENTAL = "INCREMENTAL"


class ExtractState(StrEnum):
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"


class DeviceCheckState(StrEnum):
    PENDING = "Pending"
    SENT = "Sent"
    ANSWERED = "Answered"


class DeviceCheckResult(StrEnum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


class AnswerOutcome(StrEnum):
    """What a device-status response did to its check."""

    RECORDED = "Recorded"
    DUPLICATE = "Duplicate"
    REJECTED = "Rejected"


#: The hub flows that carry cpm's outbound messages.
ENR_SYNC = "ENR-SYNC"
DEV_STATUS = "DEV-STATUS"


# -- codes ----------------------------------------------------------------------------------

#: Oracle message number of "enrollment request already exists" (idempotency).
DUPLICATE_MESSAGE_NUMBER = int(ALREADY_EXISTS)


ACCOUNT_UNKNOWN = "CPM-ACCOUNT-UNKNOWN"
SP_UNKNOWN = "CPM-SP-UNKNOWN"
SP_NOT_ON_ACCOUNT = "CPM-SP-NOT-ON-ACCOUNT"
SPEC_INELIGIBLE = "CPM-SPEC-INELIGIBLE"
SPEC_MISSING = "CPM-SPEC-MISSING"
#: derlink's addition: a record of an enrollment collection that is not a valid request.
INVALID_REQUEST = "CPM-INVALID"
DUPLICATE_ENROLLMENT = "CPM-DUPLICATE-ENROLLMENT"
DEVICE_IN_USE = "CPM-DEVICE-IN-USE"
NO_DEVICES = "CPM-NO-DEVICES"
ENROLLMENT_NOT_ACTIVE = "CPM-ENROLLMENT-NOT-ACTIVE"
DEVICE_NOT_ON_ENROLLMENT = "CPM-DEVICE-NOT-ON-ENROLLMENT"
SYNC_UNKNOWN = "CPM-SYNC-UNKNOWN"
SYNC_DISCARDED = "CPM-SYNC-DISCARDED"
#: derlink's addition: an operator may not discard a sync request that is Synchronized.
SYNC_SYNCHRONIZED = "CPM-SYNC-SYNCHRONIZED"
#: derlink's addition: a device-status response for a check cpm never started.
CHECK_UNKNOWN = "CPM-CHECK-UNKNOWN"
#: derlink's addition: an enrollment request whose programInfo.endDateTimeISO is not after its
#: start.
END_NOT_AFTER_START = "CPM-END-NOT-AFTER-START"
#: derlink's addition: an enrollment extract was asked for while another one runs.
EXTRACT_RUNNING = "CPM-EXTRACT-RUNNING"
#: derlink's addition: no enrollment extract with that id.
EXTRACT_UNKNOWN = "CPM-EXTRACT-UNKNOWN"


def duplicate_enrollment_request(message_id: str, enrollment_id: str) -> Conflict:
    """The 10589 answer: this messageId was enrolled already; upstream counts it a success."""
    return Conflict(
        f"an enrollment request with messageId {message_id!r} exists already",
        code=str(DUPLICATE_MESSAGE_NUMBER),
        messageNumber=DUPLICATE_MESSAGE_NUMBER,
        enrollmentId=enrollment_id,
    )


# -- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asset:
    """One device as a request describes it (``assetInfo.assetList[]``)."""

    head_end_system: str
    nic_id: str
    specification: str = ""
    device_type: str = ""
    make: str = ""
    model: str = ""
    serial_no: str = ""
    badge_no: str = ""
    asset_id: str = ""
    sequence: int | None = None

    @property
    def key(self) -> tuple[str, str]:
        """A device is known by its head-end system and NIC id (as in Oracle's reserve device)."""
        return (self.head_end_system, self.nic_id)


@dataclass(frozen=True)
class ServicePoint:
    cis_service_point_id: str
    #: The account that owns the service point's premise.
    cis_account_id: str


@dataclass(frozen=True)
class EnrollmentFacts:
    """What the eligibility rules need to know about one enrollment request."""

    program_code: str
    program: Program | None
    cis_account_id: str
    account_known: bool
    cis_service_point_id: str
    service_point: ServicePoint | None
    assets: Sequence[Asset]
    #: The account has a Pending or Active subscription in the program at that service point.
    has_open_enrollment: bool
    #: Device keys already held by an open subscription.
    devices_in_use: Collection[tuple[str, str]]


@dataclass(frozen=True)
class Location:
    """Where the devices are installed (``locationInfo``); blanks fall back to the CIS premise."""

    cis_service_point_id: str
    location_id: str = ""
    division: str = ""
    cis_premise_id: str = ""
    time_zone: str = ""
    address1: str = ""
    city: str = ""
    state: str = ""
    postal: str = ""
    country: str = ""
    county: str = ""


@dataclass(frozen=True)
class NewEnrollment:
    """One enrollment request (contract "EnrollmentRequest"), as cpm's enroll takes it."""

    message_id: str
    cis_account_id: str
    program_code: str
    location: Location
    assets: Sequence[Asset]
    cis_person_id: str = ""
    start_at: datetime | None = None
    end_at: datetime | None = None
    installation_method: str = ""
    asset_ownership: str = ""
    #: The DERMS instance that sent the request (Oracle's ``drmsInstanceId``).
    drms_instance_id: str = ""


@dataclass(frozen=True)
class DeviceRegistration:
    """``deviceHeadendStatus[]``: the head-end's word on one device."""

    device_id: str
    registration: HeadEndRegistration
    message: str = ""


@dataclass(frozen=True)
class Acknowledgement:
    """One postAcknowledgement (docs/contracts/enrollment.md)."""

    sync_request_id: str
    has_error: bool
    exception_info: Sequence[dict[str, Any]] = ()
    device_registrations: Sequence[DeviceRegistration] = ()


@dataclass(frozen=True)
class DeviceStatusAnswer:
    """A device-status response: ``transactionId`` is the check's dacsMessageId."""

    transaction_id: str
    result: DeviceCheckResult
    message: str = ""


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list read in id order."""

    items: list[T]
    #: Pass as ``after`` to read the next page; None on the last one.
    next: str | None


# -- eligibility ----------------------------------------------------------------------------


def check_assets(
    program: Program, assets: Sequence[Asset], devices_in_use: Collection[tuple[str, str]]
) -> None:
    """Every device needs an eligible specification and must not be held elsewhere."""
    if not assets:
        raise CpmBusinessError("the request lists no device", code=NO_DEVICES)
    seen: set[tuple[str, str]] = set()
    for asset in assets:
        name = f"{asset.head_end_system}!{asset.nic_id}"
        if not asset.specification:
            raise CpmBusinessError(f"device {name} has no specification", code=SPEC_MISSING)
        eligible = program.eligible_specifications
        if eligible and asset.specification not in eligible:
            raise CpmBusinessError(
                f"specification {asset.specification!r} of device {name} is not eligible for "
                f"program {program.code!r}",
                code=SPEC_INELIGIBLE,
            )
        if asset.key in devices_in_use or asset.key in seen:
            raise CpmBusinessError(
                f"device {name} is already on an active subscription", code=DEVICE_IN_USE
            )
        seen.add(asset.key)


def check_enrollment(facts: EnrollmentFacts) -> Program:
    """Apply the enrollment rules: program, account, service point, enrollment, then devices."""
    program = check_program_takes_enrollments(facts.program_code, facts.program)
    if not facts.account_known:
        raise CpmBusinessError(
            f"no account with cisAccountId {facts.cis_account_id!r}", code=ACCOUNT_UNKNOWN
        )
    if facts.service_point is None:
        raise CpmBusinessError(
            f"no service point with cisServicePointId {facts.cis_service_point_id!r}",
            code=SP_UNKNOWN,
        )
    if facts.service_point.cis_account_id != facts.cis_account_id:
        raise CpmBusinessError(
            f"service point {facts.cis_service_point_id!r} is not on account "
            f"{facts.cis_account_id!r}",
            code=SP_NOT_ON_ACCOUNT,
        )
    if facts.has_open_enrollment:
        raise CpmBusinessError(
            f"account {facts.cis_account_id!r} already has an active or pending enrollment in "
            f"program {facts.program_code!r} at service point {facts.cis_service_point_id!r}",
            code=DUPLICATE_ENROLLMENT,
        )
    check_assets(program, facts.assets, facts.devices_in_use)
    return program


def check_period(start_at: datetime, end_at: datetime | None) -> None:
    """An enrollment that ends must end after it starts."""
    if end_at is not None and end_at <= start_at:
        raise CpmBusinessError(
            f"programInfo.endDateTimeISO {end_at.isoformat()} is not after the start "
            f"{start_at.isoformat()}",
            code=END_NOT_AFTER_START,
        )


def check_changeable(
    enrollment_id: str, status: SubscriptionStatus, *, unenrollment_under_way: bool
) -> None:
    """Unenroll, add and replace need an Active enrollment that is not being unenrolled."""
    if status is not SubscriptionStatus.ACTIVE:
        raise CpmConflict(
            f"enrollment {enrollment_id} is {status.value}, not Active",
            code=ENROLLMENT_NOT_ACTIVE,
        )
    if unenrollment_under_way:
        raise CpmConflict(
            f"enrollment {enrollment_id} is being unenrolled", code=ENROLLMENT_NOT_ACTIVE
        )


def check_device_on_enrollment(
    enrollment_id: str, device_id: str, active_device_ids: Collection[str]
) -> None:
    if device_id not in active_device_ids:
        raise CpmBusinessError(
            f"enrollment {enrollment_id} holds no device {device_id}",
            code=DEVICE_NOT_ON_ENROLLMENT,
        )


# -- the sync-request state machine ---------------------------------------------------------


@dataclass(frozen=True)
class AckDecision:
    """What one acknowledgement does to a sync request."""

    outcome: AckOutcome
    #: The state to move to, or None when the acknowledgement changes nothing.
    to_state: SyncState | None = None
    code: str | None = None
    detail: str | None = None


def decide_acknowledgement(
    state: SyncState | None,
    *,
    has_error: bool,
    enrollment_id: str = "",
    unheld_devices: Sequence[str] = (),
) -> AckDecision:
    """Apply an ack: open → Synchronized | Error; final → Duplicate; else Rejected.

    An ack may overtake the hub's acceptance and find the request still Pending; it is applied
    all the same (contract, "Sync request states"). An ack that would settle the request but
    names devices its subscription does not hold (``unheld_devices``) is Rejected whole, and
    the request stays open for a corrected one.
    """
    if state is None:
        return AckDecision(AckOutcome.REJECTED, code=SYNC_UNKNOWN, detail="no such sync request")
    if state in OPEN_STATES:
        if unheld_devices:
            return AckDecision(
                AckOutcome.REJECTED,
                code=DEVICE_NOT_ON_ENROLLMENT,
                detail=f"enrollment {enrollment_id} holds no device {', '.join(unheld_devices)}",
            )
        if has_error:
            return AckDecision(AckOutcome.ERROR, SyncState.ERROR)
        return AckDecision(AckOutcome.SYNCHRONIZED, SyncState.SYNCHRONIZED)
    if state in FINAL_STATES:
        # A duplicate syncRequestId on update-and-transition is suppressed.
        return AckDecision(AckOutcome.DUPLICATE)
    return AckDecision(
        AckOutcome.REJECTED, code=SYNC_DISCARDED, detail="the sync request was discarded"
    )


def state_when_sent(state: SyncState) -> SyncState | None:
    """The hub accepted the message: Pending → Awaiting Acknowledgement, nothing else moves."""
    return SyncState.AWAITING_ACKNOWLEDGEMENT if state is SyncState.PENDING else None


def state_when_discarded(sync_request_id: str, state: SyncState) -> SyncState | None:
    """An operator discards any sync request that is not Synchronized; twice is a no-op."""
    if state is SyncState.SYNCHRONIZED:
        raise CpmConflict(
            f"sync request {sync_request_id} is Synchronized and cannot be discarded",
            code=SYNC_SYNCHRONIZED,
        )
    return None if state is SyncState.DISCARDED else SyncState.DISCARDED


def subscription_status_after(
    sync_type: SyncType, to_state: SyncState, status: SubscriptionStatus
) -> SubscriptionStatus | None:
    """A Synchronized ENROLL activates the subscription; a Synchronized UNENROLL ends it.

    An ANALYTICS ack only says analytics holds its copy: it never changes the subscription.
    """
    if to_state is not SyncState.SYNCHRONIZED or sync_type is SyncType.ANALYTICS:
        return None
    if sync_type is SyncType.ENROLL and status is SubscriptionStatus.PENDING:
        return SubscriptionStatus.ACTIVE
    if sync_type is SyncType.UNENROLL and status is not SubscriptionStatus.INACTIVE:
        return SubscriptionStatus.INACTIVE
    return None


def unknown_check(transaction_id: str) -> str:
    """Why a device-status response for a check cpm never started is Rejected."""
    return f"no device status check with dacsMessageId {transaction_id!r}"


def decide_status_answer(state: DeviceCheckState | None) -> AnswerOutcome:
    """A response answers its check once; re-delivered, it has no second effect."""
    if state is None:
        return AnswerOutcome.REJECTED
    if state is DeviceCheckState.ANSWERED:
        return AnswerOutcome.DUPLICATE
    return AnswerOutcome.RECORDED


def check_state_when_sent(state: DeviceCheckState) -> DeviceCheckState | None:
    return DeviceCheckState.SENT if state is DeviceCheckState.PENDING else None


# -- the EnrollSync payload -----------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionSnapshot:
    """The subscription's whole state as derms receives it (EnrollSync is a state transfer)."""

    subscription_id: str
    version: int
    cis_account_id: str
    contact_id: str
    cis_person_id: str
    subscription_type: str
    program_id: str
    program_code: str
    start_at: datetime
    end_at: datetime | None
    division: str
    service_point_id: str
    cis_premise_id: str
    cis_service_point_id: str


@dataclass(frozen=True)
class DeviceSnapshot:
    device_id: str
    device_type: str
    specification: str
    make: str
    model: str
    head_end_system: str
    nic_id: str
    serial_no: str
    badge_no: str
    status: DeviceLinkStatus


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetime in an EnrollSync")
    return moment.isoformat()


def build_enroll_sync(
    *,
    sync_request_id: str,
    sync_type: SyncType,
    subscription: SubscriptionSnapshot,
    devices: Sequence[DeviceSnapshot],
) -> dict[str, Any]:
    """derlink's DERMS Enroll record (contract "EnrollSync"), stamped with the version."""
    # An UNENROLL carries INACTIVE: derms ends the subscription and deregisters its devices.
    status = "INACTIVE" if sync_type is SyncType.UNENROLL else "ACTIVE"
    s = subscription
    return {
        "dacsMessageId": sync_request_id,
        "syncType": sync_type.value,
        "contactInfo": {"contactId": s.contact_id, "cisPersonId": s.cis_person_id},
        "subscriptionInfo": {
            "subscriptionId": s.subscription_id,
            "cisAccountId": s.cis_account_id,
            "subscriptionType": s.subscription_type,
            "status": status,
            "programId": s.program_id,
            "programCode": s.program_code,
            "startDateTimeISO": _iso(s.start_at),
            "endDateTimeISO": _iso(s.end_at),
            "version": s.version,
        },
        "locationInfo": {
            "division": s.division,
            "servicePointId": s.service_point_id,
            "cisPremiseId": s.cis_premise_id,
            "cisServicePointId": s.cis_service_point_id,
            "controllableDevices": [
                {
                    "deviceId": d.device_id,
                    "deviceType": d.device_type,
                    "specification": d.specification,
                    "make": d.make,
                    "model": d.model,
                    "headEndSystem": d.head_end_system,
                    "nicId": d.nic_id,
                    "serialNo": d.serial_no,
                    "badgeNo": d.badge_no,
                    "status": d.status.value,
                }
                for d in devices
            ],
        },
    }


def device_status_check_payload(
    *,
    dacs_message_id: str,
    division: str,
    device_type: str,
    specification: str,
    head_end_system: str,
    nic_id: str,
) -> dict[str, Any]:
    """The DEV-STATUS message (device status check)."""
    return {
        "dacsMessageId": dacs_message_id,
        "deviceInfo": {
            "division": division,
            "deviceType": device_type,
            "specification": specification,
            "headEndSystem": head_end_system,
            "nicId": nic_id,
        },
    }
