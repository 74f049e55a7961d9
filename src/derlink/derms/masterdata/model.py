"""cpm's master data as derms keeps it (docs/contracts/master-data.md): each program's rules and
the aggregators, each a state transfer stamped with a version.

A record carries the whole current state, so the newest version wins whatever the order of
arrival: one not newer than the version derms holds changes nothing (``Stale``); a newer one is
kept (``Applied``) unless a rule of it is invalid (``Rejected``, with a code and a detail naming
the field). Every version of a program's rules is kept; stage planning uses the rules in force
(:func:`rules_in_force`).

Pure: values in, values out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

#: derms business codes, in the ``errorCode`` of a Rejected result.
RULE_INVALID = "DERMS-RULE-INVALID"
AGGREGATOR_INVALID = "DERMS-AGGREGATOR-INVALID"


class DayKind(StrEnum):
    """The kinds of day events may fall on (the hub maps cpm's codes through AllowEventDays)."""

    WEEKDAY = "WEEKDAY"
    WEEKEND = "WEEKEND"
    HOLIDAY = "HOLIDAY"


class CycleFrequency(StrEnum):
    """The cycle a rule's counts run over (the hub maps cpm's codes through CycleFrequency)."""

    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    SEASON = "SEASON"
    YEAR = "YEAR"


_DAY_KINDS = frozenset(DayKind)
_CYCLES = frozenset(CycleFrequency)


class AggregatorStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


class Outcome(StrEnum):
    APPLIED = "Applied"
    STALE = "Stale"
    REJECTED = "Rejected"


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of a program: which days and hours events may take, how long they last, how
    often they come, and the customer's overrides. Day kinds and the cycle are as received."""

    rule_id: str
    effective_from: date
    #: Exclusive; None for open-ended.
    effective_to: date | None
    allow_event_days: tuple[str, ...]
    #: Local times of the utility's zone.
    window_start: time
    window_end: time
    min_event_duration_min: int
    max_event_duration_min: int
    max_events_per_cycle: int
    cycle_frequency: str
    max_overrides_per_cycle: int
    opt_out_cutoff_min: int
    min_rest_min: int
    overridable: bool

    def holds(self, day: date) -> bool:
        """Whether ``day`` is in [effectiveFrom, effectiveTo)."""
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


@dataclass(frozen=True, slots=True)
class ProgramRules:
    """A PROG-RULE record: a program and every rule linked to it at ``version``."""

    dacs_message_id: str
    code: str
    external_id: str
    program_type: str
    status: str
    version: int
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class RuleVersion:
    """One version of a program's rules as derms received it."""

    version: int
    received_at: datetime
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Aggregator:
    """An AGGREGATOR record: every field of an aggregator at ``version``."""

    dacs_message_id: str
    code: str
    name: str
    status: AggregatorStatus
    start_date: date | None
    #: Exclusive; None for open-ended.
    end_date: date | None
    contact_name: str
    contact_email: str
    contact_phone: str
    external_reference_id: str
    external_system: str
    #: Codes of the programs it serves.
    programs: tuple[str, ...]
    version: int


@dataclass(frozen=True, slots=True)
class Rejection:
    code: str
    detail: str


@dataclass(frozen=True, slots=True)
class Result:
    """derms's answer to one record."""

    code: str
    version: int
    outcome: Outcome
    error_code: str | None = None
    detail: str | None = None


def judge(code: str, version: int, *, held: int | None, problem: Rejection | None) -> Result:
    """The answer to a record of ``code`` at ``version`` when derms holds ``held`` (None: none)
    and the record has ``problem`` (None: valid). A version not newer than the one held is
    Stale whatever it says: it changes nothing."""
    if held is not None and version <= held:
        return Result(code, version, Outcome.STALE)
    if problem is not None:
        return Result(code, version, Outcome.REJECTED, problem.code, problem.detail)
    return Result(code, version, Outcome.APPLIED)


def program_problem(record: ProgramRules) -> Rejection | None:
    """Why a PROG-RULE record cannot be kept: its first invalid rule, or a rule listed twice."""
    seen: set[str] = set()
    for rule in record.rules:
        if rule.rule_id in seen:
            return Rejection(RULE_INVALID, f"rule {rule.rule_id}: ruleId is listed twice")
        seen.add(rule.rule_id)
        problem = rule_problem(rule)
        if problem is not None:
            return Rejection(RULE_INVALID, f"rule {rule.rule_id}: {problem}")
    return None


def rule_problem(rule: Rule) -> str | None:
    """What is wrong with a rule, naming each field at fault; None when it is valid."""
    return "; ".join(_rule_problems(rule)) or None


def _rule_problems(rule: Rule) -> Iterable[str]:
    if rule.effective_to is not None and rule.effective_to <= rule.effective_from:
        yield f"effectiveTo {rule.effective_to} is not after effectiveFrom {rule.effective_from}"
    unknown = [d for d in rule.allow_event_days if d not in _DAY_KINDS]
    if unknown:
        yield f"allowEventDays has values derms does not know: {', '.join(unknown)}"
    if not rule.allow_event_days:
        yield "allowEventDays is empty: events could fall on no day"
    if rule.window_start >= rule.window_end:
        yield (
            f"windowStart {rule.window_start:%H:%M} is not before windowEnd {rule.window_end:%H:%M}"
        )
    if rule.min_event_duration_min <= 0:
        yield f"minEventDurationMin {rule.min_event_duration_min} is not above 0"
    if rule.min_event_duration_min > rule.max_event_duration_min:
        yield (
            f"minEventDurationMin {rule.min_event_duration_min} is above maxEventDurationMin "
            f"{rule.max_event_duration_min}"
        )
    if rule.cycle_frequency not in _CYCLES:
        yield f"cycleFrequency {rule.cycle_frequency!r} is not a value derms knows"
    for name, count in (
        ("maxEventsPerCycle", rule.max_events_per_cycle),
        ("maxOverridesPerCycle", rule.max_overrides_per_cycle),
        ("optOutCutoffMin", rule.opt_out_cutoff_min),
        ("minRestMin", rule.min_rest_min),
    ):
        if count < 0:
            yield f"{name} {count} is negative"


def aggregator_problem(record: Aggregator) -> Rejection | None:
    """Why an AGGREGATOR record cannot be kept; None when it can."""
    if record.start_date and record.end_date and record.end_date <= record.start_date:
        detail = f"endDate {record.end_date} is not after startDate {record.start_date}"
        return Rejection(AGGREGATOR_INVALID, detail)
    return None


@dataclass(frozen=True, slots=True)
class InForce:
    """The rules in force for a stage, and the version they come from (None: no version yet)."""

    version: int | None
    rules: tuple[Rule, ...]


def rules_in_force(versions: Sequence[RuleVersion], planned_at: datetime, day: date) -> InForce:
    """The rules a stage planned at ``planned_at`` for ``day`` follows: of the newest version
    received at or before ``planned_at``, the rules whose [effectiveFrom, effectiveTo) holds
    ``day``. A change applies to the stages planned after it; none before the first version."""
    received = [v for v in versions if v.received_at <= planned_at]
    current = max(received, key=lambda v: v.version, default=None)
    if current is None:
        return InForce(None, ())
    return InForce(current.version, tuple(r for r in current.rules if r.holds(day)))
