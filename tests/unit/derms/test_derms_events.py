"""DERMS's event lifecycle as pure rules (derms/events/model.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from derlink.common.errors import BusinessError, Conflict
from derlink.derms.events import model
from derlink.derms.events.model import EventState, StageState

T0 = datetime(2026, 7, 17, 22, 0, tzinfo=UTC)
H = timedelta(hours=1)


def event(
    event_id: str = "EV-1",
    *,
    state: EventState = EventState.NEW,
    priority: int = 50,
    ba_checked: bool = True,
) -> model.Event:
    return model.Event(
        id=event_id,
        name="Heat wave",
        strategy_id="ST-1",
        event_type=model.EventType.EMERGENCY,
        target=model.Target(model.Objective.LOAD_REDUCTION, mw_per_hour=10, max_increase_pct=20),
        window_start=T0,
        window_end=T0 + 4 * H,
        state=state,
        priority=priority,
        ba_checked=ba_checked,
        created_by="operator",
        created_at=T0 - 24 * H,
        programs=("BYOT",),
    )


def stage(
    seq: int,
    *,
    event_id: str = "EV-1",
    start: datetime = T0,
    hours: int = 2,
    kw: float = 1000.0,
    program: str = "BYOT",
    state: StageState = StageState.PLANNED,
) -> model.Stage:
    return model.Stage(
        id=f"{event_id}-SG-{seq}",
        event_id=event_id,
        seq=seq,
        program=program,
        start=start,
        end=start + hours * H,
        state=state,
        step_s=3600,
        p10_kw=(kw * 0.8,) * hours,
        p50_kw=(kw,) * hours,
        p90_kw=(kw * 1.2,) * hours,
        device_count=100,
    )


def submitted(e: model.Event, stages: list[model.Stage], *, others_kw: float = 0.0) -> model.Event:
    others = [[stage(1, event_id="EV-X", kw=others_kw)]] if others_kw else []
    return model.submit(
        e, stages, others=others, threshold_mw=5.0, at=T0 - 20 * H, actor="operator"
    ).event


# --- Submit and approvals --------------------------------------------------------------------


def test_an_event_without_stages_cannot_be_submitted() -> None:
    with pytest.raises(BusinessError, match="no stage"):
        model.submit(event(), [], others=[], threshold_mw=5.0, at=T0, actor="operator")


def test_an_event_under_the_threshold_needs_one_approval_and_is_then_approved() -> None:
    e = submitted(event(), [stage(1, kw=2000)])
    assert e.state is EventState.SUBMITTED and not e.needs_ba
    done = model.approve(e, ba=False, at=T0, actor="approver")
    assert done.state is EventState.APPROVED and done.approved_by == "approver"


def test_the_sum_with_other_checked_open_events_passing_the_threshold_needs_the_ba() -> None:
    # 3 MW of its own and 3 MW of another open event at the same hour: 6 MW > 5 MW.
    e = submitted(event(), [stage(1, kw=3000)], others_kw=3000)
    assert e.needs_ba
    first = model.approve(e, ba=False, at=T0, actor="approver")
    assert first.state is EventState.SUBMITTED  # awaits the balance authority
    done = model.approve(first, ba=True, at=T0, actor="ba")
    assert done.state is EventState.APPROVED and done.ba_approved_by == "ba"


def test_the_ba_may_approve_first_and_the_approver_completes_it() -> None:
    e = submitted(event(), [stage(1, kw=6000)])
    assert e.needs_ba
    after_ba = model.approve(e, ba=True, at=T0, actor="ba")
    assert after_ba.state is EventState.SUBMITTED
    assert model.approve(after_ba, ba=False, at=T0, actor="approver").state is EventState.APPROVED


def test_reductions_at_different_instants_do_not_add_up() -> None:
    # 3 MW from 22:00 to 00:00 and 3 MW from 00:00 on: never 6 MW at once.
    later = [[stage(1, event_id="EV-X", start=T0 + 2 * H, kw=3000)]]
    done = model.submit(
        event(), [stage(1, kw=3000)], others=later, threshold_mw=5.0, at=T0, actor="operator"
    )
    assert not done.event.needs_ba
    assert "peaks at 3.000 MW" in done.audit[0].detail


def test_an_event_whose_type_is_not_checked_never_needs_the_ba() -> None:
    e = submitted(event(ba_checked=False), [stage(1, kw=50_000)])
    assert not e.needs_ba


def test_a_second_approval_by_the_same_role_is_refused() -> None:
    e = model.approve(submitted(event(), [stage(1, kw=6000)]), ba=False, at=T0, actor="a")
    with pytest.raises(Conflict, match="approved already"):
        model.approve(e, ba=False, at=T0, actor="b")


def test_the_ba_cannot_approve_an_event_that_does_not_need_it() -> None:
    with pytest.raises(Conflict, match="does not need"):
        model.approve(submitted(event(), [stage(1)]), ba=True, at=T0, actor="ba")


def test_actions_out_of_their_states_are_refused_naming_the_state() -> None:
    with pytest.raises(Conflict, match="is New: it can be approved only when Submitted"):
        model.approve(event(), ba=False, at=T0, actor="approver")
    with pytest.raises(Conflict, match="denied only when Submitted"):
        model.deny(event(), reason="no", at=T0, actor="approver")
    done = event(state=EventState.COMPLETED)
    with pytest.raises(Conflict, match="is Completed"):
        model.cancel(done, [], reason="late", at=T0, actor="operator")


def test_a_denied_event_keeps_the_reason_and_is_audited() -> None:
    change = model.deny(submitted(event(), [stage(1)]), reason="cool day", at=T0, actor="ap")
    assert change.event.state is EventState.DENIED and change.event.reason == "cool day"
    assert change.audit[0].action is model.Action.DENY and change.audit[0].actor == "ap"


# --- Scheduling and conflicts ----------------------------------------------------------------


def approved(e: model.Event) -> model.Event:
    return replace(e, state=EventState.APPROVED)


def test_scheduling_moves_the_planned_stages_to_scheduled() -> None:
    done = model.schedule(approved(event()), [stage(1), stage(2, start=T0 + 2 * H)], holding=[],
                          at=T0, actor="approver")  # fmt: skip
    assert done.change.event.state is EventState.SCHEDULED
    assert {s.state for s in done.change.stages} == {StageState.SCHEDULED}
    assert [m.to_state for m in done.change.moves] == [StageState.SCHEDULED] * 2


def test_a_higher_priority_event_preempts_a_conflicting_lower_one() -> None:
    low = replace(event("EV-LOW", priority=10), state=EventState.SCHEDULED)
    low_stages = (stage(1, event_id="EV-LOW", state=StageState.SCHEDULED),)
    done = model.schedule(
        approved(event(priority=90)),
        [stage(1, start=T0 + H)],
        holding=[model.Holding(low, low_stages)],
        at=T0,
        actor="approver",
    )
    assert done.change.event.state is EventState.SCHEDULED
    (preempted,) = done.preempted
    assert preempted.event.state is EventState.CANCELED
    assert preempted.event.reason == "preempted by event EV-1 of priority 90"
    assert {s.state for s in preempted.stages} == {StageState.CANCELED}
    assert preempted.audit[0].action is model.Action.PREEMPT


def test_an_event_of_lower_or_equal_priority_waits_approved_naming_the_conflict() -> None:
    high = replace(event("EV-HIGH", priority=50), state=EventState.IN_PROGRESS)
    high_stages = (stage(1, event_id="EV-HIGH", state=StageState.IN_PROGRESS),)
    done = model.schedule(
        approved(event(priority=50)),
        [stage(1)],
        holding=[model.Holding(high, high_stages)],
        at=T0,
        actor="approver",
    )
    assert done.change.event.state is EventState.APPROVED and not done.preempted
    assert done.change.audit[0].action is model.Action.NOT_SCHEDULED
    assert "EV-HIGH (priority 50)" in done.change.audit[0].detail


def test_events_of_other_programs_or_other_hours_do_not_conflict() -> None:
    other = replace(event("EV-O"), state=EventState.SCHEDULED)
    holding = [
        model.Holding(other, (stage(1, event_id="EV-O", program="AC-CYCLE"),)),
        model.Holding(other, (stage(1, event_id="EV-O", start=T0 + 2 * H),)),
    ]
    assert model.conflicts(event(), [stage(1)], holding) == []


# --- Stage schedule --------------------------------------------------------------------------


def scheduled_stages() -> list[model.Stage]:
    return [
        stage(1, state=StageState.SCHEDULED),
        stage(2, start=T0 + 2 * H, state=StageState.SCHEDULED),
    ]


def test_stages_move_at_their_own_times_in_order() -> None:
    stages = scheduled_stages()
    assert model.advance(stages, T0 - timedelta(seconds=1)) == []
    first = model.advance(stages, T0)
    assert [(m.stage_id, m.to_state) for m in first] == [("EV-1-SG-1", StageState.IN_PROGRESS)]


def test_what_fell_due_while_down_happens_once_each_in_time_order() -> None:
    stages = scheduled_stages()
    moves = model.advance(stages, T0 + 10 * H)
    assert [(m.stage_id, m.to_state, m.due) for m in moves] == [
        ("EV-1-SG-1", StageState.IN_PROGRESS, T0),
        ("EV-1-SG-1", StageState.COMPLETED, T0 + 2 * H),
        ("EV-1-SG-2", StageState.IN_PROGRESS, T0 + 2 * H),
        ("EV-1-SG-2", StageState.COMPLETED, T0 + 4 * H),
    ]
    moved = model.apply_moves(stages, moves)
    assert model.advance(moved, T0 + 10 * H) == []  # nothing twice


def test_the_event_follows_its_stages() -> None:
    e = replace(event(), state=EventState.SCHEDULED)
    stages = scheduled_stages()
    assert model.follow_stages(e, stages) is EventState.SCHEDULED
    started = model.apply_moves(stages, model.advance(stages, T0))
    assert model.follow_stages(e, started) is EventState.IN_PROGRESS
    ended = model.apply_moves(stages, model.advance(stages, T0 + 4 * H))
    assert model.follow_stages(e, ended) is EventState.COMPLETED


def test_canceling_cancels_the_stages_not_yet_ended_and_keeps_the_ended_ones() -> None:
    e = replace(event(), state=EventState.IN_PROGRESS)
    stages = [
        stage(1, state=StageState.COMPLETED),
        stage(2, start=T0 + 2 * H, state=StageState.IN_PROGRESS),
    ]
    change = model.cancel(e, stages, reason="feeder outage", at=T0 + 3 * H, actor="operator")
    assert [s.state for s in change.stages] == [StageState.COMPLETED, StageState.CANCELED]
    assert [m.stage_id for m in change.moves] == ["EV-1-SG-2"]


def test_a_plan_with_a_stage_outside_the_window_is_refused() -> None:
    with pytest.raises(BusinessError, match="outside the event's window"):
        model.plan(event(), [stage(1, start=T0 + 3 * H)], at=T0, actor="operator")


def test_a_target_names_what_its_objective_lacks_or_does_not_take() -> None:
    assert model.Target(model.Objective.LOAD_REDUCTION, mw_per_hour=5).problem() == (
        "objective LOAD_REDUCTION needs maxIncreasePct"
    )
    assert model.Target(model.Objective.MANUAL, max_demand_mw=5).problem() == (
        "objective MANUAL takes no maxDemandMw"
    )
    assert model.Target(model.Objective.MAXIMUM_REDUCTION).problem() is None
