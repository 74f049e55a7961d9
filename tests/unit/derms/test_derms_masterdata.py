"""Master data's rules: which records derms keeps, and which rules a stage being planned follows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from derlink.derms.masterdata.model import (
    AGGREGATOR_INVALID,
    RULE_INVALID,
    Aggregator,
    AggregatorStatus,
    InForce,
    Outcome,
    ProgramRules,
    Rejection,
    Result,
    Rule,
    RuleVersion,
    aggregator_problem,
    judge,
    program_problem,
    rule_problem,
    rules_in_force,
)

RULE = Rule(
    rule_id="PR-1",
    effective_from=date(2026, 6, 1),
    effective_to=date(2026, 10, 1),
    allow_event_days=("WEEKDAY",),
    window_start=time(12, 0),
    window_end=time(20, 0),
    min_event_duration_min=30,
    max_event_duration_min=240,
    max_events_per_cycle=15,
    cycle_frequency="SEASON",
    max_overrides_per_cycle=3,
    opt_out_cutoff_min=60,
    min_rest_min=720,
    overridable=False,
)
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def program(*rules: Rule, version: int = 1) -> ProgramRules:
    return ProgramRules("PRM-1", "BYOT", "BYOT-2026", "DR", "Active", version, rules)


def test_a_rule_as_the_contract_shows_it_is_valid() -> None:
    assert rule_problem(RULE) is None
    assert rule_problem(replace(RULE, effective_to=None)) is None
    assert rule_problem(replace(RULE, min_event_duration_min=240)) is None  # min = max
    assert rule_problem(replace(RULE, allow_event_days=("WEEKDAY", "WEEKEND", "HOLIDAY"))) is None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"window_start": time(20, 0)}, "windowStart 20:00 is not before windowEnd 20:00"),
        ({"window_end": time(11, 59)}, "windowStart 12:00 is not before windowEnd 11:59"),
        ({"min_event_duration_min": 0}, "minEventDurationMin 0 is not above 0"),
        ({"min_event_duration_min": 241}, "minEventDurationMin 241 is above maxEventDurationMin"),
        ({"max_events_per_cycle": -1}, "maxEventsPerCycle -1 is negative"),
        ({"max_overrides_per_cycle": -1}, "maxOverridesPerCycle -1 is negative"),
        ({"opt_out_cutoff_min": -1}, "optOutCutoffMin -1 is negative"),
        ({"min_rest_min": -1}, "minRestMin -1 is negative"),
        ({"effective_to": date(2026, 6, 1)}, "effectiveTo 2026-06-01 is not after effectiveFrom"),
        ({"allow_event_days": ("WEEKDAYS",)}, "allowEventDays has values derms does not know"),
        ({"allow_event_days": ()}, "allowEventDays is empty"),
        ({"cycle_frequency": "DAY"}, "cycleFrequency 'DAY' is not a value derms knows"),
    ],
)
def test_an_invalid_rule_is_named_by_its_field(change: dict[str, object], named: str) -> None:
    problem = rule_problem(replace(RULE, **change))  # type: ignore[arg-type]
    assert problem is not None
    assert named in problem


def test_every_fault_of_a_rule_is_named() -> None:
    problem = rule_problem(replace(RULE, min_rest_min=-5, cycle_frequency="FORTNIGHT"))
    assert problem is not None
    assert "minRestMin -5" in problem
    assert "cycleFrequency 'FORTNIGHT'" in problem


def test_a_program_is_rejected_for_its_first_invalid_rule_named_by_id() -> None:
    bad = replace(RULE, rule_id="PR-2", window_end=time(9, 0))
    problem = program_problem(program(RULE, bad))
    assert problem is not None
    assert problem.code == RULE_INVALID
    assert problem.detail.startswith("rule PR-2: windowStart 12:00")


def test_a_rule_listed_twice_rejects_the_program() -> None:
    assert program_problem(program(RULE, RULE)) == Rejection(
        RULE_INVALID, "rule PR-1: ruleId is listed twice"
    )


def test_a_program_without_rules_is_valid() -> None:
    assert program_problem(program()) is None


def test_a_newer_version_is_applied_and_one_not_newer_is_stale() -> None:
    assert judge("BYOT", 1, held=None, problem=None) == Result("BYOT", 1, Outcome.APPLIED)
    assert judge("BYOT", 3, held=2, problem=None).outcome is Outcome.APPLIED
    assert judge("BYOT", 2, held=2, problem=None).outcome is Outcome.STALE
    assert judge("BYOT", 1, held=2, problem=None).outcome is Outcome.STALE


def test_an_invalid_newer_version_is_rejected_with_its_code_and_detail() -> None:
    problem = Rejection(RULE_INVALID, "rule PR-1: minRestMin -1 is negative")
    assert judge("BYOT", 3, held=2, problem=problem) == Result(
        "BYOT", 3, Outcome.REJECTED, RULE_INVALID, "rule PR-1: minRestMin -1 is negative"
    )
    # Not newer: it changes nothing, whatever it says.
    assert judge("BYOT", 2, held=2, problem=problem).outcome is Outcome.STALE


def aggregator(start: date | None, end: date | None) -> Aggregator:
    return Aggregator(
        "AGM-1", "VPP-NORTH", "Northern VPP", AggregatorStatus.ACTIVE, start, end,
        "", "", "", "", "", ("BYOT",), 1,
    )  # fmt: skip


def test_an_aggregator_ends_after_it_starts() -> None:
    assert aggregator_problem(aggregator(date(2026, 1, 1), None)) is None
    assert aggregator_problem(aggregator(None, date(2026, 1, 1))) is None
    assert aggregator_problem(aggregator(date(2026, 1, 1), date(2027, 1, 1))) is None
    assert aggregator_problem(aggregator(date(2026, 1, 1), date(2026, 1, 1))) == Rejection(
        AGGREGATOR_INVALID, "endDate 2026-01-01 is not after startDate 2026-01-01"
    )


# --- Rules in force --------------------------------------------------------------------------

SUMMER = RULE
WINTER = replace(
    RULE, rule_id="PR-W", effective_from=date(2026, 12, 1), effective_to=None, min_rest_min=600
)
V1 = RuleVersion(1, T0, (SUMMER,))
V2 = RuleVersion(2, T0 + timedelta(days=10), (replace(SUMMER, min_rest_min=360), WINTER))
V3 = RuleVersion(3, T0 + timedelta(days=20), ())


def test_no_rules_are_in_force_before_the_first_version() -> None:
    assert rules_in_force([V1, V2], T0 - timedelta(seconds=1), date(2026, 7, 1)) == InForce(
        None, ()
    )


def test_the_newest_version_received_by_the_planning_moment_applies() -> None:
    day = date(2026, 7, 1)
    assert rules_in_force([V1, V2], T0, day) == InForce(1, (SUMMER,))
    just_before = V2.received_at - timedelta(microseconds=1)
    assert rules_in_force([V1, V2], just_before, day).version == 1
    in_force = rules_in_force([V2, V1], V2.received_at, day)
    assert in_force.version == 2
    assert [r.min_rest_min for r in in_force.rules] == [360]


def test_only_the_rules_in_effect_on_the_day_apply() -> None:
    later = T0 + timedelta(days=15)
    assert rules_in_force([V1, V2], later, date(2026, 5, 31)).rules == ()
    assert [r.rule_id for r in rules_in_force([V1, V2], later, date(2026, 6, 1)).rules] == ["PR-1"]
    assert [r.rule_id for r in rules_in_force([V1, V2], later, date(2026, 9, 30)).rules] == ["PR-1"]
    assert rules_in_force([V1, V2], later, date(2026, 10, 1)).rules == ()  # effectiveTo excluded
    assert [r.rule_id for r in rules_in_force([V1, V2], later, date(2030, 1, 1)).rules] == ["PR-W"]


def test_a_version_without_rules_leaves_none_in_force() -> None:
    assert rules_in_force([V1, V2, V3], V3.received_at, date(2026, 7, 1)) == InForce(3, ())
