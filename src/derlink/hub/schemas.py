"""Wire schemas of the hub's intake: one batch shape per flow. Records are validated for the
fields the hub reads (identifiers, correlation keys); the rest passes through to the target,
which validates its own contract."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

BatchId = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:\-]+$")
#: An identifier of a record: the hub keeps it as a search key (a column of 200 characters).
RecordId = Field(min_length=1, max_length=200)

#: A date, a time to the second (a fraction allowed) and a UTC offset or Z.
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")


def _timestamp(value: str) -> str:
    """An acknowledgement's timestamp (SPEC §2.2), kept as it was sent."""
    try:
        if _TIMESTAMP.fullmatch(value):
            datetime.fromisoformat(value)
            return value
    except ValueError:
        pass
    raise ValueError(
        "must be an ISO 8601 timestamp with its UTC offset, like 2026-07-01T18:00:00.000Z"
    )


#: ``whenISO``, ``responseTimeISO``: a real moment, with its offset.
Timestamp = Annotated[str, StringConstraints(max_length=40), AfterValidator(_timestamp)]

#: The largest subscription version the contract carries: cpm, DERMS and analytics each keep
#: it in an integer column, 32 bits on PostgreSQL (docs/contracts/enrollment.md).
VERSION_MAX = 2**31 - 1


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ENR-SYNC (cpm → hub): EnrollSync records, docs/contracts/enrollment.md
class SubscriptionInfo(_Open):
    subscriptionId: str = RecordId
    programCode: str = RecordId
    status: Literal["ACTIVE", "INACTIVE"]
    version: int = Field(ge=0, le=VERSION_MAX)


class SyncLocationInfo(_Open):
    cisServicePointId: str = RecordId
    controllableDevices: list[dict[str, Any]]


class EnrollSync(_Open):
    dacsMessageId: str = Field(min_length=1, max_length=100)
    syncType: Literal["ENROLL", "UNENROLL", "ADD_DEVICE", "DEVICE_REPLACEMENT"]
    subscriptionInfo: SubscriptionInfo
    locationInfo: SyncLocationInfo


class EnrollSyncBatch(_Closed):
    batchId: str = BatchId
    messages: list[EnrollSync] = Field(min_length=1, max_length=5000)


# ENR-ACK (derms → hub): MsgAck per EnrollSync
class AckResponse(_Open):
    id: str = Field(max_length=200)
    value: str = Field(default="", max_length=200)
    responseCode: str = Field(max_length=40)
    responseTimeISO: Timestamp | None = None
    dacsMessageId: str = RecordId


class MsgAck(_Open):
    ackType: Literal["SUCCESS", "ERROR", "FAILURE"]
    whenISO: Timestamp
    #: derms also names the sync request at the top, so that an ack without responses (a
    #: sync that lists no device) still correlates.
    dacsMessageId: str | None = Field(default=None, min_length=1, max_length=200)
    responses: list[AckResponse] = Field(default_factory=list)

    @model_validator(mode="after")
    def _correlates(self) -> MsgAck:
        if self.dacsMessageId is None and not self.responses:
            raise ValueError("a MsgAck needs a dacsMessageId, at the top or in its responses")
        return self


class EnrollAckBatch(_Closed):
    batchId: str = BatchId
    acks: list[MsgAck] = Field(min_length=1, max_length=5000)


# ENR-REQ (derms → hub): Oracle enrollment requests
class CustomerInfo(_Open):
    cisAccountId: str = RecordId


class ProgramInfo(_Open):
    programCode: str = RecordId


class LocationInfo(_Open):
    cisServicePointId: str = RecordId


class Asset(_Open):
    nicId: str = RecordId
    headEndSystem: str = RecordId


class AssetInfo(_Open):
    assetList: list[Asset] = Field(min_length=1)


class EnrollmentRequest(_Open):
    messageId: str = Field(min_length=1, max_length=100)
    customerInfo: CustomerInfo
    programInfo: ProgramInfo
    locationInfo: LocationInfo
    assetInfo: AssetInfo


class EnrollmentRequestBatch(_Closed):
    batchId: str = BatchId
    requests: list[EnrollmentRequest] = Field(min_length=1, max_length=5000)


# DEV-STATUS (cpm → hub) and DEV-STATUS-ACK (derms → hub)
class DeviceInfo(_Open):
    headEndSystem: str = RecordId
    nicId: str = RecordId


class StatusCheck(_Open):
    dacsMessageId: str = Field(min_length=1, max_length=100)
    deviceInfo: DeviceInfo


class StatusCheckBatch(_Closed):
    batchId: str = BatchId
    messages: list[StatusCheck] = Field(min_length=1, max_length=5000)


class StatusAnswer(_Open):
    transactionId: str = RecordId
    status: Literal["SUCCESS", "FAILURE"]
    message: str = Field(default="", max_length=4000)


class StatusAnswerBatch(_Closed):
    batchId: str = BatchId
    responses: list[StatusAnswer] = Field(min_length=1, max_length=5000)


# Scheduled flows: one record per run, saying when and who asked
class ScheduledRun(_Open):
    scheduledAt: str = RecordId
    requestedBy: str = Field(default="schedule", max_length=80)


class ScheduledBatch(_Closed):
    batchId: str = BatchId
    runs: list[ScheduledRun] = Field(min_length=1, max_length=1)


# Operations
class Accepted(BaseModel):
    instanceId: str
    status: str
    records: int
    duplicate: bool


class Selection(_Closed):
    """Instances to act on: listed ids, or every hospital instance matching a filter."""

    ids: list[Annotated[str, StringConstraints(max_length=120)]] = Field(
        default_factory=list, max_length=10_000
    )
    all: bool = False
    flow: str | None = Field(default=None, max_length=40)
    category: Literal["technical", "remote", "business"] | None = None
    note: str = Field(default="", max_length=500)


class LookupValue(_Closed):
    value: str | None = Field(max_length=400)


# File flows: one file per instance, as the listing found it
class FoundFile(_Open):
    fileName: str = Field(min_length=1, max_length=200)
    size: int = Field(ge=0)
    modified: float
    version: str = Field(min_length=1, max_length=60)
    foundAt: str = RecordId
    requestedBy: str = Field(default="schedule", max_length=80)


class FileBatch(_Closed):
    batchId: str = BatchId
    files: list[FoundFile] = Field(min_length=1, max_length=1)
