"""DERMS stage generation, the greedy planner: each objective, each rule, per feeder, firm,
the default score, and the invariants every plan keeps whatever the request."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from stage_world import (
    DAY,
    RULE,
    SATURDAY,
    TZ,
    at,
    candidates,
    check_invariants,
    dumped,
    forecasts,
    request,
    rule,
    worlds,
)

from derlink.derms.events.generation import (
    Busy,
    BusyKind,
    Candidates,
    Costs,
    EventWindow,
    Forecasts,
    LoadReduction,
    Manual,
    ManualWindow,
    MaxDemandThreshold,
    MaximumReduction,
    Plan,
    PlanRequest,
    SnapBack,
    plan_stages,
)
from derlink.derms.inputs.model import Forecast


def windows(plan: Plan) -> list[tuple[str, str, str, int]]:
    return [
        (
            s.program,
            f"{s.start.astimezone(TZ):%H:%M}",
            f"{s.end.astimezone(TZ):%H:%M}",
            s.device_count,
        )
        for s in plan.stages
    ]


def planned(plan: Plan) -> list[int]:
    return sorted(int(d) for s in plan.stages for d in s.devices)


def codes(plan: Plan) -> list[str]:
    return [n.code for n in plan.notes]


# Objectives.


def test_a_load_reduction_fills_each_stage_to_the_target_and_the_snapback_before_it() -> None:
    plan = plan_stages(request(LoadReduction(mw=0.005, max_increase_pct=50), candidates(20)))
    # 14–16: 5 devices of 1 kW; their snap-back (0.3 × 5 kW) lands on 16–17, so 16–18 takes 7.
    assert windows(plan) == [("BYOT", "14:00", "16:00", 5), ("BYOT", "16:00", "18:00", 7)]
    assert plan.stages[0].devices.tolist() == [0, 1, 2, 3, 4]
    assert plan.stages[1].devices.tolist() == [5, 6, 7, 8, 9, 10, 11]
    assert np.allclose(plan.need_kw, [5.0] * 8 + [6.5] * 4 + [5.0] * 4)
    assert np.allclose(plan.planned_kw, [5.0] * 8 + [7.0] * 8)
    assert np.allclose(plan.snapback_kw, [0] * 8 + [1.5] * 4 + [0] * 4 + [2.1] * 4)
    assert plan.max_shortfall_kw == 0
    assert plan.stages[1].snapback_kw == pytest.approx(2.1)
    assert plan.peak_planned_mw == pytest.approx(0.007)
    assert plan.eligible_unused == 8
    assert plan.planner == "greedy"


def test_a_load_reductions_snapback_after_the_event_is_kept_within_the_max_increase() -> None:
    # 10% of 5 kW: the last stage's snap-back (0.3 × its kW) may not exceed 0.5 kW.
    plan = plan_stages(request(LoadReduction(mw=0.005, max_increase_pct=10), candidates(20)))
    assert windows(plan) == [("BYOT", "14:00", "16:00", 5), ("BYOT", "16:00", "18:00", 1)]
    assert plan.snapback_kw[16:].max() <= 0.5
    assert np.allclose(plan.shortfall_kw, [0] * 8 + [5.5] * 4 + [4.0] * 4)
    assert codes(plan) == ["snapback.capped", "need.shortfall"]


def test_a_demand_threshold_needs_only_the_load_above_it() -> None:
    load = np.r_[[1.0] * 8, [1.004] * 4, [1.0] * 4, [0.99] * 4]  # MW; the last hour is after
    plan = plan_stages(request(MaxDemandThreshold(1.0, load), candidates(20)))
    assert windows(plan) == [("BYOT", "16:00", "18:00", 4)]
    assert np.allclose(plan.need_kw, [0] * 8 + [4] * 4 + [0] * 4)
    assert plan.max_shortfall_kw == pytest.approx(0)


def test_a_demand_thresholds_snapback_may_not_push_the_load_after_the_event_above_it() -> None:
    load = np.r_[[1.0] * 8, [1.004] * 4, [1.0] * 4, [0.999] * 4]  # 1 kW of room after 18:00
    plan = plan_stages(request(MaxDemandThreshold(1.0, load), candidates(20)))
    assert windows(plan) == [("BYOT", "16:00", "18:00", 3)]
    assert (load[16:] * 1000 + plan.snapback_kw[16:]).max() <= 1000.0 + 1e-9
    assert np.allclose(plan.shortfall_kw, [0] * 8 + [1] * 4 + [0] * 4)
    assert "snapback.capped" in codes(plan)


def test_maximum_reduction_calls_every_eligible_device_in_rotations_of_about_equal_kw() -> None:
    kw = [1.0 + (i % 7) for i in range(30)]
    devices = candidates(30)
    plan = plan_stages(
        request(
            MaximumReduction(), devices, forecasts(devices.service_point.tolist(), kw), start=at(12)
        )
    )
    assert [w[:3] for w in windows(plan)] == [
        ("BYOT", "12:00", "14:00"),
        ("BYOT", "14:00", "16:00"),
        ("BYOT", "16:00", "18:00"),
    ]
    assert planned(plan) == list(range(30))
    stage_kw = [s.p50_kw[0] for s in plan.stages]
    assert max(stage_kw) - min(stage_kw) <= max(kw)
    assert plan.eligible_unused == 0
    assert plan.need_kw.max() == 0 and plan.max_shortfall_kw == 0


def test_a_manual_window_takes_every_eligible_device() -> None:
    manual = Manual((ManualWindow("BYOT", at(15), at(16)),))
    plan = plan_stages(request(manual, candidates(6)))
    assert windows(plan) == [("BYOT", "15:00", "16:00", 6)]


def test_a_programs_manual_windows_share_its_devices_in_rotations() -> None:
    manual = Manual((ManualWindow("BYOT", at(14), at(15)), ManualWindow("BYOT", at(16), at(17))))
    plan = plan_stages(request(manual, candidates(6)))
    assert windows(plan) == [("BYOT", "14:00", "15:00", 3), ("BYOT", "16:00", "17:00", 3)]


def test_a_manual_target_caps_each_window_at_the_target() -> None:
    manual = Manual(
        (ManualWindow("BYOT", at(14), at(15)), ManualWindow("BYOT", at(16), at(17))), 0.003
    )
    plan = plan_stages(request(manual, candidates(10)))
    assert windows(plan) == [("BYOT", "14:00", "15:00", 3), ("BYOT", "16:00", "17:00", 3)]
    assert np.allclose(plan.need_kw, [3] * 4 + [0] * 4 + [3] * 4 + [0] * 4)


def test_a_manual_window_outside_the_programs_window_plans_nothing() -> None:
    manual = Manual((ManualWindow("BYOT", at(10), at(11)),))
    plan = plan_stages(request(manual, candidates(3), start=at(10), end=at(12)))
    assert plan.stages == ()
    assert plan.exclusions["OUTSIDE_WINDOW"] == 3


# Windows and durations.


def test_stages_are_cut_from_the_programs_window_and_a_short_last_one_is_dropped() -> None:
    rules = {"BYOT": [rule(max_event_duration_min=180, min_event_duration_min=150)]}
    plan = plan_stages(
        request(MaximumReduction(), candidates(6), rules=rules, start=at(11), end=at(21))
    )
    assert [w[:3] for w in windows(plan)] == [
        ("BYOT", "12:00", "15:00"),
        ("BYOT", "15:00", "18:00"),
    ]


def test_an_event_over_midnight_takes_the_window_of_each_local_day() -> None:
    tomorrow = DAY + timedelta(days=1)
    two_days = forecasts([f"SP{i:03d}" for i in range(4)], intervals=48)
    plan = plan_stages(
        request(MaximumReduction(), candidates(4), two_days, start=at(18), end=at(14, day=tomorrow))
    )
    assert [(s.start, s.end, s.device_count) for s in plan.stages] == [
        (at(18), at(20), 2),
        (at(12, day=tomorrow), at(14, day=tomorrow), 2),
    ]


def test_several_rules_in_force_combine_to_the_strictest() -> None:
    rules = {
        "BYOT": [
            RULE,
            rule(
                rule_id="PR-2",
                window_start=RULE.window_start.replace(hour=15),
                max_event_duration_min=60,
            ),
        ]
    }
    plan = plan_stages(request(MaximumReduction(), candidates(6), rules=rules))
    assert [w[:3] for w in windows(plan)] == [
        ("BYOT", "15:00", "16:00"),
        ("BYOT", "16:00", "17:00"),
        ("BYOT", "17:00", "18:00"),
    ]


# Rules: each excludes the devices that fail it, counted once under the first.


def _fails(change: str) -> PlanRequest:
    """Four devices; device 0 fails one rule."""
    programs = ("BYOT", "WH")
    rules = {"BYOT": [RULE], "WH": [RULE]}
    columns: dict[str, object] = {}
    busy = Busy.none()
    predicted = forecasts([f"SP{i:03d}" for i in range(4)])
    program = ["BYOT"] * 4
    match change:
        case "NOT_IN_STRATEGY":
            program[0] = "OTHER"
        case "NOT_REGISTERED":
            columns["registered"] = [False, True, True, True]
        case "OUTSIDE_ZONE":
            columns["in_zone"] = [False, True, True, True]
        case "NO_RULES":
            program[0], rules["WH"] = "WH", []
        case "DAY_NOT_ALLOWED":
            program[0], rules["WH"] = "WH", [rule(allow_event_days=("WEEKEND",))]
        case "OUTSIDE_WINDOW":
            program[0] = "WH"
            rules["WH"] = [
                rule(
                    window_start=RULE.window_start.replace(hour=6),
                    window_end=RULE.window_start.replace(hour=10),
                )
            ]
        case "MAX_EVENTS":
            columns["events_used"] = [10, 9, 0, 0]
        case "MAX_OVERRIDES":
            columns["overrides_used"] = [3, 2, 0, 0]
        case "OPTED_OUT":
            busy = Busy.of((), opted_out=[0])
        case "UNAVAILABLE":
            busy = Busy.of([(0, at(13, 30), at(20), BusyKind.UNAVAILABLE)])
        case "RESERVED":
            busy = Busy.of([(0, at(10), at(21), BusyKind.RESERVED)])
        case "NO_FORECAST":
            predicted = forecasts([f"SP{i:03d}" for i in range(1, 4)])
    return request(
        MaximumReduction(),
        candidates(4, program=program, **columns),
        predicted,
        programs=programs,
        rules=rules,
        busy=busy,
    )


RULES_IN_ORDER = [
    "NOT_IN_STRATEGY", "NOT_REGISTERED", "OUTSIDE_ZONE", "NO_RULES", "DAY_NOT_ALLOWED",
    "OUTSIDE_WINDOW", "MAX_EVENTS", "MAX_OVERRIDES", "OPTED_OUT", "UNAVAILABLE", "RESERVED",
    "NO_FORECAST",
]  # fmt: skip


@pytest.mark.parametrize("rule_name", RULES_IN_ORDER)
def test_each_rule_excludes_the_devices_that_fail_it(rule_name: str) -> None:
    plan = plan_stages(_fails(rule_name))
    assert plan.exclusions == {name: int(name == rule_name) for name in RULES_IN_ORDER}
    assert planned(plan) == [1, 2, 3]
    check_invariants(_fails(rule_name), plan)


def test_a_device_failing_several_rules_is_counted_under_the_first() -> None:
    devices = candidates(3, registered=[False, True, True], events_used=[10, 10, 0])
    plan = plan_stages(request(MaximumReduction(), devices, busy=Busy.of((), opted_out=[0, 1])))
    assert plan.exclusions["NOT_REGISTERED"] == 1
    assert plan.exclusions["MAX_EVENTS"] == 1
    assert plan.exclusions["OPTED_OUT"] == 0
    assert planned(plan) == [2]


def test_a_holiday_is_a_holiday_whatever_its_weekday() -> None:
    on_holiday = request(MaximumReduction(), candidates(2), holidays=frozenset({DAY}))
    assert plan_stages(on_holiday).exclusions["DAY_NOT_ALLOWED"] == 2
    allowed = replace(on_holiday, rules={"BYOT": [rule(allow_event_days=("HOLIDAY",))]})
    assert planned(plan_stages(allowed)) == [0, 1]


def test_a_weekend_day_is_allowed_only_by_a_weekend_rule() -> None:
    predicted = forecasts(["SP000", "SP001"], start=at(0, day=SATURDAY))
    saturday = request(
        MaximumReduction(),
        candidates(2),
        predicted,
        start=at(14, day=SATURDAY),
        end=at(16, day=SATURDAY),
    )
    assert plan_stages(saturday).exclusions["DAY_NOT_ALLOWED"] == 2
    weekend = replace(saturday, rules={"BYOT": [rule(allow_event_days=("WEEKEND",))]})
    assert planned(plan_stages(weekend)) == [0, 1]


def test_another_events_reservation_keeps_the_minimum_rest_on_both_sides() -> None:
    busy = Busy.of([(0, at(18, 30), at(19), BusyKind.RESERVED)])
    late = Manual((ManualWindow("BYOT", at(16), at(18)),))
    early = Manual((ManualWindow("BYOT", at(14), at(16)),))
    assert planned(plan_stages(request(late, candidates(2), busy=busy))) == [1]
    assert planned(plan_stages(request(early, candidates(2), busy=busy))) == [0, 1]
    no_rest = {"BYOT": [rule(min_rest_min=0)]}
    assert planned(plan_stages(request(late, candidates(2), busy=busy, rules=no_rest))) == [0, 1]


def test_unavailability_counts_from_the_minimum_rest_before_the_stage_to_its_end() -> None:
    stage = Manual((ManualWindow("BYOT", at(14), at(16)),))
    before = Busy.of([(0, at(12, 30), at(13, 15), BusyKind.UNAVAILABLE)])
    after = Busy.of([(0, at(16), at(17), BusyKind.UNAVAILABLE)])
    assert plan_stages(request(stage, candidates(2), busy=before)).exclusions["UNAVAILABLE"] == 1
    assert planned(plan_stages(request(stage, candidates(2), busy=after))) == [0, 1]


def test_a_device_busy_in_one_window_takes_another() -> None:
    busy = Busy.of([(0, at(14), at(15), BusyKind.UNAVAILABLE)])
    plan = plan_stages(request(MaximumReduction(), candidates(2), busy=busy))
    assert [s.devices.tolist() for s in plan.stages] == [[1], [0]]


def test_rules_flagged_overridable_are_not_enforced_when_the_event_overrides_rules() -> None:
    devices = candidates(2, events_used=[10, 0])
    rules = {"BYOT": [rule(overridable=True)]}
    assert planned(plan_stages(request(MaximumReduction(), devices, rules=rules))) == [1]
    overriding = request(MaximumReduction(), devices, rules=rules, override_rules=True)
    assert planned(plan_stages(overriding)) == [0, 1]
    firm_rules = {"BYOT": [rule(overridable=False)]}
    still = request(MaximumReduction(), devices, rules=firm_rules, override_rules=True)
    assert planned(plan_stages(still)) == [1]


def test_a_program_granting_no_overrides_does_not_count_them() -> None:
    devices = candidates(2, overrides_used=[5, 0])
    rules = {"BYOT": [rule(max_overrides_per_cycle=0)]}
    assert planned(plan_stages(request(MaximumReduction(), devices, rules=rules))) == [0, 1]


# Forecasts and scores.


def test_a_service_points_forecast_is_split_over_its_devices_in_the_program() -> None:
    devices = candidates(3, service_point="SP1", program=["BYOT", "BYOT", "WH"])
    manual = Manual((ManualWindow("BYOT", at(14), at(15)), ManualWindow("WH", at(14), at(15))))
    plan = plan_stages(request(manual, devices, forecasts(["SP1"], 2.0), programs=("BYOT", "WH")))
    assert [(s.program, s.device_count, s.p50_kw[0]) for s in plan.stages] == [
        ("BYOT", 2, 2.0),
        ("WH", 1, 2.0),
    ]


def test_a_forecast_is_read_on_the_grid_from_the_interval_holding_each_planning_interval() -> None:
    hourly = [[float(h) for h in range(24)]]
    manual = Manual((ManualWindow("BYOT", at(14), at(16)),))
    plan = plan_stages(request(manual, candidates(1), forecasts(["SP000"], hourly)))
    assert plan.stages[0].p50_kw.tolist() == [14.0] * 4 + [15.0] * 4
    assert plan.stages[0].p10_kw.tolist() == pytest.approx([14 * 0.8] * 4 + [15 * 0.8] * 4)
    assert plan.stages[0].p90_kw.tolist() == pytest.approx([14 * 1.2] * 4 + [15 * 1.2] * 4)


def test_a_forecast_starting_after_a_window_leaves_the_device_to_a_later_window() -> None:
    devices = candidates(1)
    plan = plan_stages(
        request(MaximumReduction(), devices, forecasts(["SP000"], start=at(16), intervals=4))
    )
    assert windows(plan) == [("BYOT", "16:00", "18:00", 1)]


def test_a_forecast_ends_at_its_first_missing_value() -> None:
    values = [[1.0] * 15 + [math.nan] * 9]  # 00:00–15:00 only
    plan = plan_stages(request(MaximumReduction(), candidates(1), forecasts(["SP000"], values)))
    assert plan.exclusions["NO_FORECAST"] == 1


def test_devices_without_a_score_are_planned_with_the_default_and_counted() -> None:
    devices = candidates(3, score=[math.nan, math.nan, 80.0])
    plan = plan_stages(
        request(Manual((ManualWindow("BYOT", at(14), at(15)),)), devices, default_score=50.0)
    )
    assert plan.default_score_devices == 2
    assert plan.stages[0].p50_kw[0] == pytest.approx(0.5 + 0.5 + 0.8)
    assert "score.default" in codes(plan)
    assert "2 planned devices have no score" in plan.notes[0].detail


def test_a_firm_strategy_ranks_and_fills_by_p10() -> None:
    single = Manual((ManualWindow("BYOT", at(14), at(16)),), 0.004)
    assert planned(plan_stages(request(single, candidates(10)))) == [0, 1, 2, 3]
    firm = plan_stages(request(single, candidates(10), firm=True))
    assert planned(firm) == [0, 1, 2, 3, 4]  # 0.8 kW each at P10
    assert firm.planned_kw[:8] == pytest.approx([4.0] * 8)


# Ranking.


def test_the_key_prefers_devices_that_have_used_fewer_of_their_events() -> None:
    devices = candidates(4, events_used=[5, 0, 5, 0])
    single = Manual((ManualWindow("BYOT", at(14), at(16)),), 0.002)
    assert planned(plan_stages(request(single, devices))) == [1, 3]
    indifferent = request(single, devices, costs=Costs(fatigue_weight=0.0))
    assert planned(plan_stages(indifferent)) == [0, 1]  # ties: by device id


def test_among_devices_alike_but_for_kw_the_larger_comes_first() -> None:
    devices = candidates(3)
    predicted = forecasts(devices.service_point.tolist(), [1.0, 3.0, 2.0])
    single = Manual((ManualWindow("BYOT", at(14), at(16)),), 0.004)
    assert planned(plan_stages(request(single, devices, predicted))) == [1, 2]


def test_the_key_prefers_the_cheaper_programs_devices() -> None:
    devices = candidates(4, program=["A", "A", "B", "B"])
    single = Manual((ManualWindow("A", at(14), at(16)), ManualWindow("B", at(14), at(16))), 0.002)
    costs = Costs({"A": 2.0, "B": 1.0})
    plan = plan_stages(request(single, devices, programs=("A", "B"), costs=costs))
    assert windows(plan) == [("B", "14:00", "16:00", 2)]


def test_a_device_enrolled_in_two_programs_takes_one_stage() -> None:
    devices = candidates(
        2, device_id=["D1", "D1"], program=["A", "B"], service_point=["SP1", "SP2"]
    )
    plan = plan_stages(request(MaximumReduction(), devices, programs=("A", "B")))
    assert plan.planned_devices == 1
    assert plan.eligible_unused == 1


# Per feeder.


def test_per_feeder_splits_the_need_in_proportion_to_each_feeders_eligible_kw() -> None:
    devices = candidates(4, feeder=["F0", "F0", "F0", "F1"])
    single = Manual((ManualWindow("BYOT", at(14), at(16)),), 0.002)
    assert planned(plan_stages(request(single, devices))) == [0, 1]
    # F0 has 3 kW of 4: its share is 1.5 kW (two devices); F1's 0.5 kW (its one).
    assert planned(plan_stages(request(single, devices, per_feeder=True))) == [0, 1, 3]


def test_per_feeder_rotations_balance_each_feeder() -> None:
    devices = candidates(8, feeder=["F0"] * 4 + ["F1"] * 4)
    plan = plan_stages(request(MaximumReduction(), devices, per_feeder=True))
    for stage in plan.stages:
        assert sorted(devices.feeder[stage.devices].tolist()) == ["F0", "F0", "F1", "F1"]


# Shortfall and results.


def test_a_shortfall_is_reported_when_the_devices_run_out() -> None:
    plan = plan_stages(request(LoadReduction(mw=0.1, max_increase_pct=100), candidates(4)))
    assert plan.max_shortfall_kw > 90
    assert np.array_equal(plan.shortfall_kw, np.maximum(plan.need_kw - plan.planned_kw, 0))
    assert "need.shortfall" in codes(plan)


def test_no_candidates_give_an_empty_plan() -> None:
    plan = plan_stages(request(LoadReduction(0.001, 50), candidates(0), forecasts([])))
    assert plan.stages == () and plan.candidates == 0 and plan.max_shortfall_kw == 1.0


def test_a_plan_reads_as_json_values() -> None:
    plan = plan_stages(request(LoadReduction(mw=0.005, max_increase_pct=50), candidates(20)))
    data = plan.to_dict()
    assert data["stages"][0]["start"] == "2026-07-15T14:00:00-07:00"
    assert data["stages"][0]["devices"] == [0, 1, 2, 3, 4]
    assert data["exclusions"]["NO_FORECAST"] == 0
    assert isinstance(dumped(plan), str)


# Inputs are checked.


def test_inputs_that_cannot_be_planned_are_refused() -> None:
    naive = at(14).replace(tzinfo=None)
    with pytest.raises(ValueError, match="timezone-aware"):
        EventWindow(naive, at(18))
    with pytest.raises(ValueError, match="whole number of planning steps"):
        EventWindow(at(14), at(14, 10), 900)
    with pytest.raises(ValueError, match="one length"):
        replace(candidates(2), score=np.array([1.0]))
    with pytest.raises(ValueError, match="outside 0–100"):
        candidates(1, score=101.0)
    with pytest.raises(ValueError, match="max_increase_pct"):
        LoadReduction(1.0, 120)
    with pytest.raises(ValueError, match="two rows"):
        plan_stages(request(MaximumReduction(), candidates(1), forecasts(["SP000", "SP000"])))
    with pytest.raises(ValueError, match="overlap"):
        both = (ManualWindow("BYOT", at(14), at(16)), ManualWindow("BYOT", at(15), at(17)))
        plan_stages(request(Manual(both), candidates(1)))
    with pytest.raises(ValueError, match="not one of the strategy's"):
        plan_stages(request(Manual((ManualWindow("WH", at(14), at(16)),)), candidates(1)))
    with pytest.raises(ValueError, match="zone load forecast"):
        plan_stages(request(MaxDemandThreshold(1.0, np.ones(3)), candidates(1)))
    with pytest.raises(ValueError, match="not a candidate"):
        plan_stages(request(MaximumReduction(), candidates(1), busy=Busy.of((), opted_out=[3])))
    with pytest.raises(ValueError, match="not a candidate"):
        plan_stages(
            request(
                MaximumReduction(),
                candidates(1),
                busy=Busy.of([(5, at(14), at(15), BusyKind.RESERVED)]),
            )
        )


def test_forecast_records_become_columns() -> None:
    record = Forecast(
        "SP1", "BYOT", at(0), at(2), 3600, at(0), [0.5, 0.6], [1.0, 1.1], [1.5, 1.6], "f"
    )
    columns = Forecasts.from_records([record])
    assert columns.service_point.tolist() == ["SP1"]
    assert columns.p50_kw.tolist() == [[1.0, 1.1]]
    assert columns.window_start_s.tolist() == [int(at(0).timestamp())]


# Invariants, whatever the request.


def vars_of(columns: Candidates) -> dict[str, np.ndarray]:
    return {name: getattr(columns, name) for name in Candidates.__dataclass_fields__}


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_every_plan_keeps_the_invariants(req: PlanRequest) -> None:
    check_invariants(req, plan_stages(req))


@settings(max_examples=40, deadline=None)
@given(worlds())
def test_the_same_request_gives_the_same_plan_byte_for_byte(req: PlanRequest) -> None:
    again = replace(
        req,
        candidates=Candidates(**{k: v.copy() for k, v in vars_of(req.candidates).items()}),
    )
    assert dumped(plan_stages(req)) == dumped(plan_stages(again))


def test_snapback_settings_shape_the_need() -> None:
    none = request(
        LoadReduction(mw=0.005, max_increase_pct=50), candidates(20), snapback=SnapBack(0.0, 3600)
    )
    plan = plan_stages(none)
    assert np.allclose(plan.need_kw, 5.0) and plan.snapback_kw.max() == 0
