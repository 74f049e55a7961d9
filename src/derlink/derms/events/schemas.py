"""Events' wire schemas (docs/contracts/derms-events.md). Every string is no longer than its
column; MW figures are finite and non-negative."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from derlink.derms.db import CODE, EXT, TEXT, TS
from derlink.derms.events import model
from derlink.derms.events.tables import REASON
from derlink.platform.intake.schemas import FileSummaryRead, summary_example
from derlink.platform.openapi import example_of, model_example

Key = Annotated[str, StringConstraints(min_length=1, max_length=EXT)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=CODE, pattern=r"^[A-Z0-9_-]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=TEXT)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=REASON)]
Mw = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]
Pct = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
Priority = Annotated[int, Field(ge=0, le=1000)]

STRATEGY_TYPE_EXAMPLE = {"code": "PEAK", "name": "System peak", "priority": 50, "baChecked": True}
TARGET_EXAMPLE = {"objective": "LOAD_REDUCTION", "mwPerHour": 25.0, "maxIncreasePct": 20.0}
STRATEGY_EXAMPLE: dict[str, Any] = {
    "name": "Summer peak, north",
    "description": "Thermostats of the northern substations on hot afternoons",
    "controlZone": "SUB-NORTH",
    "programs": ["BYOT"],
    "type": "PEAK",
    "target": TARGET_EXAMPLE,
    "overrideRules": False,
    "perFeeder": False,
    "firm": False,
    "backfill": True,
}
STRATEGY_READ_EXAMPLE = {
    "id": "ST-019a2b3c4d5e6f708192a3b4c5",
    **STRATEGY_EXAMPLE,
    "state": "Active",
    "createdAt": "2026-06-01T12:00:00Z",
    "updatedAt": "2026-06-01T12:00:00Z",
}
EVENT_CREATE_EXAMPLE = {
    "strategyId": "ST-019a2b3c4d5e6f708192a3b4c5",
    "name": "Heat wave, 17 July",
    "type": "EMERGENCY",
    "start": "2026-07-17T22:00:00Z",
    "end": "2026-07-18T02:00:00Z",
}
STAGE_EXAMPLE = {
    "id": "SG-019a2b3c4d5e6f708192a3b4c6",
    "eventId": "EV-019a2b3c4d5e6f708192a3b4c7",
    "seq": 1,
    "program": "BYOT",
    "start": "2026-07-17T22:00:00Z",
    "end": "2026-07-18T00:00:00Z",
    "state": "Planned",
    "intervalSeconds": 3600,
    "p10Kw": [21400.0, 20100.0],
    "p50Kw": [25300.0, 24800.0],
    "p90Kw": [29100.0, 28700.0],
    "deviceCount": 31250,
}
EVENT_EXAMPLE: dict[str, Any] = {
    "id": "EV-019a2b3c4d5e6f708192a3b4c7",
    "name": "Heat wave, 17 July",
    "strategyId": "ST-019a2b3c4d5e6f708192a3b4c5",
    "type": "EMERGENCY",
    "target": TARGET_EXAMPLE,
    "programs": ["BYOT"],
    "windowStart": "2026-07-17T22:00:00Z",
    "windowEnd": "2026-07-18T02:00:00Z",
    "start": "2026-07-17T22:00:00Z",
    "end": "2026-07-18T00:00:00Z",
    "state": "Submitted",
    "priority": 50,
    "baChecked": True,
    "needsBaApproval": True,
    "approvedBy": "approver",
    "approvedAt": "2026-07-16T15:00:00Z",
    "baApprovedBy": None,
    "baApprovedAt": None,
    "reason": None,
    "createdBy": "operator",
    "createdAt": "2026-07-16T14:00:00Z",
    "peakExpectedMw": 25.3,
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StrategyTypeWrite(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of(
            {k: v for k, v in STRATEGY_TYPE_EXAMPLE.items() if k != "code"}
        ),
    )

    name: Name
    #: A higher-priority event scheduled into a conflict cancels a lower-priority one.
    priority: Priority
    #: Whether the balance-authority check applies to its events.
    baChecked: bool

    def to_domain(self, code: str) -> model.StrategyType:
        return model.StrategyType(code, self.name, self.priority, self.baChecked)


class StrategyTypeRead(StrategyTypeWrite):
    model_config = ConfigDict(json_schema_extra=example_of(STRATEGY_TYPE_EXAMPLE))

    code: str

    @classmethod
    def of(cls, t: model.StrategyType) -> StrategyTypeRead:
        return cls(code=t.code, name=t.name, priority=t.priority, baChecked=t.ba_checked)


class Target(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=example_of(TARGET_EXAMPLE))

    objective: model.Objective
    #: MAX_DEMAND_THRESHOLD: the zone's load is kept under it.
    maxDemandMw: Mw | None = None
    #: LOAD_REDUCTION: the reduction asked for, each hour of the window.
    mwPerHour: Mw | None = None
    #: LOAD_REDUCTION: the most the load may rise after a stage, as a percentage of mwPerHour.
    maxIncreasePct: Pct | None = None

    def to_domain(self) -> model.Target:
        return model.Target(self.objective, self.maxDemandMw, self.mwPerHour, self.maxIncreasePct)

    @classmethod
    def of(cls, t: model.Target) -> Target:
        return cls(
            objective=t.objective,
            maxDemandMw=t.max_demand_mw,
            mwPerHour=t.mw_per_hour,
            maxIncreasePct=t.max_increase_pct,
        )


class StrategyWrite(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=example_of(STRATEGY_EXAMPLE))

    name: Name
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    #: A network node (substation, feeder or transformer) in force: only the devices under it
    #: take part.
    controlZone: Key
    programs: Annotated[list[Key], Field(min_length=1, max_length=50)]
    #: A strategy type's code: its priority and balance-authority check.
    type: Code
    target: Target
    overrideRules: bool = False
    perFeeder: bool = False
    firm: bool = False
    #: Whether a Scheduled stage that opt-outs leave short of its target is topped up with the
    #: next devices of the planner's ranking; false: an alert only.
    backfill: bool = True

    def to_domain(self) -> model.StrategyDraft:
        return model.StrategyDraft(
            name=self.name,
            description=self.description,
            control_zone=self.controlZone,
            programs=tuple(self.programs),
            type_code=self.type,
            target=self.target.to_domain(),
            override_rules=self.overrideRules,
            per_feeder=self.perFeeder,
            firm=self.firm,
            backfill=self.backfill,
        )


class StrategyRead(StrategyWrite):
    model_config = ConfigDict(json_schema_extra=example_of(STRATEGY_READ_EXAMPLE))

    id: str
    state: model.StrategyState
    createdAt: datetime
    updatedAt: datetime

    @classmethod
    def of(cls, s: model.Strategy) -> StrategyRead:
        d = s.draft
        return cls(
            id=s.id,
            name=d.name,
            description=d.description,
            controlZone=d.control_zone,
            programs=list(d.programs),
            type=d.type_code,
            target=Target.of(d.target),
            overrideRules=d.override_rules,
            perFeeder=d.per_feeder,
            firm=d.firm,
            backfill=d.backfill,
            state=s.state,
            createdAt=s.created_at,
            updatedAt=s.updated_at,
        )


class EventCreate(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=example_of(EVENT_CREATE_EXAMPLE))

    strategyId: Key
    name: Name
    type: model.EventType
    start: AwareDatetime
    end: AwareDatetime
    #: The event's own objective; the strategy's when absent.
    target: Target | None = None


class StageRead(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of(STAGE_EXAMPLE))

    id: str
    eventId: str
    seq: int
    program: str
    start: datetime
    end: datetime
    state: model.StageState
    #: The expected kW reduction per interval of this length from ``start``.
    intervalSeconds: int
    p10Kw: list[float]
    p50Kw: list[float]
    p90Kw: list[float]
    deviceCount: int

    @classmethod
    def of(cls, s: model.Stage) -> StageRead:
        return cls(
            id=s.id,
            eventId=s.event_id,
            seq=s.seq,
            program=s.program,
            start=s.start,
            end=s.end,
            state=s.state,
            intervalSeconds=s.step_s,
            p10Kw=list(s.p10_kw),
            p50Kw=list(s.p50_kw),
            p90Kw=list(s.p90_kw),
            deviceCount=s.device_count,
        )


class EventRead(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of(EVENT_EXAMPLE))

    id: str
    name: str
    strategyId: str
    type: model.EventType
    target: Target
    programs: list[str]
    windowStart: datetime
    windowEnd: datetime
    #: The first stage's start and the last stage's end; null before the event has stages.
    start: datetime | None
    end: datetime | None
    state: model.EventState
    priority: int
    baChecked: bool
    #: Whether the balance authority must approve too (decided on submit).
    needsBaApproval: bool
    approvedBy: str | None
    approvedAt: datetime | None
    baApprovedBy: str | None
    baApprovedAt: datetime | None
    #: Why it was denied or canceled.
    reason: str | None
    createdBy: str
    createdAt: datetime
    #: The highest expected (P50) reduction of its stages at any instant, in MW.
    peakExpectedMw: float

    @classmethod
    def of(cls, e: model.Event, stages: tuple[model.Stage, ...]) -> EventRead:
        live = [s for s in stages if s.state is not model.StageState.CANCELED] or list(stages)
        return cls(
            id=e.id,
            name=e.name,
            strategyId=e.strategy_id,
            type=e.event_type,
            target=Target.of(e.target),
            programs=list(e.programs),
            windowStart=e.window_start,
            windowEnd=e.window_end,
            start=min((s.start for s in live), default=None),
            end=max((s.end for s in live), default=None),
            state=e.state,
            priority=e.priority,
            baChecked=e.ba_checked,
            needsBaApproval=e.needs_ba,
            approvedBy=e.approved_by,
            approvedAt=e.approved_at,
            baApprovedBy=e.ba_approved_by,
            baApprovedAt=e.ba_approved_at,
            reason=e.reason,
            createdBy=e.created_by,
            createdAt=e.created_at,
            peakExpectedMw=round(model.peak_kw([stages]) / 1000, 6),
        )


class EventDetail(EventRead):
    model_config = ConfigDict(
        json_schema_extra=example_of({**EVENT_EXAMPLE, "stages": [STAGE_EXAMPLE]})
    )

    stages: list[StageRead]

    @classmethod
    def of_view(cls, e: model.Event, stages: tuple[model.Stage, ...]) -> EventDetail:
        return cls(**EventRead.of(e, stages).model_dump(), stages=[StageRead.of(s) for s in stages])


class EventPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [model_example(EventRead)], "next": None})
    )

    items: list[EventRead]
    #: The cursor to pass as ``cursor`` for the next page; null on the last.
    next: str | None


class Decision(BaseModel):
    """What an approval did: the event as it now is, and the events its scheduling preempted."""

    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"event": {**EVENT_EXAMPLE, "stages": [STAGE_EXAMPLE]}, "preempted": []}
        )
    )

    event: EventDetail
    preempted: list[str]


class ReasonWrite(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=example_of({"reason": "Forecast heat did not come"})
    )

    reason: Reason


class AuditRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "at": "2026-07-16T15:00:00Z",
                "actor": "approver",
                "action": "APPROVE",
                "fromState": "Submitted",
                "toState": "Submitted",
                "detail": "awaiting the balance authority's approval",
                "stageId": None,
            }
        )
    )

    at: datetime
    actor: str
    action: model.Action
    fromState: str | None
    toState: str | None
    detail: str
    stageId: str | None

    @classmethod
    def of(cls, a: model.Audit) -> AuditRead:
        return cls(
            at=a.at,
            actor=a.actor,
            action=a.action,
            fromState=a.from_state,
            toState=a.to_state,
            detail=a.detail,
            stageId=a.stage_id,
        )


class ManualWindowWrite(Strict):
    program: Key
    start: AwareDatetime
    end: AwareDatetime


GENERATE_EXAMPLE: dict[str, Any] = {"intervalSeconds": 900, "optimise": False}


class GenerateWrite(Strict):
    """What a generation takes beyond the event and its strategy."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=example_of(GENERATE_EXAMPLE))

    #: The planning interval; the event's window must be a whole number of them.
    intervalSeconds: int = Field(default=900, ge=60, le=86_400)
    #: MAX_DEMAND_THRESHOLD: the zone's load forecast, MW per interval from the event's start
    #: (it may run past the end: the snap-back after it is checked too).
    zoneLoadMw: Annotated[list[Mw], Field(max_length=1440)] = []
    #: MANUAL: the stage windows.
    windows: Annotated[list[ManualWindowWrite], Field(max_length=50)] = []
    #: MANUAL: stop filling at this many MW (every eligible device when absent).
    targetMw: Mw | None = None
    #: Plan with the optimiser (HiGHS) within ``timeLimitSeconds``, else the greedy plan.
    optimise: bool = False
    timeLimitSeconds: float = Field(default=10.0, gt=0, le=120, allow_inf_nan=False)


class PlanNote(BaseModel):
    code: str
    detail: str


PLAN_EXAMPLE: dict[str, Any] = {
    "eventId": "EV-019a2b3c4d5e6f708192a3b4c7",
    "plannedAt": "2026-07-16T14:05:00Z",
    "plannedBy": "operator",
    "planner": "greedy",
    "start": "2026-07-17T22:00:00Z",
    "intervalSeconds": 3600,
    "needKw": [25000.0, 25000.0],
    "plannedKw": [25300.0, 24800.0],
    "shortfallKw": [0.0, 200.0],
    "snapbackKw": [0.0, 0.0, 7590.0],
    "maxShortfallKw": 200.0,
    "exclusions": {"NOT_REGISTERED": 120, "OUTSIDE_ZONE": 40210, "NO_FORECAST": 85},
    "candidates": 102000,
    "eligibleUnused": 30335,
    "defaultScoreDevices": 310,
    "peakPlannedMw": 25.3,
    "notes": [],
}


class PlanRead(BaseModel):
    """The plan an event's stages came from: per interval from ``start``, what the objective
    needs (with the snap-back), what the stages are expected to deliver, the shortfall, and
    how many candidates each rule left out."""

    model_config = ConfigDict(json_schema_extra=example_of(PLAN_EXAMPLE))

    eventId: str
    plannedAt: datetime
    plannedBy: str
    planner: str
    start: datetime
    intervalSeconds: int
    needKw: list[float]
    plannedKw: list[float]
    shortfallKw: list[float]
    snapbackKw: list[float]
    maxShortfallKw: float
    #: Per rule, in the order they are checked, the candidates it left out (each counted once).
    exclusions: dict[str, int]
    candidates: int
    #: Eligible for a stage, and not needed.
    eligibleUnused: int
    #: Planned devices that had no score (planned with the default score).
    defaultScoreDevices: int
    peakPlannedMw: float
    notes: list[PlanNote]

    @classmethod
    def of(cls, event_id: str, planned_at: datetime, by: str, d: Any) -> PlanRead:
        return cls(
            eventId=event_id,
            plannedAt=planned_at,
            plannedBy=by,
            planner=d["planner"],
            start=d["start"],
            intervalSeconds=d["step_s"],
            needKw=d["need_kw"],
            plannedKw=d["planned_kw"],
            shortfallKw=d["shortfall_kw"],
            snapbackKw=d["snapback_kw"],
            maxShortfallKw=d["max_shortfall_kw"],
            exclusions=d["exclusions"],
            candidates=d["candidates"],
            eligibleUnused=d["eligible_unused"],
            defaultScoreDevices=d["default_score_devices"],
            peakPlannedMw=d["peak_planned_mw"],
            notes=[PlanNote(**n) for n in d["notes"]],
        )


class Generated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"event": {**EVENT_EXAMPLE, "state": "New", "stages": [STAGE_EXAMPLE]},
             "plan": PLAN_EXAMPLE}
        )
    )  # fmt: skip

    event: EventDetail
    plan: PlanRead


STAGE_DEVICE_EXAMPLE = {
    "headEndSystem": "ECOBEE-HE",
    "nicId": "NIC-1",
    "deviceId": "D-01a2410e1d7bb8cf21dda5017e",
    "spId": "SP1",
    "feederId": "F-12",
}


class StageDevice(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of(STAGE_DEVICE_EXAMPLE))

    headEndSystem: str
    nicId: str
    deviceId: str
    spId: str
    feederId: str


class StageDevicePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [STAGE_DEVICE_EXAMPLE], "next": None})
    )

    items: list[StageDevice]
    #: ``<headEndSystem>!<nicId>`` to pass as ``after`` for the next page; null on the last.
    next: str | None


# --- EVT-STATUS: each stage transition's message to cpm (docs/contracts/event-status.md) --------

TRANSITION_EXAMPLE = {
    "stageId": "SG-019a2b3c4d5e6f708192a3b4c6",
    "fromState": "Planned",
    "toState": "Scheduled",
    "due": "2026-07-17T15:02:11Z",
    "recordedAt": "2026-07-17T15:02:11Z",
    "messageId": "SG-019a2b3c4d5e6f708192a3b4c6.SCHEDULED",
    "cpm": "Delivered",
    "cpmDetail": "PE-019a2b3c4d5e6f708192a3b4d0",
    "cpmAt": "2026-07-17T15:02:13Z",
}
STATUS_ACK_EXAMPLE: dict[str, Any] = {
    "ackType": "SUCCESS",
    "whenISO": "2026-07-17T15:02:13.000Z",
    "responses": [
        {
            "id": "SG-019a2b3c4d5e6f708192a3b4c6.SCHEDULED",
            "value": "PE-019a2b3c4d5e6f708192a3b4d0",
            "responseCode": "SUCCESS",
            "responseTimeISO": "2026-07-17T15:02:13.000Z",
            "dacsMessageId": "SG-019a2b3c4d5e6f708192a3b4c6.SCHEDULED",
        }
    ],
}


#: The longest answer an acknowledgement carries: cpm's reason, or a file's counts and refusals.
ACK_VALUE = 4000


class EventAckResponse(BaseModel):
    """One response of a MsgAck of an event flow: the message it answers, SUCCESS or the code
    of why not, and cpm's id or reason (longer than the enrollment acks' values)."""

    id: Key
    value: Annotated[str, StringConstraints(max_length=ACK_VALUE)] | None = None
    responseCode: Annotated[str, StringConstraints(min_length=1, max_length=CODE)]
    responseTimeISO: Annotated[str, StringConstraints(max_length=TS)] | None = None
    dacsMessageId: Annotated[str, StringConstraints(max_length=EXT)] | None = None


class EventAck(BaseModel):
    """The MsgAck envelope of the event flows (EVT-STATUS, EVT-RESERVE)."""

    ackType: Literal["SUCCESS", "ERROR", "FAILURE"]
    whenISO: Annotated[str, StringConstraints(max_length=TS)] | None = None
    responses: list[EventAckResponse] = Field(default_factory=list, max_length=5000)


OUTCOME_ACK_EXAMPLE: dict[str, Any] = {
    "ackType": "SUCCESS",
    "whenISO": "2026-07-18T01:06:10.000Z",
    "responses": [
        {
            "id": "OUTCOME.000012",
            "value": "31250 recorded in cpm, 0 recorded already, 0 refused; copied to analytics",
            "responseCode": "SUCCESS",
            "responseTimeISO": "2026-07-18T01:06:10.000Z",
            "dacsMessageId": "OUTCOME.000012",
        }
    ],
}
RESERVATION_ACK_EXAMPLE: dict[str, Any] = {
    "ackType": "ERROR",
    "whenISO": "2026-07-17T15:03:02.000Z",
    "responses": [
        {
            "id": "SG-019a2b3c4d5e6f708192a3b4c6.R000",
            "value": "31249 reserved, 0 reserved already, 1 refused: row 7 CPM-DEVICE-UNKNOWN: "
            "cpm holds no device NIC-7 of head-end ECOBEE-HE",
            "responseCode": "CPM-RESERVE-REFUSED",
            "responseTimeISO": "2026-07-17T15:03:02.000Z",
            "dacsMessageId": "SG-019a2b3c4d5e6f708192a3b4c6.R000",
        }
    ],
}


class TransitionRead(BaseModel):
    """A stage's transition and where its message to cpm stands."""

    model_config = ConfigDict(json_schema_extra=example_of(TRANSITION_EXAMPLE))

    stageId: str
    fromState: model.StageState
    toState: model.StageState
    #: The stage's own time of the transition (its start or end), or the action's.
    due: datetime
    #: When derms recorded it: later than ``due`` when derms was down at ``due``.
    recordedAt: datetime
    #: The EVT-STATUS message's id; None when cpm is not told (a stage canceled while Planned).
    messageId: str | None
    #: Pending (not acknowledged yet), Delivered or Failed; None when not sent.
    cpm: str | None
    #: cpm's program event id when Delivered; the code and reason when Failed.
    cpmDetail: str
    cpmAt: datetime | None


class StatusAckResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"messageId": "SG-019a2b3c4d5e6f708192a3b4c6.SCHEDULED", "outcome": "Delivered"}
        )
    )

    messageId: str
    #: Delivered, Failed, Duplicate (delivered already) or Unknown (derms sent no such message).
    outcome: str


class StatusAckResults(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"results": [model_example(StatusAckResult)]})
    )

    results: list[StatusAckResult]


class Resent(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of({"resent": 2}))

    #: The transitions sent to cpm again.
    resent: int


# --- Reservations and EVT-RESERVE (docs/contracts/event-reservations.md) ------------------------

RESERVATION_EXAMPLE = {
    **STAGE_DEVICE_EXAMPLE,
    "program": "BYOT",
    "start": "2026-07-17T22:00:00Z",
    "end": "2026-07-18T00:00:00Z",
    "state": "Closed",
    "reason": None,
    "outcome": "D1SP",
    "errorMessage": None,
    "participationStart": "2026-07-17T22:00:00Z",
    "participationEnd": "2026-07-18T00:00:00Z",
    "measuredKw": 1.42,
    "outcomeAt": "2026-07-18T00:20:00Z",
    "outcomeSource": "HEAD_END_FILE",
    "fileSeq": 0,
    "recordId": 1,
}
RESERVATION_FILE_EXAMPLE = {
    "stageId": "SG-019a2b3c4d5e6f708192a3b4c6",
    "seq": 0,
    "messageId": "SG-019a2b3c4d5e6f708192a3b4c6.R000",
    "fileName": "RESERVE_EV-019a2b3c4d5e6f708192a3b4c7_SG-019a2b3c4d5e6f708192a3b4c6_000.csv",
    "rows": 31250,
    "state": "Acknowledged",
    "detail": "31250 reserved, 0 reserved already, 0 refused",
    "createdAt": "2026-07-17T15:02:11Z",
    "sentAt": "2026-07-17T15:02:16Z",
    "ackedAt": "2026-07-17T15:03:02Z",
}


class ReservationRead(StageDevice):
    model_config = ConfigDict(json_schema_extra=example_of(RESERVATION_EXAMPLE))

    program: str
    start: datetime
    end: datetime
    #: Reserved, Dispatched, Closed or Released.
    state: str
    #: Why it was released: OPT_OUT, UNAVAILABLE, STAGE_CANCELED or REPLACED.
    reason: str | None
    #: The device's outcome (D1SP, D1ND, D1IO, D1ER, D1CN): D1CN once released because its
    #: stage was canceled or the customer is unavailable; null until known.
    outcome: str | None
    #: What was reported with it: the error, when the device took part, its measured kW.
    errorMessage: str | None
    participationStart: datetime | None
    participationEnd: datetime | None
    measuredKw: float | None
    #: When the outcome was recorded, and where it came from: HEAD_END_FILE, or DERMS (D1CN
    #: on a release, D1ND when the outcome window closed without a report).
    outcomeAt: datetime | None
    outcomeSource: str | None
    #: Its row in its stage's reservation files: the file's seq and the recordId in it.
    fileSeq: int
    recordId: int


class ReservationPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [RESERVATION_EXAMPLE], "next": None})
    )

    items: list[ReservationRead]
    #: ``<headEndSystem>!<nicId>`` to pass as ``after`` for the next page; null on the last.
    next: str | None


class ReservationFileRead(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of(RESERVATION_FILE_EXAMPLE))

    stageId: str
    seq: int
    messageId: str
    fileName: str
    rows: int
    #: Pending (to be written), Sent, Acknowledged or Failed.
    state: str
    #: What cpm made of it: the counts and the first refusals, or why it failed.
    detail: str
    createdAt: datetime
    sentAt: datetime | None
    ackedAt: datetime | None


# --- Opt-outs (OPT-OUT, docs/contracts/opt-outs.md) -------------------------------------------

OPT_OUT_EXAMPLE = {
    "dacsMessageId": "OOM-019a2b3c4d5e6f708192a3b4c9",
    "participationId": "EP-019a2b3c4d5e6f708192a3b4ca",
    "programEventId": "PE-019a2b3c4d5e6f708192a3b4cb",
    "eventExternalIdentifier": "EV-019a2b3c4d5e6f708192a3b4c7",
    "externalIdentifier": "SG-019a2b3c4d5e6f708192a3b4c6",
    "programCode": "BYOT",
    "headEndSystem": "HES-ECOBEE",
    "nicId": "NIC-0000001",
    "deviceId": "DV-019a2b3c4d5e6f708192a3b4cc",
    "optOutDateTime": "2026-07-17T14:05:00Z",
    "channel": "CSR",
    "version": 1,
}


class OptOutWrite(Strict):
    """An OPT-OUT record as cpm sends it through the hub."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=example_of(OPT_OUT_EXAMPLE))

    dacsMessageId: Key
    #: cpm's event participation: the opt-out's key.
    participationId: Key
    programEventId: Key
    #: The DERMS event and stage.
    eventExternalIdentifier: Key
    externalIdentifier: Key
    programCode: Key
    headEndSystem: Key
    nicId: Key
    deviceId: Key
    optOutDateTime: AwareDatetime
    channel: Literal["CUSTOMER", "CSR"]
    version: Annotated[int, Field(ge=1, le=2**31 - 1)]


class OptOutBatch(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of(
            {"batchId": "hub-opt-out-000012", "optOuts": [OPT_OUT_EXAMPLE]}
        ),
    )

    batchId: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    optOuts: list[OptOutWrite] = Field(min_length=1, max_length=500)


OPT_OUT_READ_EXAMPLE = {
    "participationId": "EP-019a2b3c4d5e6f708192a3b4ca",
    "version": 1,
    "stageId": "SG-019a2b3c4d5e6f708192a3b4c6",
    "headEndSystem": "HES-ECOBEE",
    "nicId": "NIC-0000001",
    "channel": "CSR",
    "optedOutAt": "2026-07-17T14:05:00Z",
    "receivedAt": "2026-07-17T14:05:03Z",
    "effect": "Released",
}


class OptOutRead(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of(OPT_OUT_READ_EXAMPLE))

    participationId: str
    version: int
    stageId: str
    headEndSystem: str
    nicId: str
    #: CUSTOMER or CSR.
    channel: str
    optedOutAt: datetime
    receivedAt: datetime
    #: What it did to the device's reservation of the stage: Released, or the state it found it
    #: in (Released for another reason, Closed).
    effect: str


# --- Customer unavailability (UNAVAIL, docs/contracts/unavailability.md) -----------------------

UNAVAILABILITY_EXAMPLE = {
    "dacsMessageId": "UAM-019a2b3c4d5e6f708192a3b4d1",
    "unavailabilityId": "CU-019a2b3c4d5e6f708192a3b4d2",
    "headEndSystem": "HES-ECOBEE",
    "nicId": "NIC-0000001",
    "start": "2026-07-17T19:00:00Z",
    "end": "2026-07-18T03:00:00Z",
    "status": "ACTIVE",
    "reason": "Away on vacation",
    "version": 2,
}


class UnavailabilityWrite(Strict):
    """An UNAVAIL record as cpm sends it through the hub: one version of a period."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=example_of(UNAVAILABILITY_EXAMPLE))

    dacsMessageId: Key
    #: cpm's id of the period: its key.
    unavailabilityId: Key
    headEndSystem: Key
    nicId: Key
    start: AwareDatetime
    end: AwareDatetime
    #: ACTIVE, or CANCELED (the customer withdrew it).
    status: Literal["ACTIVE", "CANCELED"]
    reason: Annotated[str, StringConstraints(max_length=REASON)] = ""
    version: Annotated[int, Field(ge=1, le=2**31 - 1)]


class UnavailabilityBatch(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of(
            {"batchId": "hub-unavail-000003", "unavailabilities": [UNAVAILABILITY_EXAMPLE]}
        ),
    )

    batchId: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    unavailabilities: list[UnavailabilityWrite] = Field(min_length=1, max_length=500)


UNAVAILABILITY_READ_EXAMPLE = {
    "unavailabilityId": "CU-019a2b3c4d5e6f708192a3b4d2",
    "version": 2,
    "headEndSystem": "HES-ECOBEE",
    "nicId": "NIC-0000001",
    "start": "2026-07-17T19:00:00Z",
    "end": "2026-07-18T03:00:00Z",
    "status": "ACTIVE",
    "reason": "Away on vacation",
    "receivedAt": "2026-07-16T08:12:40Z",
    "released": 1,
}


class UnavailabilityRead(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of(UNAVAILABILITY_READ_EXAMPLE))

    unavailabilityId: str
    version: int
    headEndSystem: str
    nicId: str
    start: datetime
    end: datetime
    #: ACTIVE or CANCELED.
    status: str
    reason: str
    receivedAt: datetime
    #: How many reservations this version released (UNAVAILABLE, outcome D1CN).
    released: int


class OutcomeFileRead(FileSummaryRead):
    """What the head-end outcome intake did with one file."""

    model_config = ConfigDict(
        json_schema_extra=example_of(
            summary_example("HEOUTCOME_ECOBEE_20260718.csv",
                            "HEOUTCOME_ACK_HEOUTCOME_ECOBEE_20260718.csv", 31250)
        )
    )  # fmt: skip


class OutcomeIntakeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"files": [model_example(OutcomeFileRead)]})
    )

    files: list[OutcomeFileRead]


OUTCOME_FILE_EXAMPLE = {
    "seq": 12,
    "messageId": "OUTCOME.000012",
    "fileName": "OUTCOME_20260718T010500Z_000012.csv",
    "stageIds": ["SG-019a2b3c4d5e6f708192a3b4c6"],
    "rows": 31250,
    "state": "Acknowledged",
    "detail": "31250 recorded in cpm, 0 recorded already, 0 refused; copied to analytics",
    "createdAt": "2026-07-18T01:05:00Z",
    "sentAt": "2026-07-18T01:05:04Z",
    "ackedAt": "2026-07-18T01:06:10Z",
}


class OutcomeFileOut(BaseModel):
    """An outcome file DERMS wrote (EVT-OUTCOME)."""

    model_config = ConfigDict(json_schema_extra=example_of(OUTCOME_FILE_EXAMPLE))

    seq: int
    messageId: str
    fileName: str
    #: The stages whose outcomes it carries, in the file's order.
    stageIds: list[str]
    rows: int
    #: Pending (to be written), Sent, Acknowledged or Failed.
    state: str
    #: What cpm and analytics made of it: the counts and the first refusals, or why it failed.
    detail: str
    createdAt: datetime
    sentAt: datetime | None
    ackedAt: datetime | None
