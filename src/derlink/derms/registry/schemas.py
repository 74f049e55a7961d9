"""derms's wire schemas, in the contract's own field names (docs/contracts/enrollment.md).

Inbound schemas ignore fields they do not know, so that a sender may add some. The originated
enrollment request keeps every field it was sent with, because derms passes it on as it came.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from derlink.derms.db import EXT, TS
from derlink.derms.registry import model as domain
from derlink.platform.openapi import example_of, model_example

#: Strings in their columns' sizes: a longer one is refused with 422 rather than failing the
#: write on PostgreSQL (SQLite would store it whole).
Text = Annotated[str, StringConstraints(min_length=1, max_length=EXT)]
MaybeText = Annotated[str, StringConstraints(max_length=EXT)] | None
MaybeStamp = Annotated[str, StringConstraints(max_length=TS)] | None

#: The largest subscription version the registry stores (its column is a 32-bit integer on
#: PostgreSQL): a larger one is refused with 422 rather than failing the insert (a 500).
VERSION_MAX = 2**31 - 1


class Inbound(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PassedOn(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- DERMS Enroll (ENR-SYNC) ---------------------------------------------------------------


class ControllableDevice(Inbound):
    deviceId: Text
    deviceType: MaybeText = None
    specification: MaybeText = None
    make: MaybeText = None
    model: MaybeText = None
    # A missing key part is a business error (DERMS-INVALID-DEVICE in the MsgAck), not a 422.
    headEndSystem: MaybeText = None
    nicId: MaybeText = None
    serialNo: MaybeText = None
    badgeNo: MaybeText = None
    status: Literal["ACTIVE", "REMOVED"] = "ACTIVE"


class ContactInfo(Inbound):
    contactId: MaybeText = None
    cisPersonId: MaybeText = None


class SubscriptionInfo(Inbound):
    subscriptionId: Text
    cisAccountId: MaybeText = None
    subscriptionType: MaybeText = None
    status: Literal["ACTIVE", "INACTIVE"]
    programId: MaybeText = None
    programCode: MaybeText = None
    startDateTimeISO: MaybeStamp = None
    endDateTimeISO: MaybeStamp = None
    version: int = Field(ge=0, le=VERSION_MAX)


class SyncLocationInfo(Inbound):
    division: MaybeText = None
    servicePointId: MaybeText = None
    cisPremiseId: MaybeText = None
    cisServicePointId: MaybeText = None
    controllableDevices: list[ControllableDevice] = Field(default_factory=list)


class EnrollSync(Inbound):
    dacsMessageId: Text
    syncType: Literal["ENROLL", "UNENROLL", "ADD_DEVICE", "DEVICE_REPLACEMENT"]
    contactInfo: ContactInfo | None = None
    subscriptionInfo: SubscriptionInfo
    locationInfo: SyncLocationInfo = Field(default_factory=SyncLocationInfo)

    def to_domain(self) -> domain.EnrollSync:
        sub, loc = self.subscriptionInfo, self.locationInfo
        return domain.EnrollSync(
            dacs_message_id=self.dacsMessageId,
            sync_type=domain.SyncType(self.syncType),
            subscription_id=sub.subscriptionId,
            status=domain.SubscriptionStatus(sub.status),
            version=sub.version,
            devices=tuple(
                domain.SyncDevice(
                    device_id=d.deviceId,
                    head_end_system=d.headEndSystem or "",
                    nic_id=d.nicId or "",
                    status=domain.DeviceStatus(d.status),
                    device_type=d.deviceType or "",
                    specification=d.specification or "",
                )
                for d in loc.controllableDevices
            ),
            program_code=sub.programCode or "",
            program_id=sub.programId or "",
            cis_account_id=sub.cisAccountId or "",
            cis_service_point_id=loc.cisServicePointId or "",
            service_point_id=loc.servicePointId or "",
            division=loc.division or "",
            starts_at=sub.startDateTimeISO,
            ends_at=sub.endDateTimeISO,
        )


class EnrollBatch(Inbound):
    batchId: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    messages: list[EnrollSync] = Field(min_length=1)


class BatchReceipt(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of({"accepted": 1, "duplicates": 0}))

    accepted: int
    duplicates: int


# --- MsgAck --------------------------------------------------------------------------------


#: The longest value of a response: a refusal's reason (kept as text); an accepted request's
#: value is its enrollment id, at most EXT characters like every id.
ACK_VALUE = 4000


class AckResponse(Inbound):
    id: Text
    value: Annotated[str, StringConstraints(max_length=ACK_VALUE)] | None = None
    responseCode: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    responseTimeISO: MaybeStamp = None
    dacsMessageId: MaybeText = None

    @model_validator(mode="after")
    def _an_id_fits(self) -> AckResponse:
        if self.responseCode == "SUCCESS" and len(self.value or "") > EXT:
            raise ValueError(
                f"value: the enrollment id of a SUCCESS has at most {EXT} characters, "
                f"not {len(self.value or '')}"
            )
        return self


class MsgAck(Inbound):
    ackType: Literal["SUCCESS", "ERROR", "FAILURE"]
    whenISO: MaybeStamp = None
    responses: list[AckResponse] = Field(default_factory=list)


class RequestAckResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"messageId": "REQ-000123", "outcome": "Accepted"})
    )

    messageId: str
    #: Accepted, Rejected, Duplicate (already final) or Unknown (derms never originated it).
    outcome: str


class RequestAckResults(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"results": [model_example(RequestAckResult)]})
    )

    results: list[RequestAckResult]


# --- EnrollmentRequest (ENR-REQ), Oracle's shape ---------------------------------------------


class CustomerInfo(PassedOn):
    cisAccountId: Text


class ProgramInfo(PassedOn):
    programCode: Text


class RequestLocationInfo(PassedOn):
    cisServicePointId: Text


class Asset(PassedOn):
    nicId: Text
    headEndSystem: Text
    specification: MaybeText = None
    make: MaybeText = None
    model: MaybeText = None

    @model_validator(mode="after")
    def _named(self) -> Asset:
        # The hub fills the specification from the AssetSpec lookup (MAKE!MODEL) otherwise.
        if not self.specification and not (self.make and self.model):
            raise ValueError("an asset needs a specification, or a make and a model")
        return self


class AssetInfo(PassedOn):
    assetList: list[Asset] = Field(min_length=1)


class EnrollmentRequest(PassedOn):
    messageId: Text
    customerInfo: CustomerInfo
    programInfo: ProgramInfo
    locationInfo: RequestLocationInfo
    assetInfo: AssetInfo

    def payload(self) -> dict[str, Any]:
        """The request as it was sent, every field kept."""
        return self.model_dump(mode="json", exclude_unset=True)


class OriginateRequest(Inbound):
    requests: list[EnrollmentRequest] = Field(min_length=1)


OriginationCounts = dict[str, int]


# --- Device status check (DEV-STATUS) --------------------------------------------------------


class DeviceInfo(Inbound):
    division: MaybeText = None
    deviceType: MaybeText = None
    specification: MaybeText = None
    headEndSystem: Text
    nicId: Text


class StatusCheck(Inbound):
    dacsMessageId: Text
    deviceInfo: DeviceInfo


class StatusCheckBatch(Inbound):
    batchId: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    messages: list[StatusCheck] = Field(min_length=1)


# --- Registry --------------------------------------------------------------------------------


class RegistryItem(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "subscriptionId": "E-01a2410e1d7c89c57ddc9d54e0",
                "status": "ACTIVE",
                "programCode": "BYOT-SUMMER",
                "cisServicePointId": "SP1",
                "cisAccountId": "A1",
                "devices": ["ECOBEE-HE!NIC-1"],
                "version": 1,
            }
        )
    )

    subscriptionId: str
    status: str
    programCode: str
    cisServicePointId: str
    cisAccountId: str
    #: ``HE!NIC`` of the subscription's ACTIVE devices, sorted.
    devices: list[str]
    version: int


class RegistryPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [model_example(RegistryItem)], "next": None})
    )

    items: list[RegistryItem]
    next: str | None


class RegistryDevice(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "deviceId": "D-01a2410e1d7bb8cf21dda5017e",
                "headEndSystem": "ECOBEE-HE",
                "nicId": "NIC-1",
                "status": "ACTIVE",
                "registration": "D1RE",
                "deviceType": "THERMOSTAT",
                "specification": "ECOBEE-ST",
            }
        )
    )

    deviceId: str
    headEndSystem: str
    nicId: str
    status: str
    registration: str
    deviceType: str
    specification: str


class RegistryEntry(RegistryItem):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                **model_example(RegistryItem),
                "programId": "PG-01a2410e1d4a070bfccdadc212",
                "servicePointId": "SPX-01a2410e1d79d64b4ff06ea7c3",
                "division": "CA",
                "startDateTimeISO": "2026-06-01T07:00:00.000Z",
                "endDateTimeISO": None,
                "lastDacsMessageId": "SR-01a2410e1d806020fdb13c8b16",
                "registrations": [model_example(RegistryDevice)],
            }
        )
    )

    programId: str
    servicePointId: str
    division: str
    startDateTimeISO: str | None
    endDateTimeISO: str | None
    lastDacsMessageId: str
    #: Every device the subscription holds, removed ones included.
    registrations: list[RegistryDevice]


class HeadEndCodes(Inbound):
    codes: list[Text] = Field(min_length=1)


class HeadEndRegistration(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of({"added": ["HONEYWELL-HE"]}))

    #: The codes that were new; the others were served already.
    added: list[str]


class HeadEndSystem(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"code": "ECOBEE-HE", "name": "ECOBEE-HE"})
    )

    code: str
    name: str


class HeadEndSystems(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [model_example(HeadEndSystem)]})
    )

    items: list[HeadEndSystem]
