"""Stage generation at utility scale: N enrolled devices over F feeders (synthetic, seeded),
each objective planned by the greedy and by the optimiser, in this process.

Two programs (BYOT, 70% of devices, window 12:00–20:00 of 2 h stages; WH, 14:00–19:00 of 3 h
stages); 15% of service points have two devices; hourly P10/P50/P90 forecasts over the day
(2% of service points have none); scores 0–100 (3% without one); 2% not registered, 5%
outside the zone; events used 0–12 of 10 per cycle; 3% unavailable, 2% reserved by another
event, 1% opted out. The event runs 12:00–20:00 local on a 15-minute grid. Timed: one call of
``plan_stages`` (or ``optimise_stages``) per objective, the request built beforehand; the
median of ``--runs`` runs. Peak memory is the process's VmHWM.

    .venv/bin/python bench/stage_plan.py --devices 1000000 --feeders 2000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from derlink.derms.events.generation import (
    Busy,
    BusyKind,
    Calendar,
    Candidates,
    EventWindow,
    Forecasts,
    LoadReduction,
    Manual,
    ManualWindow,
    MaxDemandThreshold,
    MaximumReduction,
    Objective,
    Plan,
    PlanRequest,
    Strategy,
    plan_stages,
)
from derlink.derms.events.optimiser import optimise_stages
from derlink.derms.masterdata.model import Rule

try:
    from bench.record import finish
except ImportError:  # run as a script: bench/ itself is on the path
    from record import finish  # type: ignore[no-redef]

TZ = ZoneInfo("America/Los_Angeles")
DAY = date(2026, 7, 15)  # a Wednesday
START = datetime(2026, 7, 15, 12, 0, tzinfo=TZ)
END = datetime(2026, 7, 15, 20, 0, tzinfo=TZ)
GREEDY_TARGET_S = 5.0
OPTIMISER_TARGET_S = 15.0
MEMORY_TARGET_MB = 2048.0


def rule(rule_id: str, start: int, end: int, longest_min: int) -> Rule:
    return Rule(
        rule_id=rule_id,
        effective_from=date(2026, 1, 1),
        effective_to=None,
        allow_event_days=("WEEKDAY", "WEEKEND"),
        window_start=clock(start),
        window_end=clock(end),
        min_event_duration_min=30,
        max_event_duration_min=longest_min,
        max_events_per_cycle=10,
        cycle_frequency="SEASON",
        max_overrides_per_cycle=3,
        opt_out_cutoff_min=60,
        min_rest_min=60,
        overridable=False,
    )


RULES = {"BYOT": [rule("PR-BYOT", 12, 20, 120)], "WH": [rule("PR-WH", 14, 19, 180)]}


def population(devices: int, feeders: int, seed: int = 5) -> tuple[Candidates, Forecasts, Busy]:
    rng = np.random.default_rng(seed)
    # Service points: 15% of them hold two devices (one program each, drawn per device).
    points = int(devices / 1.15)
    sp_of = np.sort(np.r_[np.arange(points), rng.integers(0, points, devices - points)])
    sp_ids = np.char.add("SP", np.char.zfill(np.arange(points).astype("U9"), 9))
    device_ids = np.char.add("D", np.char.zfill(np.arange(devices).astype("U9"), 9))
    feeder_of_sp = rng.integers(0, feeders, points)
    feeder_ids = np.char.add("FDR", np.char.zfill(np.arange(feeders).astype("U5"), 5))
    score = rng.uniform(0, 100, devices).round()
    score[rng.random(devices) < 0.03] = np.nan
    candidates = Candidates(
        device_id=device_ids,
        head_end_system=np.where(np.arange(devices) % 2 == 0, "ECOBEE-HE", "HONEYWELL-HE"),
        nic_id=np.char.add("NIC-", device_ids),
        service_point=sp_ids[sp_of],
        program=np.where(rng.random(devices) < 0.7, "BYOT", "WH"),
        feeder=feeder_ids[feeder_of_sp[sp_of]],
        in_zone=rng.random(devices) >= 0.05,
        registered=rng.random(devices) >= 0.02,
        events_used=rng.integers(0, 13, devices),
        overrides_used=rng.integers(0, 3, devices),
        score=score,
    )
    with_forecast = np.flatnonzero(rng.random(points) >= 0.02)
    expected = rng.gamma(2.0, 0.4, (with_forecast.size, 24))
    spread = rng.uniform(0.1, 0.5, (with_forecast.size, 24))
    forecasts = Forecasts(
        service_point=sp_ids[with_forecast],
        window_start_s=np.full(
            with_forecast.size, int(datetime(2026, 7, 15, tzinfo=TZ).timestamp())
        ),
        interval_s=np.full(with_forecast.size, 3600),
        p10_kw=expected - spread,
        p50_kw=expected,
        p90_kw=expected + spread,
    )
    busy_rows = rng.choice(devices, int(devices * 0.05), replace=False)
    kinds = np.where(
        np.arange(busy_rows.size) < int(devices * 0.03), BusyKind.UNAVAILABLE, BusyKind.RESERVED
    )
    starts = int(START.timestamp()) + 900 * rng.integers(-8, 32, busy_rows.size)
    busy = Busy(
        device=busy_rows.astype(np.intp),
        start_s=starts.astype(np.int64),
        end_s=(starts + 900 * rng.integers(2, 12, busy_rows.size)).astype(np.int64),
        kind=kinds.astype(np.int8),
        opted_out=np.sort(rng.choice(devices, int(devices * 0.01), replace=False)).astype(np.intp),
    )
    return candidates, forecasts, busy


def objectives(intervals: int) -> dict[str, Objective]:
    hours = np.arange(intervals + 4) / 4.0  # 15-minute intervals from 12:00, one hour past 20:00
    load = 3_000.0 + 220.0 * np.exp(-(((hours - 5.0) / 1.6) ** 2))  # peaks at 17:00
    return {
        "load_reduction": LoadReduction(mw=40.0, max_increase_pct=30.0),
        "max_demand_threshold": MaxDemandThreshold(max_demand_mw=3_100.0, zone_load_mw=load),
        "maximum_reduction": MaximumReduction(),
        "manual": Manual(
            (
                ManualWindow("BYOT", START.replace(hour=16), START.replace(hour=18)),
                ManualWindow("WH", START.replace(hour=16), START.replace(hour=19)),
            )
        ),
    }


def timed(plan: Callable[[], Plan], runs: int) -> tuple[list[float], Plan]:
    seconds: list[float] = []
    result: Plan | None = None
    for _ in range(runs):
        t = time.perf_counter()
        result = plan()
        seconds.append(round(time.perf_counter() - t, 2))
    assert result is not None
    return seconds, result


def figures(plan: Plan) -> dict[str, Any]:
    return {
        "stages": len(plan.stages),
        "planned_devices": plan.planned_devices,
        "excluded": plan.excluded,
        "eligible_unused": plan.eligible_unused,
        "default_score_devices": plan.default_score_devices,
        "peak_planned_mw": round(plan.peak_planned_mw, 1),
        "peak_need_mw": round(float(plan.need_kw.max(initial=0.0)) / 1000, 1),
        "max_shortfall_kw": round(plan.max_shortfall_kw, 1),
        "notes": [note.code for note in plan.notes],
    }


def vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--feeders", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=10.0, help="the optimiser's, seconds")
    parser.add_argument("--out", default=None, help="result file name under bench/results/")
    args = parser.parse_args()
    t = time.perf_counter()
    candidates, forecasts, busy = population(args.devices, args.feeders)
    built_s = round(time.perf_counter() - t, 1)
    event = EventWindow(START, END, 900)
    result: dict[str, Any] = {
        "devices": args.devices,
        "feeders": args.feeders,
        "runs": args.runs,
        "population_s": built_s,
        # What the inputs alone hold, before any plan: the rest of the peak is planning's.
        "population_vm_hwm_mb": vm_hwm_mb(),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
        "objectives": {},
    }
    checks: dict[str, bool] = {}
    for name, objective in objectives(event.grid.intervals).items():
        for per_feeder in (False, True):
            label = f"{name}{' per feeder' if per_feeder else ''}"
            request = PlanRequest(
                event=event,
                strategy=Strategy(objective, ("BYOT", "WH"), per_feeder=per_feeder),
                candidates=candidates,
                forecasts=forecasts,
                rules=RULES,
                calendar=Calendar(TZ),
                busy=busy,
            )
            greedy_s, greedy = timed(lambda r=request: plan_stages(r), args.runs)
            optimiser_s, optimised = timed(
                lambda r=request: optimise_stages(r, time_limit_s=args.time_limit), args.runs
            )
            entry = {
                "greedy_s": greedy_s,
                "greedy_median_s": statistics.median(greedy_s),
                "greedy": figures(greedy),
                "optimiser_s": optimiser_s,
                "optimiser_median_s": statistics.median(optimiser_s),
                "optimiser": figures(optimised),
            }
            result["objectives"][label] = entry
            print(
                f"{label:34} greedy {entry['greedy_median_s']:5.2f} s {greedy_s}  "
                f"optimiser {entry['optimiser_median_s']:5.2f} s {optimiser_s}  "
                f"devices {greedy.planned_devices:,} / {optimised.planned_devices:,}  "
                f"shortfall {greedy.max_shortfall_kw:.0f} / {optimised.max_shortfall_kw:.0f} kW"
            )
            checks[f"{label}: greedy under {GREEDY_TARGET_S:g} s"] = (
                entry["greedy_median_s"] < GREEDY_TARGET_S
            )
            checks[f"{label}: optimiser under {OPTIMISER_TARGET_S:g} s"] = (
                entry["optimiser_median_s"] < OPTIMISER_TARGET_S
            )
    result["vm_hwm_mb"] = vm_hwm_mb()
    checks[f"peak memory under {MEMORY_TARGET_MB:g} MB"] = result["vm_hwm_mb"] < MEMORY_TARGET_MB
    result["checks"] = checks
    result["ok"] = all(checks.values())
    finish(
        result,
        "stage plans of {devices:,} devices over {feeders:,} feeders: peak memory (VmHWM) "
        "{vm_hwm_mb} MB, {population_vm_hwm_mb} MB of it the inputs",
        args.out or f"stage_plan-{args.devices}.json",
    )


if __name__ == "__main__":
    main()
