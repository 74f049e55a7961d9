"""DERMS events (docs/contracts/derms-events.md): strategy types, strategies, events and their
stages, and the rules of their lifecycle. Pure: values in, values out; time is passed in.

An event is an instance of a strategy over a window. Its lifecycle::

    New ──submit──▶ Submitted ──approve (and, when needed, BA approve)──▶ Approved ──▶ Scheduled
                        └──deny──▶ Denied                                              │
    Scheduled ──first stage starts──▶ In Progress ──every stage ended──▶ Completed ◀───┘
    New, Submitted, Approved, Scheduled, In Progress ──cancel (with a reason)──▶ Canceled

A stage is one program's block of device activity within the event: Planned → Scheduled →
In Progress → Completed, or Canceled. Stages move In Progress and Completed at their own
times (:func:`advance`); the event's state follows its stages (:func:`follow_stages`).

Submitting sums the event's expected reduction with the other open events whose type is
checked by the balance authority: if the sum passes the threshold at any instant, the event
needs a second approval, by a balance-authority approver. Scheduling an event into a conflict
(an overlapping Scheduled or In Progress event that shares a program) cancels the conflicting
events of lower priority, and waits (stays Approved) while one of equal or higher priority
holds the window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from derlink.common.errors import BusinessError, Conflict

#: derms business codes: a 422 (the request does not hold together) and a 409 (the event's
#: state does not allow the action).
STRATEGY_INVALID = "DERMS-STRATEGY-INVALID"
EVENT_INVALID = "DERMS-EVENT-INVALID"
EVENT_STATE = "DERMS-EVENT-STATE"


class Objective(StrEnum):
    """What a strategy's events aim at (the stage generator's need curve)."""

    #: Stages in windows the operator gives, each with every eligible device (or up to a cap).
    MANUAL = "MANUAL"
    #: Keep the control zone's load under ``maxDemandMw``.
    MAX_DEMAND_THRESHOLD = "MAX_DEMAND_THRESHOLD"
    #: Take ``mwPerHour`` off the load, the snap-back after a stage kept within
    #: ``maxIncreasePct`` % of it.
    LOAD_REDUCTION = "LOAD_REDUCTION"
    #: Every eligible device, in rotations that share the window.
    MAXIMUM_REDUCTION = "MAXIMUM_REDUCTION"


class EventType(StrEnum):
    """The kind of an event; cpm's program event category comes from it through the lookup
    EventType."""

    ECONOMIC = "ECONOMIC"
    EMERGENCY = "EMERGENCY"
    RELIABILITY = "RELIABILITY"
    DEVICE_TEST = "DEVICE_TEST"


class StrategyState(StrEnum):
    ACTIVE = "Active"
    #: No new event may be created from it; its events go on.
    ARCHIVED = "Archived"


class EventState(StrEnum):
    NEW = "New"
    SUBMITTED = "Submitted"
    APPROVED = "Approved"
    DENIED = "Denied"
    SCHEDULED = "Scheduled"
    IN_PROGRESS = "In Progress"
    COMPLETED = "Completed"
    CANCELED = "Canceled"


class StageState(StrEnum):
    PLANNED = "Planned"
    SCHEDULED = "Scheduled"
    IN_PROGRESS = "In Progress"
    COMPLETED = "Completed"
    CANCELED = "Canceled"


#: The states an event may still leave.
OPEN = frozenset(
    {
        EventState.NEW,
        EventState.SUBMITTED,
        EventState.APPROVED,
        EventState.SCHEDULED,
        EventState.IN_PROGRESS,
    }
)
#: The states in which an event holds its devices: what another event conflicts with.
HOLDING = frozenset({EventState.SCHEDULED, EventState.IN_PROGRESS})
STAGE_ENDED = frozenset({StageState.COMPLETED, StageState.CANCELED})


class Action(StrEnum):
    """What the audit trail records."""

    CREATE = "CREATE"
    PLAN = "PLAN"
    SUBMIT = "SUBMIT"
    APPROVE = "APPROVE"
    BA_APPROVE = "BA_APPROVE"
    DENY = "DENY"
    SCHEDULE = "SCHEDULE"
    NOT_SCHEDULED = "NOT_SCHEDULED"
    PREEMPT = "PREEMPT"
    CANCEL = "CANCEL"
    STAGE = "STAGE"
    FOLLOW = "FOLLOW"
    #: cpm did not take a stage's transition (EVT-STATUS's FAILURE or ERROR acknowledgement).
    CPM_FAILED = "CPM_FAILED"
    #: The transitions cpm did not take, sent again.
    RESEND = "RESEND"
    #: A stage's devices reserved when it was Scheduled.
    RESERVE = "RESERVE"
    #: A stage's live reservations released (its cancel).
    RELEASE = "RELEASE"
    #: Devices opted out of a stage in cpm (OPT-OUT): their reservations released.
    OPT_OUT = "OPT_OUT"
    #: An alert: a Scheduled stage's expected reduction fell below its target by more than the
    #: tolerance.
    SHORTFALL = "SHORTFALL"
    #: Devices added to a Scheduled stage, the next of the planner's ranking (a delta file).
    BACKFILL = "BACKFILL"
    #: Reservations released by customer unavailability (UNAVAIL), outcome D1CN.
    UNAVAILABLE = "UNAVAILABLE"
    #: A stage's outcomes closed after its outcome window (the unreported ones D1ND).
    OUTCOMES = "OUTCOMES"


#: The actor of what derms does by itself (a stage's start, an event's completion).
SYSTEM = "derms"


# --- Strategy types and strategies -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StrategyType:
    """A family of strategies: its priority (a higher one scheduled into a conflict cancels a
    lower one) and whether the balance-authority check applies to its events."""

    code: str
    name: str
    priority: int
    ba_checked: bool


@dataclass(frozen=True, slots=True)
class Target:
    """An objective and its figures: MW are megawatts, the percentage 0–100."""

    objective: Objective
    max_demand_mw: float | None = None
    mw_per_hour: float | None = None
    max_increase_pct: float | None = None

    def problem(self) -> str | None:
        """What is wrong with the figures for the objective; None when they fit."""
        wanted = {
            Objective.MAX_DEMAND_THRESHOLD: ("maxDemandMw",),
            Objective.LOAD_REDUCTION: ("mwPerHour", "maxIncreasePct"),
        }.get(self.objective, ())
        given = {
            "maxDemandMw": self.max_demand_mw,
            "mwPerHour": self.mw_per_hour,
            "maxIncreasePct": self.max_increase_pct,
        }
        missing = [n for n in wanted if given[n] is None]
        if missing:
            return f"objective {self.objective} needs {', '.join(missing)}"
        extra = [n for n, v in given.items() if v is not None and n not in wanted]
        if extra:
            return f"objective {self.objective} takes no {', '.join(extra)}"
        for name, value in given.items():
            if value is not None and value < 0:
                return f"{name} {value} is negative"
        if self.max_increase_pct is not None and self.max_increase_pct > 100:
            return f"maxIncreasePct {self.max_increase_pct} is above 100"
        if self.mw_per_hour == 0:
            return "mwPerHour 0 asks for no reduction"
        return None


@dataclass(frozen=True, slots=True)
class StrategyDraft:
    """A strategy as the operator gives it."""

    name: str
    description: str
    #: The network node (substation, feeder or transformer) whose devices may take part.
    control_zone: str
    programs: tuple[str, ...]
    type_code: str
    target: Target
    #: Whether the rules the programs flag overridable are set aside for its events.
    override_rules: bool = False
    #: Whether the need is met feeder by feeder, each feeder's share of it on its own.
    per_feeder: bool = False
    #: Whether planning counts on the low (P10) forecast rather than the expected one.
    firm: bool = False
    #: Whether a Scheduled stage that opt-outs leave short of its target takes the next devices
    #: of the planner's ranking (a delta reservation file); otherwise it only raises an alert.
    backfill: bool = True


@dataclass(frozen=True, slots=True)
class Strategy:
    id: str
    draft: StrategyDraft
    state: StrategyState
    created_at: datetime
    updated_at: datetime


def strategy_problem(draft: StrategyDraft) -> str | None:
    """Why a strategy cannot be kept as given; None when it can."""
    if not draft.name.strip():
        return "name is blank"
    if not draft.control_zone.strip():
        return "controlZone is blank"
    if not draft.programs:
        return "programs is empty: the strategy's events could reach no device"
    twice = sorted({p for p in draft.programs if draft.programs.count(p) > 1})
    if twice:
        return f"programs lists {', '.join(twice)} twice"
    return draft.target.problem()


# --- Events and stages -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stage:
    """One program's block of device activity in an event, with what the plan expects of it:
    kW reduction per ``step_s`` interval from ``start`` (P10, P50, P90)."""

    id: str
    event_id: str
    seq: int
    program: str
    start: datetime
    end: datetime
    state: StageState
    step_s: int
    p10_kw: tuple[float, ...]
    p50_kw: tuple[float, ...]
    p90_kw: tuple[float, ...]
    device_count: int

    def kw_at(self) -> Iterable[tuple[datetime, datetime, float]]:
        """The expected (P50) kW of each interval, with its start and end."""
        step = timedelta(seconds=self.step_s)
        for i, kw in enumerate(self.p50_kw):
            at = self.start + i * step
            yield at, min(at + step, self.end), kw


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    name: str
    strategy_id: str
    event_type: EventType
    target: Target
    #: The window asked for; the stages fall within it.
    window_start: datetime
    window_end: datetime
    state: EventState
    #: From the strategy's type when the event was created.
    priority: int
    ba_checked: bool
    created_by: str
    created_at: datetime
    #: Set on submit: whether the balance authority must approve too.
    needs_ba: bool = False
    approved_by: str | None = None
    approved_at: datetime | None = None
    ba_approved_by: str | None = None
    ba_approved_at: datetime | None = None
    #: Why it was denied or canceled.
    reason: str | None = None
    programs: tuple[str, ...] = field(default=())

    @property
    def is_open(self) -> bool:
        return self.state in OPEN


@dataclass(frozen=True, slots=True)
class Audit:
    """One line of an event's audit trail."""

    event_id: str
    at: datetime
    actor: str
    action: Action
    from_state: str | None
    to_state: str | None
    detail: str = ""
    stage_id: str | None = None


@dataclass(frozen=True, slots=True)
class StageMove:
    """A stage's transition: at the stage's own time ``due`` (its start or end), recorded
    ``at`` (later when derms was down at ``due``)."""

    stage_id: str
    event_id: str
    from_state: StageState
    to_state: StageState
    due: datetime


@dataclass(frozen=True, slots=True)
class Change:
    """What an action did: the event and stages as they now are, and the audit lines."""

    event: Event
    stages: tuple[Stage, ...]
    audit: tuple[Audit, ...]
    moves: tuple[StageMove, ...] = ()


def event_problem(start: datetime, end: datetime, name: str) -> str | None:
    if not name.strip():
        return "name is blank"
    if end <= start:
        return f"end {end.isoformat()} is not after start {start.isoformat()}"
    return None


def _state_error(event: Event, action: str, allowed: Iterable[EventState]) -> Conflict:
    wanted = " or ".join(sorted(allowed))
    return Conflict(
        f"event {event.id} is {event.state}: it can be {action} only when {wanted}",
        code=EVENT_STATE,
    )


def _need(event: Event, action: str, *allowed: EventState) -> None:
    if event.state not in allowed:
        raise _state_error(event, action, allowed)


def plan(
    event: Event, stages: Sequence[Stage], *, at: datetime, actor: str, detail: str = ""
) -> Change:
    """Take a (new) plan of stages for a New event, replacing any earlier one."""
    _need(event, "planned", EventState.NEW)
    for s in stages:
        if s.start < event.window_start or s.end > event.window_end or s.end <= s.start:
            raise BusinessError(
                f"stage {s.seq} runs {s.start.isoformat()}–{s.end.isoformat()}, outside the "
                f"event's window {event.window_start.isoformat()}–{event.window_end.isoformat()}",
                code=EVENT_INVALID,
            )
    kw = peak_kw([stages])
    detail = detail or f"{len(stages)} stage(s), {sum(s.device_count for s in stages)} device(s)"
    detail += f"; peak expected {kw / 1000:.3f} MW"
    line = Audit(event.id, at, actor, Action.PLAN, event.state, event.state, detail)
    return Change(event, tuple(stages), (line,))


def submit(
    event: Event,
    stages: Sequence[Stage],
    *,
    others: Sequence[Sequence[Stage]],
    threshold_mw: float,
    at: datetime,
    actor: str,
) -> Change:
    """New → Submitted. ``others`` are the stages of every other open event the balance
    authority checks: when this event is checked too and the sum passes ``threshold_mw`` at any
    instant, the event needs a balance-authority approval as well."""
    _need(event, "submitted", EventState.NEW)
    if not stages:
        raise BusinessError(
            f"event {event.id} has no stage: plan its stages before submitting it",
            code=EVENT_INVALID,
        )
    detail = ""
    needs_ba = False
    if event.ba_checked:
        summed = peak_kw([stages, *others]) / 1000
        needs_ba = summed > threshold_mw
        detail = (
            f"summed reduction with {len(others)} other checked open event(s) peaks at "
            f"{summed:.3f} MW against the balance-authority threshold of {threshold_mw:g} MW"
            + ("; a balance-authority approval is needed" if needs_ba else "")
        )
    done = replace(event, state=EventState.SUBMITTED, needs_ba=needs_ba)
    line = Audit(event.id, at, actor, Action.SUBMIT, event.state, done.state, detail)
    return Change(done, tuple(stages), (line,))


def approve(event: Event, *, ba: bool, at: datetime, actor: str) -> Event:
    """Record an approval (``ba``: the balance authority's) of a Submitted event; the event is
    Approved once every approval it needs is there. The caller then schedules it."""
    _need(event, "approved", EventState.SUBMITTED)
    if ba:
        if not event.needs_ba:
            raise Conflict(
                f"event {event.id} does not need a balance-authority approval", code=EVENT_STATE
            )
        if event.ba_approved_by is not None:
            raise Conflict(
                f"event {event.id} was approved by the balance authority already "
                f"({event.ba_approved_by})",
                code=EVENT_STATE,
            )
        done = replace(event, ba_approved_by=actor, ba_approved_at=at)
    else:
        if event.approved_by is not None:
            raise Conflict(
                f"event {event.id} was approved already ({event.approved_by}); it awaits the "
                "balance authority's approval",
                code=EVENT_STATE,
            )
        done = replace(event, approved_by=actor, approved_at=at)
    complete = done.approved_by is not None and (not done.needs_ba or done.ba_approved_by)
    return replace(done, state=EventState.APPROVED) if complete else done


def approval_audit(before: Event, after: Event, *, ba: bool, at: datetime, actor: str) -> Audit:
    waiting = ""
    if after.state is EventState.SUBMITTED:
        waiting = "awaiting approval" if ba else "awaiting the balance authority's approval"
    action = Action.BA_APPROVE if ba else Action.APPROVE
    return Audit(before.id, at, actor, action, before.state, after.state, waiting)


def deny(event: Event, *, reason: str, at: datetime, actor: str) -> Change:
    """Submitted → Denied, with the approver's reason."""
    _need(event, "denied", EventState.SUBMITTED)
    done = replace(event, state=EventState.DENIED, reason=reason)
    return Change(
        done, (), (Audit(event.id, at, actor, Action.DENY, event.state, done.state, reason),)
    )


def cancel(
    event: Event, stages: Sequence[Stage], *, reason: str, at: datetime, actor: str
) -> Change:
    """Any open state → Canceled, with every stage not yet ended."""
    _need(event, "canceled", *OPEN)
    return _cancel(event, stages, reason=reason, at=at, actor=actor, action=Action.CANCEL)


def _cancel(
    event: Event,
    stages: Sequence[Stage],
    *,
    reason: str,
    at: datetime,
    actor: str,
    action: Action,
) -> Change:
    done = replace(event, state=EventState.CANCELED, reason=reason)
    kept: list[Stage] = []
    moves: list[StageMove] = []
    for s in stages:
        if s.state in STAGE_ENDED:
            kept.append(s)
            continue
        kept.append(replace(s, state=StageState.CANCELED))
        moves.append(StageMove(s.id, s.event_id, s.state, StageState.CANCELED, at))
    line = Audit(event.id, at, actor, action, event.state, done.state, reason)
    return Change(done, tuple(kept), (line,), tuple(moves))


@dataclass(frozen=True, slots=True)
class Holding:
    """An event that holds its devices (Scheduled or In Progress), with its stages."""

    event: Event
    stages: tuple[Stage, ...]


def conflicts(event: Event, stages: Sequence[Stage], holding: Sequence[Holding]) -> list[Holding]:
    """The holding events the event collides with: a stage of each overlaps one of the event's
    in time and shares its program."""
    found = []
    for other in holding:
        if other.event.id == event.id:
            continue
        if any(
            a.program == b.program and a.start < b.end and b.start < a.end
            for a in stages
            for b in other.stages
            if b.state not in STAGE_ENDED
        ):
            found.append(other)
    return found


@dataclass(frozen=True, slots=True)
class Scheduling:
    """The event scheduled (or left Approved, with why), and the events it preempted."""

    change: Change
    preempted: tuple[Change, ...]


def schedule(
    event: Event,
    stages: Sequence[Stage],
    *,
    holding: Sequence[Holding],
    at: datetime,
    actor: str,
) -> Scheduling:
    """Approved → Scheduled, its Planned stages Scheduled, unless an event of equal or higher
    priority holds a conflicting window (then the event stays Approved, and the audit says
    which). Conflicting events of lower priority are canceled (preempted)."""
    _need(event, "scheduled", EventState.APPROVED)
    hits = conflicts(event, stages, holding)
    blocking = [h for h in hits if h.event.priority >= event.priority]
    if blocking:
        names = ", ".join(f"{h.event.id} (priority {h.event.priority})" for h in blocking)
        detail = f"conflicts with {names}, of equal or higher priority than {event.priority}"
        line = Audit(event.id, at, actor, Action.NOT_SCHEDULED, event.state, event.state, detail)
        return Scheduling(Change(event, tuple(stages), (line,)), ())
    preempted = tuple(
        _cancel(
            h.event,
            h.stages,
            reason=f"preempted by event {event.id} of priority {event.priority}",
            at=at,
            actor=actor,
            action=Action.PREEMPT,
        )
        for h in hits
    )
    done = replace(event, state=EventState.SCHEDULED)
    moved = tuple(
        replace(s, state=StageState.SCHEDULED) if s.state is StageState.PLANNED else s
        for s in stages
    )
    moves = tuple(
        StageMove(s.id, s.event_id, StageState.PLANNED, StageState.SCHEDULED, at)
        for s in stages
        if s.state is StageState.PLANNED
    )
    detail = f"{len(moves)} stage(s) scheduled"
    if preempted:
        detail += "; preempted " + ", ".join(p.event.id for p in preempted)
    line = Audit(event.id, at, actor, Action.SCHEDULE, event.state, done.state, detail)
    return Scheduling(Change(done, moved, (line,), moves), preempted)


def advance(stages: Sequence[Stage], now: datetime) -> list[StageMove]:
    """The transitions due by ``now``, in time order: a Scheduled stage whose start has come
    goes In Progress, one whose end has come goes Completed (after its In Progress, even when
    both fell due while derms was down). Each happens once: a stage already moved is not
    moved again."""
    moves: list[StageMove] = []
    for s in stages:
        state = s.state
        if state is StageState.SCHEDULED and s.start <= now:
            moves.append(StageMove(s.id, s.event_id, state, StageState.IN_PROGRESS, s.start))
            state = StageState.IN_PROGRESS
        if state is StageState.IN_PROGRESS and s.end <= now:
            moves.append(StageMove(s.id, s.event_id, state, StageState.COMPLETED, s.end))
    return in_order(moves)


def due_key(move: StageMove) -> tuple[datetime, bool, str]:
    """The order transitions were due in; at one instant, stages end before others start (a
    device may go from one stage to the next)."""
    return (move.due, move.to_state is not StageState.COMPLETED, move.stage_id)


def in_order(moves: Iterable[StageMove]) -> list[StageMove]:
    """Transitions in the order they were due (:func:`due_key`)."""
    return sorted(moves, key=due_key)


def apply_moves(stages: Sequence[Stage], moves: Iterable[StageMove]) -> tuple[Stage, ...]:
    last: dict[str, StageState] = {}
    for m in moves:
        last[m.stage_id] = m.to_state
    return tuple(replace(s, state=last[s.id]) if s.id in last else s for s in stages)


def follow_stages(event: Event, stages: Sequence[Stage]) -> EventState:
    """The state a Scheduled or In Progress event takes from its stages: In Progress once a
    stage has started, Completed once every stage has ended and one completed (Canceled when
    every one was canceled)."""
    if event.state not in HOLDING or not stages:
        return event.state
    if all(s.state in STAGE_ENDED for s in stages):
        if any(s.state is StageState.COMPLETED for s in stages):
            return EventState.COMPLETED
        return EventState.CANCELED
    if any(s.state in (StageState.IN_PROGRESS, StageState.COMPLETED) for s in stages):
        return EventState.IN_PROGRESS
    return event.state


def peak_kw(plans: Iterable[Sequence[Stage]]) -> float:
    """The highest summed expected (P50) reduction, in kW, at any instant of the stages of
    ``plans`` (stages not canceled)."""
    steps: dict[datetime, float] = {}
    for stages in plans:
        for s in stages:
            if s.state is StageState.CANCELED:
                continue
            for start, end, kw in s.kw_at():
                steps[start] = steps.get(start, 0.0) + kw
                steps[end] = steps.get(end, 0.0) - kw
    peak = running = 0.0
    for at in sorted(steps):
        running += steps[at]
        peak = max(peak, running)
    return peak
