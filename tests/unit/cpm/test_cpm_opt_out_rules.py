"""Opt-outs' rules (docs/contracts/program-events.md, "Opt-outs"): a program event's cut-off
(its start less the largest opt-out cut-off of the rules in effect on the start's day in the
utility's zone), and what an opt-out asked at a moment does with a participation in each state."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from derlink.cpm.errors import CpmConflict
from derlink.cpm.events import participation as p
from derlink.cpm.events.participation import OptOutOutcome as O
from derlink.cpm.events.participation import ParticipationState as S

LA = ZoneInfo("America/Los_Angeles")
#: 15:00 in Los Angeles, 22:00 UTC: the same day in both.
START = datetime(2026, 7, 17, 22, 0, tzinfo=UTC)


def rule(minutes: int, since: str = "2026-06-01", until: str | None = None) -> p.CutoffRule:
    return p.CutoffRule(
        date.fromisoformat(since), date.fromisoformat(until) if until else None, minutes
    )


def test_without_a_rule_in_effect_the_cut_off_is_the_start():
    assert p.opt_out_cutoff(START, [], LA) == p.Cutoff(START, 0)
    # Rules that end before the start's day, or begin after it, are not in effect.
    ended = rule(90, "2026-06-01", "2026-07-01")
    later = rule(120, "2026-07-18")
    assert p.opt_out_cutoff(START, [ended, later], LA) == p.Cutoff(START, 0)


def test_the_cut_off_is_the_start_less_the_largest_cut_off_of_the_rules_in_effect():
    rules = [rule(30), rule(60, "2026-07-01", "2026-08-01"), rule(240, "2026-07-18")]
    assert p.opt_out_cutoff(START, rules, LA) == p.Cutoff(START - timedelta(minutes=60), 60)
    assert p.opt_out_cutoff(START, [rule(0)], LA) == p.Cutoff(START, 0)


def test_a_rule_is_in_effect_from_its_first_day_to_the_day_before_its_end():
    assert p.opt_out_cutoff(START, [rule(45, "2026-07-17")], LA).minutes == 45
    assert p.opt_out_cutoff(START, [rule(45, "2026-07-01", "2026-07-17")], LA).minutes == 0
    assert p.opt_out_cutoff(START, [rule(45, "2026-07-01", "2026-07-18")], LA).minutes == 45


def test_the_start_s_day_is_the_utility_s():
    # 02:00 UTC on 1 July is 19:00 on 30 June in Los Angeles: the June rule is the one in effect.
    start = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
    rules = [rule(30, "2026-06-01", "2026-07-01"), rule(120, "2026-07-01")]
    assert p.opt_out_cutoff(start, rules, LA) == p.Cutoff(start - timedelta(minutes=30), 30)
    assert p.opt_out_cutoff(start, rules, UTC) == p.Cutoff(start - timedelta(minutes=120), 120)


CUTOFF = p.Cutoff(START - timedelta(minutes=60), 60)


def test_a_reserved_participation_opts_out_until_just_before_the_cut_off():
    before = CUTOFF.at - timedelta(microseconds=1)
    assert p.decide_opt_out("EP-1", S.RESERVED, now=before, cutoff=CUTOFF) is O.OPTED_OUT


@pytest.mark.parametrize("late", [timedelta(0), timedelta(seconds=1), timedelta(hours=2)])
def test_from_the_cut_off_on_an_opt_out_is_refused_naming_the_cut_off(late: timedelta):
    with pytest.raises(CpmConflict) as refused:
        p.decide_opt_out("EP-1", S.RESERVED, now=CUTOFF.at + late, cutoff=CUTOFF)
    assert refused.value.code == "CPM-OPT-OUT-CUTOFF"
    assert refused.value.message == (
        "participation EP-1: the opt-out cut-off was 2026-07-17T21:00:00+00:00, 60 minutes "
        "before its program event's start"
    )
    assert refused.value.details == {"cutoff": "2026-07-17T21:00:00+00:00", "cutoffMinutes": 60}


def test_an_opted_out_participation_is_unchanged_whenever_it_is_asked_again():
    for now in (CUTOFF.at - timedelta(hours=1), CUTOFF.at, START + timedelta(days=1)):
        assert p.decide_opt_out("EP-1", S.OPTED_OUT, now=now, cutoff=CUTOFF) is O.UNCHANGED


@pytest.mark.parametrize("state", [S.RELEASED, S.OUTCOME_RECORDED, S.SETTLED])
def test_a_participation_in_another_state_is_refused_naming_its_state(state: S):
    early = CUTOFF.at - timedelta(hours=1)
    with pytest.raises(CpmConflict) as refused:
        p.decide_opt_out("EP-1", state, now=early, cutoff=CUTOFF)
    assert refused.value.code == "CPM-PARTICIPATION-STATE"
    assert refused.value.message == (
        f"participation EP-1 is {state.value}: only a Reserved participation opts out"
    )
    assert refused.value.details == {"state": state.value}
