"""cpm's wire schemas, with the Oracle field names (SPEC §2.3, docs/contracts/enrollment.md).

Named by direction: ``...Create`` comes in, ``...Read`` goes out. Incoming blocks forbid
unknown fields, so a misspelt field answers 422 naming it; Oracle's optional text fields may be
absent or null and read as "".
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from derlink.contracts.acks import HeadEndRegistration
from derlink.cpm.catalog import MAX_MASTER_DATA_RECORDS
from derlink.cpm.model import (
    AckOutcome,
    AggregatorStatus,
    AnswerOutcome,
    DeviceCheckResult,
    DeviceLinkStatus,
    ExtractKind,
    ExtractState,
    ProgramStatus,
    SettlementMethod,
    SubscriptionStatus,
    SyncState,
    SyncType,
)


def _blank_if_none(value: Any) -> Any:
    return "" if value is None else value


#: Optional Oracle text: absent or null reads as "" (as long as cpm's text columns).
Text = Annotated[str, BeforeValidator(_blank_if_none), StringConstraints(max_length=200)]
#: A message or comment from another system: kept whole, within reason.
Note = Annotated[str, BeforeValidator(_blank_if_none), StringConstraints(max_length=4000)]
#: A required identifier: present, not blank (as long as cpm's identifier columns).
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    pass


# -- the enrollment request -----------------------------------------------------------------


class CustomerInfo(_In):
    cisPersonId: Text = ""
    cisAccountId: Key
    name: Text = ""
    homePhone: Text = ""
    businessPhone: Text = ""
    email: Text = ""


class ProgramInfo(_In):
    cisServiceAgreementId: Text = ""
    programCode: Key
    #: With a UTC offset; absent means "now".
    startDateTimeISO: AwareDatetime | None = None


class LocationInfo(_In):
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


class AssetCreate(_In):
    sequence: int | None = None
    assetId: Text = ""
    #: Filled by the hub from the AssetSpec lookup (MAKE!MODEL) when derms sent make and model.
    specification: Text = ""
    make: Text = ""
    model: Text = ""
    assetType: Text = ""
    badgeNo: Text = ""
    serialNo: Text = ""
    nicId: Key
    headEndSystem: Key


class AssetInfo(_In):
    installationMethod: Text = ""
    assetOwnership: Text = ""
    assetList: list[AssetCreate] = Field(default_factory=list, max_length=100)


class EnrollmentRequest(_In):
    """Oracle's enrollment request (ENR-REQ record), cpm's enroll input."""

    messageId: Key
    customerInfo: CustomerInfo
    programInfo: ProgramInfo
    locationInfo: LocationInfo
    #: An absent or empty asset list answers CPM-NO-DEVICES, not a validation error.
    assetInfo: AssetInfo = Field(default_factory=AssetInfo)


class EnrollmentCreated(_Out):
    enrollmentId: str
    status: SubscriptionStatus
    syncRequestId: str


class EnrollmentCollection(BaseModel):
    """Many enrollment requests in one call; each record is validated and enrolled on its own."""

    model_config = ConfigDict(extra="forbid")
    requests: list[dict[str, Any]] = Field(min_length=1, max_length=500)


class EnrollmentOutcomeRead(_Out):
    messageId: str
    outcome: Literal["Created", "Exists", "Rejected"]
    enrollmentId: str | None = None
    syncRequestId: str | None = None
    code: str | None = None
    detail: str | None = None


class EnrollmentCollectionResult(_Out):
    results: list[EnrollmentOutcomeRead]


class EnrollmentChanged(_Out):
    enrollmentId: str
    status: SubscriptionStatus
    syncRequestId: str
    #: The device added, or the replacement device.
    deviceId: str | None = None


class UnenrollmentCreate(_In):
    reason: Note = ""
    endDateTimeISO: AwareDatetime | None = None


class DeviceAdd(_In):
    asset: AssetCreate


class DeviceRead(_Out):
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


class SyncRequestRead(_Out):
    syncRequestId: str
    enrollmentId: str
    syncType: SyncType
    state: SyncState
    version: int
    errorInfo: list[Any] | None
    createdAt: str
    updatedAt: str
    acknowledgedAt: str | None


class EnrollmentRead(_Out):
    enrollmentId: str
    messageId: str | None
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


class SyncRequestPage(_Out):
    items: list[SyncRequestRead]
    next: str | None


class HistoryRead(_Out):
    fromState: str | None
    toState: str
    at: str
    actor: str
    note: str | None


class DiscardCreate(_In):
    note: Note = ""


# -- acknowledgements (postAcknowledgement) -------------------------------------------------


class ExceptionInfo(BaseModel):
    """Oracle's exceptionInfo entry; kept as sent, further fields included."""

    model_config = ConfigDict(extra="allow")

    messageCategory: Note = ""
    messageNumber: str | int = ""
    messageParameters: list[Any] = Field(default_factory=list)
    comments: Note = ""


class DeviceHeadendStatus(_In):
    deviceId: Key
    headEndRegistration: HeadEndRegistration
    message: Note = ""


class AcknowledgementCreate(_In):
    syncRequestId: Key
    hasError: bool = False
    exceptionInfo: list[ExceptionInfo] = Field(default_factory=list)
    deviceHeadendStatus: list[DeviceHeadendStatus] = Field(default_factory=list)


class SingleAcknowledgementCreate(AcknowledgementCreate):
    """update-and-transition: the path names the sync request; the body may repeat it."""

    syncRequestId: Key | None = None  # type: ignore[assignment]


class AcknowledgementsCreate(_In):
    acknowledgements: list[AcknowledgementCreate] = Field(max_length=5000)


class AckResultRead(_Out):
    syncRequestId: str
    outcome: AckOutcome
    code: str | None = None
    detail: str | None = None


class AckResultsRead(_Out):
    results: list[AckResultRead]


# -- device status checks -------------------------------------------------------------------


class StatusCheckCreated(_Out):
    dacsMessageId: str


class DeviceStatusResponseCreate(_In):
    transactionId: Key
    status: DeviceCheckResult
    message: Note = ""


class DeviceStatusResponsesCreate(_In):
    responses: list[DeviceStatusResponseCreate] = Field(max_length=5000)


class DeviceStatusResultRead(_Out):
    transactionId: str
    outcome: AnswerOutcome
    code: str | None = None


class DeviceStatusResultsRead(_Out):
    results: list[DeviceStatusResultRead]


# -- enrollment extracts (OUAI-ENR) ---------------------------------------------------------


class ExtractCreate(_In):
    #: INITIAL: every Active subscription; INCREMENTAL: what changed since the last extract.
    kind: ExtractKind


class ExtractRead(_Out):
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


class ReconciliationItemRead(_Out):
    subscriptionId: str
    status: SubscriptionStatus
    programCode: str
    cisServicePointId: str
    devices: list[str]


class ReconciliationPage(_Out):
    items: list[ReconciliationItemRead]
    next: str | None


# -- programs and aggregators ---------------------------------------------------------------


class ProgramCreate(_In):
    programCode: Key
    name: Text = ""
    programType: Text = ""
    status: ProgramStatus = ProgramStatus.ACTIVE
    #: The specifications a device must have; empty means the program takes any.
    eligibleSpecifications: list[Key] = Field(default_factory=list, max_length=1000)
    settlementMethod: SettlementMethod = SettlementMethod.KWH_AVOIDED


class ProgramRead(_Out):
    programId: str
    programCode: str
    name: str
    programType: str
    status: ProgramStatus
    eligibleSpecifications: list[str]
    settlementMethod: SettlementMethod
    createdAt: str


class AggregatorCreate(_In):
    code: Key
    name: Text = ""
    status: AggregatorStatus = AggregatorStatus.ACTIVE


class AggregatorRead(_Out):
    aggregatorId: str
    code: str
    name: str
    status: AggregatorStatus
    createdAt: str


# -- master data ----------------------------------------------------------------------------


class PersonLoad(_In):
    cisPersonId: Key
    name: Text = ""
    email: Text = ""
    homePhone: Text = ""
    businessPhone: Text = ""


class AccountLoad(_In):
    cisAccountId: Key
    cisPersonId: Key


class PremiseLoad(_In):
    cisPremiseId: Key
    cisAccountId: Key
    address1: Text = ""
    city: Text = ""
    state: Text = ""
    postal: Text = ""
    country: Text = ""
    county: Text = ""
    division: Text = ""
    timeZone: Text = ""


class ServicePointLoad(_In):
    cisServicePointId: Key
    cisPremiseId: Key
    division: Text = ""


class MasterDataLoad(_In):
    persons: list[PersonLoad] = Field(default_factory=list)
    accounts: list[AccountLoad] = Field(default_factory=list)
    premises: list[PremiseLoad] = Field(default_factory=list)
    servicePoints: list[ServicePointLoad] = Field(default_factory=list)

    @model_validator(mode="after")
    def _within_limit(self) -> MasterDataLoad:
        total = (
            len(self.persons) + len(self.accounts) + len(self.premises) + len(self.servicePoints)
        )
        if total > MAX_MASTER_DATA_RECORDS:
            raise ValueError(f"{total} records in one call; the limit is {MAX_MASTER_DATA_RECORDS}")
        return self


class RejectedRecordRead(_Out):
    kind: str
    index: int
    cisId: str
    reason: str


class MasterDataLoaded(_Out):
    persons: int
    accounts: int
    premises: int
    servicePoints: int
    rejected: list[RejectedRecordRead]


class HealthRead(_Out):
    status: str
