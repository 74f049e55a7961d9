"""Program events' and event participations' wire schemas, with Oracle's field names
(docs/contracts/program-events.md); the conventions are cpm/schemas.py's.

The create, the lifecycle action and the reservation are Oracle's shapes, which DERMS sends
through the hub: a field they do not name is ignored (``External``), never a reason to refuse
the message. An opt-out and an unavailability period are derlink's own (``In``): a field they do
not name is refused.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, StringConstraints

from derlink.contracts import examples
from derlink.cpm.catalog.schemas import AckCreate, MasterDataAckResult
from derlink.cpm.events.model import (
    MAX_CANCEL_REASON,
    MAX_IDENTIFIER,
    CreateOutcome,
    LifecycleAction,
    LifecycleOutcome,
    ProgramEventCategory,
    ProgramEventState,
)
from derlink.cpm.events.outcome import OutcomeResult
from derlink.cpm.events.participation import (
    MAX_DEVICES,
    MAX_HEAD_END_SYSTEM,
    MAX_NIC_ID,
    MAX_OPT_OUT_REASON,
    MAX_TIME_TEXT,
    OPT_OUT,
    OptOutChannel,
    OptOutOutcome,
    ParticipationOutcome,
    ParticipationState,
    ReservationOutcome,
)
from derlink.cpm.events.unavailability import (
    MAX_UNAVAILABILITY_REASON,
    UNAVAIL,
    CancelOutcome,
    EditOutcome,
    UnavailabilityStatus,
    kept,
)
from derlink.cpm.schemas import External, In, Out
from derlink.platform.openapi import example_of, model_example

#: A DERMS identifier (event, stage) or a program's: present, not blank, at most 120 characters.
Identifier = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_IDENTIFIER)
]
CancelReason = Annotated[str, StringConstraints(max_length=MAX_CANCEL_REASON)]
HeadEndSystem = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_HEAD_END_SYSTEM)
]
NicId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NIC_ID)
]
#: A time of a reservation: ISO-8601 with a UTC offset. Read as text and checked device by
#: device, so that one device's bad time rejects that device alone (CPM-RESERVATION-INVALID).
TimeText = Annotated[
    str | None,
    Field(max_length=MAX_TIME_TEXT, json_schema_extra={"format": "date-time"}),
]

PROGRAM_EVENT_EXAMPLE: dict[str, Any] = {
    "id": "PE-01a2410e1d806020fdb13c8b40",
    "externalIdentifier": examples.PROGRAM_EVENT_CREATE["externalIdentifier"],
    "eventExternalIdentifier": examples.PROGRAM_EVENT_CREATE["eventExternalIdentifier"],
    "programCode": "BYOT-SUMMER",
    "programExternalIdentifier": examples.PROGRAM_EVENT_CREATE["programExternalIdentifier"],
    "programEventCategory": examples.PROGRAM_EVENT_CREATE["programEventCategory"],
    "startDateTime": "2026-07-17T22:00:00+00:00",
    "endDateTime": "2026-07-18T00:00:00+00:00",
    "state": "Scheduled",
    "cancelReason": "",
    "createdAt": "2026-07-16T18:30:04.211000+00:00",
    "updatedAt": "2026-07-16T18:30:04.211000+00:00",
}
CANCELED_EXAMPLE: dict[str, Any] = {
    **PROGRAM_EVENT_EXAMPLE,
    "state": "Canceled",
    "cancelReason": examples.PROGRAM_EVENT_LIFECYCLE["cancelReason"],
    "updatedAt": "2026-07-17T21:40:00.052000+00:00",
}
CREATED_AT = PROGRAM_EVENT_EXAMPLE["createdAt"]
HISTORY_EXAMPLE: list[dict[str, Any]] = [
    {"at": CREATED_AT, "action": "CREATE", "fromState": None, "toState": "Pending", "detail": ""},
    {"at": CREATED_AT, "action": "X1SD", "fromState": "Pending", "toState": "Scheduled",
     "detail": ""},
    {"at": CANCELED_EXAMPLE["updatedAt"], "action": "F1CN", "fromState": "Scheduled",
     "toState": "Canceled", "detail": CANCELED_EXAMPLE["cancelReason"]},
]  # fmt: skip


# -- in -------------------------------------------------------------------------------------


class ProgramEventCreate(External):
    """A DERMS stage, scheduled: cpm keeps it as a program event."""

    model_config = ConfigDict(json_schema_extra=example_of(examples.PROGRAM_EVENT_CREATE))

    #: With a UTC offset.
    startDateTime: AwareDatetime
    #: With a UTC offset; after the start.
    endDateTime: AwareDatetime
    #: The DERMS event's id.
    eventExternalIdentifier: Identifier
    #: The DERMS stage's id: one program event per stage.
    externalIdentifier: Identifier
    #: A cpm program's external id, or else its code.
    programExternalIdentifier: Identifier
    programEventCategory: ProgramEventCategory


class LifecycleActionCreate(External):
    """A lifecycle action on a stage's program event."""

    model_config = ConfigDict(json_schema_extra=example_of(examples.PROGRAM_EVENT_LIFECYCLE))

    action: LifecycleAction
    #: Required (not blank) with F1CN; ignored with the other actions.
    cancelReason: CancelReason | None = ""
    #: The DERMS event's id: the one the program event was created with.
    eventExternalIdentifier: Identifier
    #: The DERMS stage's id.
    externalIdentifier: Identifier


# -- out ------------------------------------------------------------------------------------


class ProgramEventRead(Out):
    model_config = ConfigDict(json_schema_extra=example_of(PROGRAM_EVENT_EXAMPLE))

    #: cpm's id.
    id: str
    externalIdentifier: str
    eventExternalIdentifier: str
    #: The cpm program the event belongs to.
    programCode: str
    #: The program as DERMS named it.
    programExternalIdentifier: str
    programEventCategory: ProgramEventCategory
    #: In UTC.
    startDateTime: str
    endDateTime: str
    state: ProgramEventState
    #: F1CN's reason; "" when not canceled.
    cancelReason: str
    createdAt: str
    updatedAt: str


class TransitionRead(Out):
    model_config = ConfigDict(json_schema_extra=example_of(HISTORY_EXAMPLE[1]))

    at: str
    #: CREATE (the first line), or the lifecycle action.
    action: str
    #: Null on the first line.
    fromState: ProgramEventState | None
    toState: ProgramEventState
    #: F1CN's cancel reason; "" otherwise.
    detail: str


class ProgramEventDetailRead(ProgramEventRead):
    """A program event with every transition it made, oldest first."""

    model_config = ConfigDict(
        json_schema_extra=example_of(
            {**CANCELED_EXAMPLE, "history": HISTORY_EXAMPLE, "participations": {"Reserved": 1200}}
        )
    )

    history: list[TransitionRead]
    #: Its participations' counts by state, the states it has (``{}`` for none).
    participations: dict[ParticipationState, int]


class ProgramEventCreated(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"outcome": "Created", "programEvent": PROGRAM_EVENT_EXAMPLE})
    )

    outcome: CreateOutcome
    programEvent: ProgramEventRead


class LifecycleResultRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"outcome": "Applied", "programEvent": CANCELED_EXAMPLE})
    )

    outcome: LifecycleOutcome
    programEvent: ProgramEventRead


class ProgramEventPage(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [model_example(ProgramEventRead)], "next": None})
    )

    items: list[ProgramEventRead]
    #: Pass as ``after`` to read the next page; null on the last one.
    next: str | None


# -- event participations -------------------------------------------------------------------

#: A reservation of a stage's devices (EVT-RESERVE), as the hub sends a collection of DERMS's
#: reservation file: the first device in the event's window, the second from 15:30 to its end.
RESERVATION_EXAMPLE: dict[str, Any] = {
    "eventExternalIdentifier": examples.PROGRAM_EVENT_CREATE["eventExternalIdentifier"],
    "externalIdentifier": examples.PROGRAM_EVENT_CREATE["externalIdentifier"],
    "eventStartDateTime": examples.PROGRAM_EVENT_CREATE["startDateTime"],
    "eventEndDateTime": examples.PROGRAM_EVENT_CREATE["endDateTime"],
    "deviceList": [
        {"headEndSystem": "ECOBEE-HE", "nicId": "NIC-1"},
        {"headEndSystem": "ECOBEE-HE", "nicId": "NIC-2",
         "reservationStartDateTime": "2026-07-17T15:30:00-07:00",
         "reservationEndDateTime": "2026-07-17T17:00:00-07:00"},
    ],
}  # fmt: skip
PARTICIPATION_EXAMPLE: dict[str, Any] = {
    "id": "EP-01a2410e1d806020fdb13c8b50",
    "programEventId": PROGRAM_EVENT_EXAMPLE["id"],
    "externalIdentifier": PROGRAM_EVENT_EXAMPLE["externalIdentifier"],
    "eventExternalIdentifier": PROGRAM_EVENT_EXAMPLE["eventExternalIdentifier"],
    "programCode": PROGRAM_EVENT_EXAMPLE["programCode"],
    "deviceId": "D-01a2410e1d806020fdb13c8b21",
    "subscriptionId": "E-01a2410e1d806020fdb13c8b20",
    "headEndSystem": "ECOBEE-HE",
    "nicId": "NIC-1",
    "reservationStartDateTime": PROGRAM_EVENT_EXAMPLE["startDateTime"],
    "reservationEndDateTime": PROGRAM_EVENT_EXAMPLE["endDateTime"],
    "state": "Reserved",
    "reserved": True,
    "outcome": None,
    "preemptiveOptOut": False,
    "createdAt": "2026-07-16T18:30:05.880000+00:00",
    "updatedAt": "2026-07-16T18:30:05.880000+00:00",
    "optOut": None,
    # The program's rule in effect on the start's day has an opt-out cut-off of 60 minutes.
    "optOutCutoff": {"at": "2026-07-17T21:00:00+00:00", "minutes": 60},
    "outcomeDetail": None,
}
OPT_OUT_CREATE_EXAMPLE: dict[str, Any] = {
    "channel": "CSR",
    "reason": "the customer called: away on the event's day",
}
OPTED_OUT_AT = "2026-07-17T19:12:40.118000+00:00"
OPT_OUT_EXAMPLE: dict[str, Any] = {
    "at": OPTED_OUT_AT,
    "channel": OPT_OUT_CREATE_EXAMPLE["channel"],
    "by": "operator",
    "reason": OPT_OUT_CREATE_EXAMPLE["reason"],
    "version": 1,
    "dermsVersion": 0,
    "dermsSync": "Pending",
    "dermsDetail": "",
}
OPTED_OUT_EXAMPLE: dict[str, Any] = {
    **PARTICIPATION_EXAMPLE,
    "state": "OptedOut",
    "preemptiveOptOut": True,
    "updatedAt": OPTED_OUT_AT,
    "optOut": OPT_OUT_EXAMPLE,
    "optOutCutoff": None,
}
HISTORY_ITEM_EXAMPLE: dict[str, Any] = {
    **PARTICIPATION_EXAMPLE,
    "programEventState": PROGRAM_EVENT_EXAMPLE["state"],
    "programEventCategory": PROGRAM_EVENT_EXAMPLE["programEventCategory"],
}


class ReservationDeviceCreate(External):
    """One device to reserve, by its key; a time absent (or null, or "") is the program
    event's own."""

    headEndSystem: HeadEndSystem
    nicId: NicId
    reservationStartDateTime: TimeText = None
    reservationEndDateTime: TimeText = None


class ReservationsCreate(External):
    """A collection of a stage's reserved devices (Oracle's reserve device, with the stage)."""

    model_config = ConfigDict(json_schema_extra=example_of(RESERVATION_EXAMPLE))

    #: The DERMS event's id: the one the program event was created with.
    eventExternalIdentifier: Identifier
    #: The DERMS stage's id: which program event.
    externalIdentifier: Identifier
    #: The event's window as DERMS wrote it; cpm reads the program event's own.
    eventStartDateTime: TimeText = None
    eventEndDateTime: TimeText = None
    deviceList: Annotated[
        list[ReservationDeviceCreate], Field(min_length=1, max_length=MAX_DEVICES)
    ]


class ReservationResultRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"headEndSystem": "ECOBEE-HE", "nicId": "NIC-1", "outcome": "Reserved", "code": "",
             "detail": "", "participationId": PARTICIPATION_EXAMPLE["id"]}
        )
    )  # fmt: skip

    headEndSystem: str
    nicId: str
    outcome: ReservationOutcome
    #: A rejection's code and why; "" unless Rejected.
    code: str
    detail: str
    #: The participation reserved now or before; "" when Rejected.
    participationId: str


class ReservationResultsRead(Out):
    """One result per device of the call, in its order."""

    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"results": [
                {"headEndSystem": "ECOBEE-HE", "nicId": "NIC-1", "outcome": "Reserved",
                 "code": "", "detail": "", "participationId": PARTICIPATION_EXAMPLE["id"]},
                {"headEndSystem": "ECOBEE-HE", "nicId": "NIC-2", "outcome": "Rejected",
                 "code": "CPM-DEVICE-UNKNOWN",
                 "detail": "cpm holds no device 'NIC-2' of the head-end system 'ECOBEE-HE'",
                 "participationId": ""},
            ]}
        )
    )  # fmt: skip

    results: list[ReservationResultRead]


OUTCOMES_EXAMPLE: dict[str, Any] = {
    "eventExternalIdentifier": examples.PROGRAM_EVENT_CREATE["eventExternalIdentifier"],
    "externalIdentifier": examples.PROGRAM_EVENT_CREATE["externalIdentifier"],
    "fileName": "OUTCOME_20260718T010500Z_000012.csv",
    "postOutcomeList": [
        {"headEndSystem": "ECOBEE-HE", "nicId": "NIC-1", "outcome": "D1SP", "errorMessage": "",
         "participationStartDateTime": "2026-07-17T22:00:00Z",
         "participationEndDateTime": "2026-07-18T00:00:00Z", "measuredKw": 0.93},
        {"headEndSystem": "ECOBEE-HE", "nicId": "NIC-2", "outcome": "D1ND"},
    ],
}  # fmt: skip


class OutcomeDeviceCreate(External):
    """One device's outcome (Oracle's post event outcome list), by its key; the times as text,
    checked device by device (a bad one rejects that device alone, CPM-OUTCOME-INVALID)."""

    headEndSystem: HeadEndSystem
    nicId: NicId
    #: D1SP, D1ND, D1IO, D1ER or D1CN; another value is that device's CPM-OUTCOME-INVALID.
    outcome: Annotated[str, StringConstraints(max_length=8)]
    #: At most 100 characters are kept; a longer one is that device's CPM-OUTCOME-INVALID.
    errorMessage: Annotated[str, StringConstraints(max_length=4000)] = ""
    participationStartDateTime: TimeText = None
    participationEndDateTime: TimeText = None
    measuredKw: Annotated[float | None, Field(allow_inf_nan=False)] = None


class OutcomesCreate(External):
    """A collection of a stage's device outcomes (EVT-OUTCOME)."""

    model_config = ConfigDict(json_schema_extra=example_of(OUTCOMES_EXAMPLE))

    #: The DERMS event's id: the one the program event was created with.
    eventExternalIdentifier: Identifier
    #: The DERMS stage's id: which program event.
    externalIdentifier: Identifier
    #: The outcome file the collection comes from, kept on each participation it records.
    fileName: Annotated[str, StringConstraints(max_length=80)] = ""
    postOutcomeList: Annotated[
        list[OutcomeDeviceCreate], Field(min_length=1, max_length=MAX_DEVICES)
    ]


class OutcomeResultRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"headEndSystem": "ECOBEE-HE", "nicId": "NIC-1", "outcome": "Recorded", "code": "",
             "detail": "", "participationId": PARTICIPATION_EXAMPLE["id"]}
        )
    )  # fmt: skip

    headEndSystem: str
    nicId: str
    #: Recorded, Exists (the same outcome recorded before: no second effect) or Rejected.
    outcome: OutcomeResult
    #: A rejection's code and why; "" unless Rejected.
    code: str
    detail: str
    #: The participation; "" when the device has none in the program event.
    participationId: str


class OutcomeResultsRead(Out):
    """One result per device of the call, in its order."""

    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"results": [
                {"headEndSystem": "ECOBEE-HE", "nicId": "NIC-1", "outcome": "Recorded",
                 "code": "", "detail": "", "participationId": PARTICIPATION_EXAMPLE["id"]},
                {"headEndSystem": "ECOBEE-HE", "nicId": "NIC-2", "outcome": "Rejected",
                 "code": "CPM-PARTICIPATION-STATE",
                 "detail": f"participation {PARTICIPATION_EXAMPLE['id']} is OptedOut: it takes "
                 "no outcome", "participationId": ""},
            ]}
        )
    )  # fmt: skip

    results: list[OutcomeResultRead]


class OptOutRead(Out):
    """A participation's opt-out, and what DERMS holds of it (OPT-OUT)."""

    model_config = ConfigDict(json_schema_extra=example_of(OPT_OUT_EXAMPLE))

    #: When cpm took it, in UTC.
    at: str
    channel: OptOutChannel
    #: The client that asked (its credentials' client id).
    by: str
    reason: str
    #: The version cpm sent last.
    version: int
    #: The version DERMS acknowledged last (0: none yet).
    dermsVersion: int
    #: Pending (sent, not answered), Synchronized (DERMS holds it) or Error (refused).
    dermsSync: Literal["Pending", "Synchronized", "Error"] | None
    #: DERMS's (or the hub's) code and message when it refused the version; "" otherwise.
    dermsDetail: str


class CutoffRead(Out):
    model_config = ConfigDict(json_schema_extra=example_of(PARTICIPATION_EXAMPLE["optOutCutoff"]))

    #: In UTC: an opt-out is taken before it, not at it or after.
    at: str
    #: The largest opt-out cut-off of the program's rules in effect on the start's day (0: none).
    minutes: int


class OutcomeDetailRead(Out):
    """What EVT-OUTCOME brought with a participation's outcome."""

    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"errorMessage": "", "participationStartDateTime": "2026-07-17T22:00:00+00:00",
             "participationEndDateTime": "2026-07-18T00:00:00+00:00", "measuredKw": 0.93,
             "recordedAt": "2026-07-18T01:05:40.220000+00:00",
             "fileName": "OUTCOME_20260718T010500Z_000012.csv"}
        )
    )  # fmt: skip

    #: The device's or head-end system's error (D1ER); "" otherwise.
    errorMessage: str
    #: When the device took part, in UTC; null when not reported.
    participationStartDateTime: str | None
    participationEndDateTime: str | None
    #: The device's measured kW during the stage; null when not measured.
    measuredKw: float | None
    #: When cpm recorded it, and the outcome file it came in.
    recordedAt: str
    fileName: str


class ParticipationRead(Out):
    model_config = ConfigDict(json_schema_extra=example_of(PARTICIPATION_EXAMPLE))

    #: cpm's id.
    id: str
    programEventId: str
    #: The program event's stage, DERMS event and program.
    externalIdentifier: str
    eventExternalIdentifier: str
    programCode: str
    #: cpm's device, and the subscription it was found on when reserved.
    deviceId: str
    subscriptionId: str
    headEndSystem: str
    nicId: str
    #: In UTC.
    reservationStartDateTime: str
    reservationEndDateTime: str
    state: ParticipationState
    reserved: bool
    #: The device's event outcome; null until one is recorded.
    outcome: ParticipationOutcome | None
    preemptiveOptOut: bool
    createdAt: str
    updatedAt: str
    #: Null unless opted out.
    optOut: OptOutRead | None
    #: Its program event's opt-out cut-off while Reserved; null otherwise.
    optOutCutoff: CutoffRead | None
    #: What came with its outcome (EVT-OUTCOME); null until one is recorded.
    outcomeDetail: OutcomeDetailRead | None


class ParticipationHistoryRead(ParticipationRead):
    """A participation in a device's event history, with its program event's state and
    category."""

    model_config = ConfigDict(json_schema_extra=example_of(HISTORY_ITEM_EXAMPLE))

    programEventState: ProgramEventState
    programEventCategory: ProgramEventCategory


class ParticipationPage(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [PARTICIPATION_EXAMPLE], "next": None})
    )

    items: list[ParticipationRead]
    #: Pass as ``after`` to read the next page; null on the last one.
    next: str | None


class ParticipationHistoryPage(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [HISTORY_ITEM_EXAMPLE], "next": None})
    )

    items: list[ParticipationHistoryRead]
    #: Pass as ``after`` to read the next page; null on the last one.
    next: str | None


# -- opt-outs -------------------------------------------------------------------------------


class OptOutCreate(In):
    """Opt a participation out of its program event."""

    model_config = ConfigDict(json_schema_extra=example_of(OPT_OUT_CREATE_EXAMPLE))

    #: Who asked: the customer, or a customer-service agent for them.
    channel: OptOutChannel
    reason: Annotated[str, StringConstraints(max_length=MAX_OPT_OUT_REASON)] = ""


class OptOutResultRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"outcome": "OptedOut", "participation": OPTED_OUT_EXAMPLE})
    )

    #: OptedOut, or Unchanged for a participation opted out already (no second message).
    outcome: OptOutOutcome
    participation: ParticipationRead


class OptOutAckCreate(AckCreate):
    """DERMS's answer to one version of an opt-out (docs/contracts/opt-outs.md), through the
    hub; ``code`` is the participation's id."""

    kind: Literal["OPT-OUT"]


class OptOutAcks(In):
    acknowledgements: list[OptOutAckCreate] = Field(min_length=1, max_length=5000)


OPT_OUT_ACKS_EXAMPLE: dict[str, Any] = {
    "acknowledgements": [
        {"kind": OPT_OUT, "code": PARTICIPATION_EXAMPLE["id"], "version": 1, "status": "SUCCESS"},
        {"kind": OPT_OUT, "code": "EP-01a2410e1d806020fdb13c8b51", "version": 2,
         "status": "ERROR", "errorCode": "DERMS-REJECTED",
         "message": "DERMS holds no reservation of NIC-2 in stage SG-01a2410e1d806020fdb13c8b31"},
    ]
}  # fmt: skip


class OptOutAckResult(MasterDataAckResult):
    """What cpm made of one answer: Applied; Stale (older than the version cpm sent last);
    Rejected (cpm holds no such participation)."""

    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"kind": OPT_OUT, "code": PARTICIPATION_EXAMPLE["id"], "version": 1,
             "outcome": "Applied", "detail": ""}
        )
    )  # fmt: skip


class OptOutAckResults(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"results": [model_example(OptOutAckResult)]})
    )

    results: list[OptOutAckResult]


# -- unavailability -------------------------------------------------------------------------

#: A time of an unavailability period: ISO-8601 with a UTC offset, kept to the millisecond.
Moment = Annotated[AwareDatetime, AfterValidator(kept)]
UnavailabilityReason = Annotated[str, StringConstraints(max_length=MAX_UNAVAILABILITY_REASON)]

UNAVAILABILITY_CREATE_EXAMPLE: dict[str, Any] = {
    "start": "2026-07-17T12:00:00-07:00",
    "end": "2026-07-17T20:00:00-07:00",
    "reason": "away on vacation",
}
UNAVAILABILITY_ADDED_AT = "2026-07-10T16:02:11.455000+00:00"
UNAVAILABILITY_EXAMPLE: dict[str, Any] = {
    "id": "CU-01a2410e1d806020fdb13c8b70",
    "deviceId": PARTICIPATION_EXAMPLE["deviceId"],
    "headEndSystem": PARTICIPATION_EXAMPLE["headEndSystem"],
    "nicId": PARTICIPATION_EXAMPLE["nicId"],
    "start": "2026-07-17T19:00:00+00:00",
    "end": "2026-07-18T03:00:00+00:00",
    "reason": UNAVAILABILITY_CREATE_EXAMPLE["reason"],
    "status": "Active",
    "version": 1,
    "createdAt": UNAVAILABILITY_ADDED_AT,
    "createdBy": "operator",
    "updatedAt": UNAVAILABILITY_ADDED_AT,
    "updatedBy": "operator",
    "dermsVersion": 0,
    "dermsSync": "Pending",
    "dermsDetail": "",
}
UNAVAILABILITY_UPDATE_EXAMPLE: dict[str, Any] = {"end": "2026-07-17T22:00:00-07:00"}
UNAVAILABILITY_EDITED_AT = "2026-07-12T09:30:00.020000+00:00"
#: The example's period after the edit: version 2, DERMS holding version 1.
UNAVAILABILITY_EDITED_EXAMPLE: dict[str, Any] = {
    **UNAVAILABILITY_EXAMPLE,
    "end": "2026-07-18T05:00:00+00:00",
    "version": 2,
    "updatedAt": UNAVAILABILITY_EDITED_AT,
    "dermsVersion": 1,
}
UNAVAILABILITY_CANCELED_EXAMPLE: dict[str, Any] = {
    **UNAVAILABILITY_EDITED_EXAMPLE,
    "status": "Canceled",
    "version": 3,
    "updatedAt": "2026-07-14T08:00:41.300000+00:00",
    "dermsVersion": 2,
}


class UnavailabilityCreate(In):
    """A device's unavailability period, to add."""

    model_config = ConfigDict(json_schema_extra=example_of(UNAVAILABILITY_CREATE_EXAMPLE))

    #: With a UTC offset; no earlier than a day before now.
    start: Moment
    #: With a UTC offset; after the start, at most 366 days after it.
    end: Moment
    reason: UnavailabilityReason = ""


class UnavailabilityUpdate(In):
    """An edit of an Active period: each field absent (or null) keeps what the period holds."""

    model_config = ConfigDict(json_schema_extra=example_of(UNAVAILABILITY_UPDATE_EXAMPLE))

    start: Moment | None = None
    end: Moment | None = None
    reason: UnavailabilityReason | None = None


class UnavailabilityRead(Out):
    """A device's unavailability period at its latest version, and what DERMS holds of it."""

    model_config = ConfigDict(json_schema_extra=example_of(UNAVAILABILITY_EXAMPLE))

    #: cpm's id.
    id: str
    #: cpm's device, and its key as cpm held it when the period was added.
    deviceId: str
    headEndSystem: str
    nicId: str
    #: In UTC.
    start: str
    end: str
    reason: str
    status: UnavailabilityStatus
    #: The version cpm sent last: 1 when added, +1 at every edit, cancel and resend.
    version: int
    createdAt: str
    #: The client that added it, and the one that changed it last (its credentials' client id).
    createdBy: str
    updatedAt: str
    updatedBy: str
    #: The version DERMS acknowledged last (0: none yet).
    dermsVersion: int
    #: Pending (sent, not answered), Synchronized (DERMS holds it) or Error (refused).
    dermsSync: Literal["Pending", "Synchronized", "Error"]
    #: DERMS's (or the hub's) code and message when it refused the version; "" otherwise.
    dermsDetail: str


class UnavailabilityEdited(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"outcome": "Changed", "unavailability": UNAVAILABILITY_EDITED_EXAMPLE}
        )
    )

    #: Changed (a new version on its way to DERMS), or Unchanged (the edit names what the
    #: period holds: no new version, no message).
    outcome: EditOutcome
    unavailability: UnavailabilityRead


class UnavailabilityCanceled(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"outcome": "Canceled", "unavailability": UNAVAILABILITY_CANCELED_EXAMPLE}
        )
    )

    #: Canceled: a new version, status CANCELED, on its way to DERMS.
    outcome: CancelOutcome
    unavailability: UnavailabilityRead


class UnavailabilityPage(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [UNAVAILABILITY_EXAMPLE], "next": None})
    )

    items: list[UnavailabilityRead]
    #: Pass as ``after`` to read the next page; null on the last one.
    next: str | None


class UnavailabilityAckCreate(AckCreate):
    """DERMS's answer to one version of a period (docs/contracts/unavailability.md), through
    the hub; ``code`` is the period's id."""

    kind: Literal["UNAVAIL"]


class UnavailabilityAcks(In):
    acknowledgements: list[UnavailabilityAckCreate] = Field(min_length=1, max_length=5000)


UNAVAILABILITY_ACKS_EXAMPLE: dict[str, Any] = {
    "acknowledgements": [
        {"kind": UNAVAIL, "code": UNAVAILABILITY_EXAMPLE["id"], "version": 1,
         "status": "SUCCESS"},
        {"kind": UNAVAIL, "code": "CU-01a2410e1d806020fdb13c8b71", "version": 2,
         "status": "ERROR", "errorCode": "DERMS-UNAVAILABILITY-INVALID",
         "message": "end 2026-07-17T19:00:00+00:00 is not after start 2026-07-18T03:00:00+00:00"},
    ]
}  # fmt: skip


class UnavailabilityAckResult(MasterDataAckResult):
    """What cpm made of one answer: Applied; Stale (older than the version cpm sent last);
    Rejected (cpm holds no such period)."""

    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"kind": UNAVAIL, "code": UNAVAILABILITY_EXAMPLE["id"], "version": 1,
             "outcome": "Applied", "detail": ""}
        )
    )  # fmt: skip


class UnavailabilityAckResults(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"results": [model_example(UnavailabilityAckResult)]})
    )

    results: list[UnavailabilityAckResult]
