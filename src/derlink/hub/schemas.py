"""Wire schemas of the hub's intake: one batch shape per flow. Records are validated for the
fields the hub reads (identifiers, correlation keys); the rest passes through to the target,
which validates its own contract."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from derlink.contracts import examples
from derlink.platform.openapi import example_of, model_example

BatchId = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:\-]+$")
#: An identifier of a record: the hub keeps it as a search key (a column of 200 characters).
RecordId = Field(min_length=1, max_length=200)

#: A date, a time to the second (a fraction allowed) and a UTC offset or Z.
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")


def _timestamp(value: str) -> str:
    """An acknowledgement's timestamp, kept as it was sent."""
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
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of(
            {"batchId": "cpm-sync-000451", "messages": [examples.ENROLL_SYNC]}
        ),
    )

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
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of(
            {"batchId": "derms-ack-000212", "acks": [examples.ENROLL_ACK]}
        ),
    )

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
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of(
            {"batchId": "derms-req-000087", "requests": [examples.ENROLLMENT_REQUEST]}
        ),
    )

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
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of(
            {"batchId": "cpm-status-000019", "messages": [examples.STATUS_CHECK]}
        ),
    )

    batchId: str = BatchId
    messages: list[StatusCheck] = Field(min_length=1, max_length=5000)


class StatusAnswer(_Open):
    transactionId: str = RecordId
    status: Literal["SUCCESS", "FAILURE"]
    message: str = Field(default="", max_length=4000)


class StatusAnswerBatch(_Closed):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of(
            {"batchId": "derms-status-000019", "responses": [examples.STATUS_ANSWER]}
        ),
    )

    batchId: str = BatchId
    responses: list[StatusAnswer] = Field(min_length=1, max_length=5000)


# PROG-RULE and AGGREGATOR (cpm → hub): master data for DERMS, docs/contracts/master-data.md
class RuleTerms(_Open):
    """The fields of a rule the hub maps through its lookups."""

    allowEventDays: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=10
    )
    cycleFrequency: str = RecordId


class ProgramBlock(_Open):
    code: str = RecordId


class ProgramRules(_Open):
    dacsMessageId: str = Field(min_length=1, max_length=100)
    program: ProgramBlock
    version: int = Field(ge=1, le=VERSION_MAX)
    rules: list[RuleTerms] = Field(max_length=100)


class ProgramRulesBatch(_Closed):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of(
            {"batchId": "cpm-prog-rule-000004", "programs": [examples.PROGRAM_RULES]}
        ),
    )

    batchId: str = BatchId
    programs: list[ProgramRules] = Field(min_length=1, max_length=5000)


class Aggregator(_Open):
    dacsMessageId: str = Field(min_length=1, max_length=100)
    code: str = RecordId
    version: int = Field(ge=1, le=VERSION_MAX)


class AggregatorBatch(_Closed):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of(
            {"batchId": "cpm-aggregator-000002", "aggregators": [examples.AGGREGATOR]}
        ),
    )

    batchId: str = BatchId
    aggregators: list[Aggregator] = Field(min_length=1, max_length=5000)


# OPT-OUT (cpm → hub): a participation's opt-out for DERMS, docs/contracts/opt-outs.md
class OptOut(_Open):
    dacsMessageId: str = Field(min_length=1, max_length=100)
    participationId: str = RecordId
    programEventId: str = RecordId
    eventExternalIdentifier: str = RecordId
    externalIdentifier: str = RecordId
    programCode: str = RecordId
    headEndSystem: str = RecordId
    nicId: str = RecordId
    deviceId: str = RecordId
    optOutDateTime: Timestamp
    channel: Literal["CUSTOMER", "CSR"]
    version: int = Field(ge=1, le=VERSION_MAX)


class OptOutBatch(_Closed):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of(
            {"batchId": "OPT-OUT-019a2b3c4d5e6f708192a3b4d0", "optOuts": [examples.OPT_OUT]}
        ),
    )

    batchId: str = BatchId
    optOuts: list[OptOut] = Field(min_length=1, max_length=5000)


# UNAVAIL (cpm → hub): a device's unavailability period for DERMS, docs/contracts/unavailability.md
class Unavailability(_Open):
    dacsMessageId: str = Field(min_length=1, max_length=100)
    unavailabilityId: str = RecordId
    headEndSystem: str = RecordId
    nicId: str = RecordId
    start: Timestamp
    end: Timestamp
    status: Literal["ACTIVE", "CANCELED"]
    #: DERMS keeps up to 500 characters (cpm sends at most 254).
    reason: str = Field(default="", max_length=500)
    version: int = Field(ge=1, le=VERSION_MAX)


class UnavailabilityBatch(_Closed):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of(
            {"batchId": "UNAVAIL-019a2b3c4d5e6f708192a3b4d4",
             "unavailabilities": [examples.UNAVAILABILITY]}
        ),
    )  # fmt: skip

    batchId: str = BatchId
    unavailabilities: list[Unavailability] = Field(min_length=1, max_length=5000)


# EVT-STATUS (DERMS → hub): a stage's transition for cpm, docs/contracts/event-status.md
class EventStatus(_Open):
    messageId: str = Field(min_length=1, max_length=100)
    eventId: str = RecordId
    stageId: str = RecordId
    programCode: str = RecordId
    programExternalId: str = Field(default="", max_length=200)
    eventType: str = RecordId
    status: Literal["Scheduled", "In Progress", "Completed", "Canceled"]
    startDateTime: AwareDatetime
    endDateTime: AwareDatetime
    cancelReason: str = Field(default="", max_length=500)


class EventStatusBatch(_Closed):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of(
            {"batchId": "EVT-STATUS-019a2b3c4d5e6f70", "statuses": [examples.EVENT_STATUS]}
        ),
    )

    batchId: str = BatchId
    statuses: list[EventStatus] = Field(min_length=1, max_length=5000)


# EVT-RESERVE (DERMS → hub): a stage's reservation file, docs/contracts/event-reservations.md
class ReservationFile(_Open):
    messageId: str = Field(min_length=1, max_length=100)
    eventId: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")
    stageId: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")
    programCode: str = RecordId
    programExternalId: str = Field(default="", max_length=200)
    eventType: str = RecordId
    eventStartDateTime: AwareDatetime
    eventEndDateTime: AwareDatetime
    fileName: str = Field(min_length=1, max_length=200)
    size: int = Field(ge=0, le=2**62)


class ReservationBatch(_Closed):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of(
            {"batchId": "EVT-RESERVE-019a2b3c4d5e6f70", "reservations": [examples.RESERVATION]}
        ),
    )

    batchId: str = BatchId
    #: One file a message: one hub instance per file.
    reservations: list[ReservationFile] = Field(min_length=1, max_length=1)


# EVT-OUTCOME (DERMS → hub): an outcome file, docs/contracts/event-outcomes.md
class OutcomeFile(_Open):
    messageId: str = Field(min_length=1, max_length=100)
    seq: int = Field(ge=1, le=2**31 - 1)
    fileName: str = Field(min_length=1, max_length=200)
    rows: int = Field(ge=0, le=2**62)
    size: int = Field(ge=0, le=2**62)
    stageIds: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        default_factory=list, max_length=100_000
    )
    eventIds: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        default_factory=list, max_length=100_000
    )


class OutcomeBatch(_Closed):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of(
            {"batchId": "EVT-OUTCOME-019a2b3c4d5e6f71", "outcomes": [examples.OUTCOME_FILE]}
        ),
    )

    batchId: str = BatchId
    #: One file a message: one hub instance per file.
    outcomes: list[OutcomeFile] = Field(min_length=1, max_length=1)


# Scheduled flows: one record per run, saying when and who asked
class ScheduledRun(_Open):
    scheduledAt: str = RecordId
    requestedBy: str = Field(default="schedule", max_length=80)


class ScheduledBatch(_Closed):
    batchId: str = BatchId
    runs: list[ScheduledRun] = Field(min_length=1, max_length=1)


# Operations
class Accepted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "instanceId": "ENR-SYNC:ENR-SYNC-01a2410e1ec1a6c5f58f8dd4db",
                "status": "Received",
                "records": 1,
                "duplicate": False,
            }
        )
    )

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


# Answers of the operations API (the console and the CLI read the same)
class FlowRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "code": "ENR-SYNC",
                "name": "Enrollment Synchronization",
                "source": "cpm",
                "target": "derms",
                "trigger": "message",
                "schedule": None,
                "status": "active",
                "instances": {"Completed": 1843, "Faulted": 2},
            }
        )
    )

    code: str
    name: str
    source: str
    target: str
    trigger: str
    #: The cron schedule of a scheduled or file flow; none for a flow that senders push to.
    schedule: str | None
    status: Literal["active", "paused"]
    #: Instances of the flow by status.
    instances: dict[str, int]


class FlowPaused(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"flow": "ENR-SYNC", "status": "paused"})
    )

    flow: str
    status: Literal["paused"]


class FlowResumed(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"flow": "ENR-SYNC", "status": "active", "released": 12})
    )

    flow: str
    status: Literal["active"]
    #: Instances held while the flow was paused, now queued.
    released: int


class FlowStarted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "flow": "RECONCILE",
                "status": "started",
                "instanceId": "RECONCILE:manual-01a2410e518c430f2221127e28",
                "instances": ["RECONCILE:manual-01a2410e518c430f2221127e28"],
            }
        )
    )

    flow: str
    status: Literal["started", "nothing to do"]
    #: The first instance started (a scheduled flow starts one; a file flow one per file).
    instanceId: str | None
    instances: list[str]


class InstanceRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "id": "ENR-SYNC:ENR-SYNC-01a2410e1ec1a6c5f58f8dd4db",
                "flow": "ENR-SYNC",
                "status": "Completed",
                "batch_id": "ENR-SYNC-01a2410e1ec1a6c5f58f8dd4db",
                "sender": "cpm",
                "received_at": "2026-06-01T18:00:05.167000+00:00",
                "updated_at": "2026-06-01T18:00:05.183000+00:00",
                "records": 1,
                "succeeded": 1,
                "failed": 0,
                "runs": 1,
                "fault_category": None,
                "fault_step": None,
                "fault_message": None,
            }
        )
    )

    id: str
    flow: str
    status: str
    batch_id: str
    sender: str
    received_at: str
    updated_at: str
    records: int
    succeeded: int | None
    failed: int | None
    runs: int
    fault_category: str | None
    fault_step: str | None
    fault_message: str | None


class InstanceKey(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "name": "syncRequestId",
                "value": "SR-01a2410e1d806020fdb13c8b16",
                "primary_key": True,
            }
        )
    )

    name: str
    value: str
    primary_key: bool


class TimelineEntry(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "at": "2026-06-01T18:00:05.180000+00:00",
                "step": "deliver-derms",
                "outcome": "ok",
                "elapsed_ms": 9.5,
                "detail": "",
            }
        )
    )

    at: str
    step: str
    outcome: str
    elapsed_ms: float | None
    detail: str | None


class HospitalAction(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "action": "resubmit",
                "actor": "ann via operator",
                "at": "2026-06-01T18:20:00.000000+00:00",
                "note": "DERMS is back",
            }
        )
    )

    action: str
    actor: str
    at: str
    note: str | None


class InstanceDetail(InstanceRead):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                **model_example(InstanceRead),
                "finished_at": "2026-06-01T18:00:05.183000+00:00",
                "payload": model_example(EnrollSyncBatch),
                "outcome": {
                    "processed": 1,
                    "succeeded": 1,
                    "failed": 0,
                    "errors": [],
                    "duplicates": 0,
                },
                "keys": [model_example(InstanceKey)],
                "timeline": [
                    {
                        "at": "2026-06-01T18:00:05.167000+00:00",
                        "step": "received",
                        "outcome": "Received",
                        "elapsed_ms": None,
                        "detail": "1 record(s) from cpm",
                    },
                    model_example(TimelineEntry),
                ],
                "actions": [model_example(HospitalAction)],
            }
        )
    )

    finished_at: str | None
    #: The message as received, secrets masked.
    payload: dict[str, Any]
    #: What the flow's run answered, per record (none until it ends).
    outcome: dict[str, Any] | None
    keys: list[InstanceKey]
    timeline: list[TimelineEntry]
    actions: list[HospitalAction]


class Resubmitted(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"resubmitted": ["ENR-SYNC:ENR-SYNC-01a2410e1ec1a6c5f58f8dd4db"]}
        )
    )

    resubmitted: list[str]


class Discarded(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"discarded": ["ENR-SYNC:ENR-SYNC-01a2410e1ec1a6c5f58f8dd4db"]}
        )
    )

    discarded: list[str]


class LookupSet(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"name": "AssetSpec", "key": "ECOBEE!SMARTTHERMOSTAT", "value": "ECOBEE-ST"}
        )
    )

    name: str
    key: str
    #: None: the entry was removed.
    value: str | None


class HubHealth(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "status": "DEGRADED",
                "targets": {
                    "cpm": "UP",
                    "derms": "DOWN: derms unreachable: connection refused",
                    "analytics": "UP",
                },
            }
        )
    )

    status: Literal["UP", "DEGRADED"]
    #: Each part's answer to a health check (cpm, derms, and analytics where the hub reaches
    #: it): UP, or DOWN/ERROR with the reason.
    targets: dict[str, str]


class Difference(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "subscriptionId": "E-01a2410e1d7c89c57ddc9d54e0",
                "difference": "active in cpm, missing in DERMS",
            }
        )
    )

    subscriptionId: str
    difference: str


class Reconciliation(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"compared": 20000, "differences": 1, "items": [model_example(Difference)]}
        )
    )

    compared: int
    differences: int
    items: list[Difference]


RUN_EXAMPLE: dict[str, Any] = {
    "instanceId": "RECONCILE:manual-01a2410e518c430f2221127e28",
    "status": "Completed with errors",
    "startedBy": "operator",
    "receivedAt": "2026-07-01T18:00:00+00:00",
    "finishedAt": "2026-07-01T18:00:04+00:00",
    "compared": 20000,
    "differences": 1,
}


class ReconciliationRun(BaseModel):
    """One run of the reconciliation (flow RECONCILE), whoever started it: its schedule, the
    console or ``derlink reconcile``."""

    model_config = ConfigDict(json_schema_extra=example_of(RUN_EXAMPLE))

    instanceId: str
    #: Received, Running, Completed, Completed with errors (differences found) or Faulted.
    status: str
    #: "schedule", or the client (or ``<user> via <client>``) that started it.
    startedBy: str
    receivedAt: str
    finishedAt: str | None
    #: Subscriptions compared and differences found; null until the run finishes.
    compared: int | None
    differences: int | None


class ReconciliationRunDetail(ReconciliationRun):
    """A run with its differences (the first 1,000 kept; ``differences`` counts them all)."""

    model_config = ConfigDict(
        json_schema_extra=example_of({**RUN_EXAMPLE, "items": [model_example(Difference)]})
    )

    items: list[Difference]


class Stats(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "instances": {"ENR-SYNC": {"Completed": 1843, "Faulted": 2}},
                "byStatus": {"Completed": 1843, "Faulted": 2},
                "hospital": 2,
                "recordErrors": {"ENR-REQ": {"CPM-UNKNOWN-PROGRAM": 3}},
                "activeRuns": 0,
            }
        )
    )

    #: Instances by flow, then status.
    instances: dict[str, dict[str, int]]
    byStatus: dict[str, int]
    hospital: int
    #: Records refused on business grounds, by flow, then code.
    recordErrors: dict[str, dict[str, int]]
    activeRuns: int
