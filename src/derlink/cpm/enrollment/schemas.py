"""The enrollment feature's wire schemas, with the Oracle field names
(docs/contracts/enrollment.md); the conventions are cpm/schemas.py's."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from derlink.contracts import examples
from derlink.contracts.acks import HeadEndRegistration
from derlink.cpm.enrollment.model import (
    AckOutcome,
    AnswerOutcome,
    DeviceCheckResult,
    DeviceLinkStatus,
    ExtractKind,
    ExtractState,
    SubscriptionStatus,
    SyncState,
    SyncType,
)
from derlink.cpm.schemas import External, ExternalRecord, In, Key, Note, Out, Text
from derlink.platform.openapi import example_of, model_example

# -- the enrollment request -----------------------------------------------------------------
# Oracle's shape, sent by DERMS or any external system: every field of Oracle's published
# mapping is taken, and a field it does not name is ignored and reported (cpm/schemas.py,
# External), never a reason to refuse the request.


class CustomerInfo(External):
    cisPersonId: Text = ""
    cisAccountId: Key
    name: Text = ""
    homePhone: Text = ""
    businessPhone: Text = ""
    email: Text = ""


class ProgramInfo(External):
    cisServiceAgreementId: Text = ""
    programCode: Key
    #: With a UTC offset; absent means "now".
    startDateTimeISO: AwareDatetime | None = None
    #: With a UTC offset; absent means open-ended. After the start.
    endDateTimeISO: AwareDatetime | None = None


class LocationInfo(External):
    locationId: Text = ""
    division: Text = ""
    cisPremiseId: Text = ""
    cisServicePointId: Key
    timeZone: Text = ""
    address1: Text = ""
    city: Text = ""
    country: Text = ""
    county: Text = ""
    state: Text = ""
    postal: Text = ""


class AssetCreate(External):
    sequence: int | None = None
    assetId: Text = ""
    #: The hub maps a ``MAKE!MODEL`` specification, or a make and model sent without one,
    #: through its AssetSpec lookup.
    specification: Text = ""
    make: Text = ""
    model: Text = ""
    assetType: Text = ""
    badgeNo: Text = ""
    serialNo: Text = ""
    nicId: Key
    headEndSystem: Key


class AssetInfo(External):
    installationMethod: Text = ""
    assetOwnership: Text = ""
    assetList: list[AssetCreate] = Field(default_factory=list, max_length=100)


class EnrollmentRequest(ExternalRecord):
    """Oracle's enrollment request (ENR-REQ record), cpm's enroll input."""

    messageId: Key
    #: The DERMS instance that sent the request; kept on the subscription.
    drmsInstanceId: Text = ""
    customerInfo: CustomerInfo
    programInfo: ProgramInfo
    locationInfo: LocationInfo
    #: An absent or empty asset list answers CPM-NO-DEVICES, not a validation error.
    assetInfo: AssetInfo = Field(default_factory=AssetInfo)


class EnrollmentCreated(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "enrollmentId": "E-01a2410e1d7c89c57ddc9d54e0",
                "status": "Pending",
                "syncRequestId": "SR-01a2410e1d806020fdb13c8b16",
                "ignoredFields": [],
            }
        )
    )

    enrollmentId: str
    status: SubscriptionStatus
    syncRequestId: str
    #: Fields of the request cpm does not know and ignored (ExternalRecord.ignored).
    ignoredFields: list[str] = Field(default_factory=list)


class EnrollmentCollection(BaseModel):
    """Many enrollment requests in one call; each record is validated and enrolled on its own."""

    model_config = ConfigDict(extra="forbid")
    requests: list[dict[str, Any]] = Field(min_length=1, max_length=500)


class EnrollmentOutcomeRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "messageId": "REQ-000123",
                "outcome": "Created",
                "enrollmentId": "E-01a2410e1d7c89c57ddc9d54e0",
                "syncRequestId": "SR-01a2410e1d806020fdb13c8b16",
            }
        )
    )

    messageId: str
    outcome: Literal["Created", "Exists", "Rejected"]
    enrollmentId: str | None = None
    syncRequestId: str | None = None
    code: str | None = None
    detail: str | None = None
    #: Fields of the request cpm does not know and ignored; absent when none.
    ignoredFields: list[str] | None = None


class EnrollmentCollectionResult(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "results": [
                    model_example(EnrollmentOutcomeRead),
                    {
                        "messageId": "REQ-000124",
                        "outcome": "Rejected",
                        "code": "CPM-UNKNOWN-PROGRAM",
                        "detail": "no program BYOT-WINTER",
                    },
                ]
            }
        )
    )

    results: list[EnrollmentOutcomeRead]


class EnrollmentChanged(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "enrollmentId": "E-01a2410e1d7c89c57ddc9d54e0",
                "status": "Active",
                "syncRequestId": "SR-01a2410e51837c89ddb0e8d5ab",
                "deviceId": "D-01a2410e51815a72cc57af4b0a",
            }
        )
    )

    enrollmentId: str
    status: SubscriptionStatus
    syncRequestId: str
    #: The device added, or the replacement device.
    deviceId: str | None = None


class UnenrollmentCreate(In):
    reason: Note = ""
    endDateTimeISO: AwareDatetime | None = None


class DeviceAsset(AssetCreate):
    """A device derlink's own API adds: strict, like every other block derlink defines."""

    model_config = ConfigDict(extra="forbid")


class DeviceAdd(In):
    asset: DeviceAsset


class DeviceRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "deviceId": "D-01a2410e1d7bb8cf21dda5017e",
                "headEndSystem": "ECOBEE-HE",
                "nicId": "NIC-1",
                "deviceType": "THERMOSTAT",
                "specification": "ECOBEE-ST",
                "make": "ECOBEE",
                "model": "SMARTTHERMOSTAT",
                "serialNo": "SN1",
                "badgeNo": "",
                "status": "ACTIVE",
                "headEndRegistration": "D1RE",
                "headEndMessage": "",
            }
        )
    )

    deviceId: str
    headEndSystem: str
    nicId: str
    deviceType: str
    specification: str
    make: str
    model: str
    serialNo: str
    badgeNo: str
    status: DeviceLinkStatus
    headEndRegistration: str | None
    headEndMessage: str | None


class SyncRequestRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "syncRequestId": "SR-01a2410e1d806020fdb13c8b16",
                "enrollmentId": "E-01a2410e1d7c89c57ddc9d54e0",
                "syncType": "ENROLL",
                "state": "Synchronized",
                "version": 1,
                "errorInfo": None,
                "createdAt": "2026-06-01T18:00:04.814000+00:00",
                "updatedAt": "2026-06-01T18:00:05.614000+00:00",
                "acknowledgedAt": "2026-06-01T18:00:05.614000+00:00",
            }
        )
    )

    syncRequestId: str
    enrollmentId: str
    syncType: SyncType
    state: SyncState
    version: int
    errorInfo: list[Any] | None
    createdAt: str
    updatedAt: str
    acknowledgedAt: str | None


class EnrollmentRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "enrollmentId": "E-01a2410e1d7c89c57ddc9d54e0",
                "messageId": "REQ-000123",
                "drmsInstanceId": "derms-1",
                "status": "Active",
                "programCode": "BYOT-SUMMER",
                "cisAccountId": "A1",
                "cisPersonId": "P1",
                "cisPremiseId": "PR1",
                "cisServicePointId": "SP1",
                "division": "CA",
                "startDateTimeISO": "2026-06-01T00:00:00-07:00",
                "endDateTimeISO": "2026-10-01T00:00:00-07:00",
                "version": 1,
                "devices": [model_example(DeviceRead)],
                "syncRequests": [model_example(SyncRequestRead)],
            }
        )
    )

    enrollmentId: str
    messageId: str | None
    drmsInstanceId: str
    status: SubscriptionStatus
    programCode: str
    cisAccountId: str
    cisPersonId: str
    cisPremiseId: str
    cisServicePointId: str
    division: str
    startDateTimeISO: str
    endDateTimeISO: str | None
    version: int
    devices: list[DeviceRead]
    syncRequests: list[SyncRequestRead]


class SyncRequestPage(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [model_example(SyncRequestRead)], "next": None})
    )

    items: list[SyncRequestRead]
    next: str | None


class HistoryRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "fromState": "Awaiting Acknowledgement",
                "toState": "Synchronized",
                "at": "2026-06-01T18:00:05.614000+00:00",
                "actor": "hub",
                "note": None,
            }
        )
    )

    fromState: str | None
    toState: str
    at: str
    actor: str
    note: str | None


class DiscardCreate(In):
    note: Note = ""


# -- acknowledgements (postAcknowledgement) -------------------------------------------------


class ExceptionInfo(BaseModel):
    """Oracle's exceptionInfo entry; kept as sent, further fields included."""

    model_config = ConfigDict(extra="allow")

    messageCategory: Note = ""
    messageNumber: Text | int = ""
    messageParameters: list[Any] = Field(default_factory=list)
    comments: Note = ""


class DeviceHeadendStatus(In):
    deviceId: Key
    headEndRegistration: HeadEndRegistration
    message: Note = ""


class AcknowledgementCreate(In):
    syncRequestId: Key
    hasError: bool = False
    exceptionInfo: list[ExceptionInfo] = Field(default_factory=list)
    deviceHeadendStatus: list[DeviceHeadendStatus] = Field(default_factory=list)


class SingleAcknowledgementCreate(AcknowledgementCreate):
    """update-and-transition: the path names the sync request; the body may repeat it."""

    syncRequestId: Key | None = None  # type: ignore[assignment]


class AcknowledgementsCreate(In):
    acknowledgements: list[AcknowledgementCreate] = Field(max_length=5000)


class AckResultRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"syncRequestId": "SR-01a2410e1d806020fdb13c8b16", "outcome": "Synchronized"}
        )
    )

    syncRequestId: str
    outcome: AckOutcome
    code: str | None = None
    detail: str | None = None


class AckResultsRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"results": [model_example(AckResultRead)]})
    )

    results: list[AckResultRead]


# -- device status checks -------------------------------------------------------------------


class StatusCheckCreated(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"dacsMessageId": "DS-01a2410e518617e3fbb3e36f67"})
    )

    dacsMessageId: str


class DeviceStatusResponseCreate(In):
    transactionId: Key
    status: DeviceCheckResult
    message: Note = ""


class DeviceStatusResponsesCreate(In):
    responses: list[DeviceStatusResponseCreate] = Field(max_length=5000)


class DeviceStatusResultRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"transactionId": "DS-01a2410e518617e3fbb3e36f67", "outcome": "Recorded"}
        )
    )

    transactionId: str
    outcome: AnswerOutcome
    code: str | None = None
    detail: str | None = None


class DeviceStatusResultsRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"results": [model_example(DeviceStatusResultRead)]})
    )

    results: list[DeviceStatusResultRead]


# -- enrollment extracts (OUAI-ENR) ---------------------------------------------------------


class ExtractCreate(In):
    #: INITIAL: every Active subscription; INCREMENTAL: what changed since the last extract.
    kind: ExtractKind


class ExtractRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "extractId": "EX-01a2410e3dd32fc5421de0607e",
                "kind": "INITIAL",
                "state": "Completed",
                "fileName": examples.EXTRACT_FILE,
                "rows": 1,
                "startedAt": "2026-06-01T19:00:00.099000+00:00",
                "finishedAt": "2026-06-01T19:00:00.110000+00:00",
                "error": None,
            }
        )
    )

    extractId: str
    kind: ExtractKind
    state: ExtractState
    #: The file on cpm's content server; null when there were no rows, or the extract failed.
    fileName: str | None
    rows: int
    startedAt: str
    finishedAt: str | None
    error: str | None


# -- reconciliation -------------------------------------------------------------------------


class ReconciliationItemRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "subscriptionId": "E-01a2410e1d7c89c57ddc9d54e0",
                "status": "Active",
                "programCode": "BYOT-SUMMER",
                "cisServicePointId": "SP1",
                "devices": ["ECOBEE-HE!NIC-1"],
            }
        )
    )

    subscriptionId: str
    status: SubscriptionStatus
    programCode: str
    cisServicePointId: str
    devices: list[str]


class SubscriptionListItemRead(ReconciliationItemRead):
    """A subscription of the list, with its account and its customer's name."""

    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                **model_example(ReconciliationItemRead),
                "cisAccountId": "ACC1",
                "customerName": "Ada Lovelace",
            }
        )
    )

    cisAccountId: str
    #: The name of the customer (CIS person) of the account; "" when cpm holds none.
    customerName: str


class SubscriptionPage(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"items": [model_example(SubscriptionListItemRead)], "next": None}
        )
    )

    items: list[SubscriptionListItemRead]
    next: str | None


class ReconciliationPage(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"items": [model_example(ReconciliationItemRead)], "next": None}
        )
    )

    items: list[ReconciliationItemRead]
    next: str | None
