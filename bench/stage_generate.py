"""Stage generation end to end in DERMS: ``POST /events/{id}/generate``'s work (reading the
registry, the network, the scores, the forecasts and the rules from DERMS's database, planning,
keeping the stages, their devices and the plan) for N enrolled devices, on the embedded
default (SQLite).

The population is written into a fresh DERMS database first (not what is measured): one
thermostat per service point, 10 service points a transformer, N/F service points a feeder,
two substations; the strategy's zone is one of them (half the devices); hourly forecasts of
the day; scores 0–100 (3% without one); 2% of devices on a head-end system DERMS does not
serve. The event runs 12:00–16:00 of a weekday with a LOAD_REDUCTION of ``--mw``. Timed: the
service call, greedy, then (on a new event) the optimiser; each event's plan is checked.

    .venv/bin/python bench/stage_generate.py --devices 1000000 --feeders 2000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import orjson

from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.common.clock import FixedClock
from derlink.derms.app import create_part
from derlink.derms.events import model, planning, service
from derlink.derms.masterdata import service as masterdata
from derlink.derms.masterdata.model import ProgramRules, Rule
from derlink.platform.auth import CredentialStore
from derlink.platform.settings import Settings

try:
    from bench.record import finish
except ImportError:  # run as a script: bench/ itself is on the path
    from record import finish  # type: ignore[no-redef]

NOW = datetime(2026, 7, 16, 12, 0, tzinfo=UTC)
START = datetime(2026, 7, 17, 12, 0, tzinfo=UTC)  # a Friday
END = datetime(2026, 7, 17, 16, 0, tzinfo=UTC)
PROGRAM = "BYOT"


def populate(db: Any, devices: int, feeders: int, seed: int = 5) -> None:
    """The population, straight into DERMS's tables."""
    rng = np.random.default_rng(seed)
    at = NOW.isoformat()
    sp = [f"SP{i:09d}" for i in range(devices)]
    per_feeder = max(1, devices // feeders)
    with db.begin() as conn:
        run = conn.exec_driver_sql
        run("INSERT INTO head_end_systems (code, name) VALUES (?, ?)", [("ECOBEE-HE", "")])
        unserved = rng.random(devices) < 0.02
        run(
            "INSERT INTO registry_subscriptions (subscription_id, status, program_code, "
            "program_id, cis_account_id, cis_service_point_id, service_point_id, division, "
            "version, last_dacs_message_id, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [(f"S{i}", "ACTIVE", PROGRAM, "PG", f"A{i}", sp[i], sp[i], "CA", 1, "", at)
             for i in range(devices)],
        )  # fmt: skip
        run(
            "INSERT INTO registry_devices (nic_id, head_end_system, device_id, subscription_id, "
            "status, registration, device_type, specification, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            [(f"NIC{i:09d}", "OTHER-HE" if unserved[i] else "ECOBEE-HE", f"D{i:09d}", f"S{i}",
              "ACTIVE", "D1NR" if unserved[i] else "D1RE", "THERMOSTAT", "ST", at)
             for i in range(devices)],
        )  # fmt: skip
        substations = 2  # the zone, SUB0, holds half the feeders
        nodes = [(f"SUB{s}", "SUBSTATION", "") for s in range(substations)]
        nodes += [(f"F{f}", "FEEDER", f"SUB{f % substations}") for f in range(feeders)]
        transformers = -(-devices // 10)
        nodes += [(f"T{t}", "TRANSFORMER", f"F{min(t * 10 // per_feeder, feeders - 1)}")
                  for t in range(transformers)]  # fmt: skip
        run(
            "INSERT INTO network_nodes (node_id, kind, parent_id, name, effective_from, "
            "effective_to, updated_at, source) VALUES (?,?,?,?,?,?,?,?)",
            [(n, k, p, "", "2026-01-01", None, at, "bench") for n, k, p in nodes],
        )
        run(
            "INSERT INTO service_point_locations (sp_id, transformer_id, effective_from, "
            "effective_to, updated_at, source) VALUES (?,?,?,?,?,?)",
            [(sp[i], f"T{i // 10}", "2026-01-01", None, at, "bench") for i in range(devices)],
        )
        scored = rng.random(devices) >= 0.03
        scores = rng.integers(0, 101, devices)
        run(
            "INSERT INTO device_scores (head_end_system, nic_id, device_id, score, events, "
            "reliability, performance, last_event_at, scored_at, file, received_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [("ECOBEE-HE", f"NIC{i:09d}", f"D{i:09d}", int(scores[i]), 4, 0.9, 0.7, None, at,
              "SDCSE_bench.csv", at) for i in range(devices) if scored[i]],
        )  # fmt: skip
        expected = rng.gamma(2.0, 0.4, (devices, 24)).round(3)
        day = datetime(2026, 7, 17, tzinfo=UTC).isoformat()
        end = datetime(2026, 7, 18, tzinfo=UTC).isoformat()
        run(
            "INSERT INTO forecasts (sp_id, program_id, window_start, window_end, interval_s, "
            "forecast_at, intervals, file, received_at) VALUES (?,?,?,?,?,?,?,?,?)",
            [(sp[i], PROGRAM, day, end, 3600, at,
              orjson.dumps({"p10": (expected[i] * 0.7).round(3).tolist(),
                            "p50": expected[i].tolist(),
                            "p90": (expected[i] * 1.3).round(3).tolist()}).decode(),
              "LRF_bench.csv", at) for i in range(devices)],
        )  # fmt: skip


def run(devices: int, feeders: int, mw: float, home: Path) -> dict[str, Any]:
    clock = FixedClock(NOW)
    settings = Settings(home=home)
    part = create_part(
        settings=settings, credentials=CredentialStore.generate(DEFAULT_CLIENTS), clock=clock,
        hub=None,
    )  # fmt: skip
    try:
        t = time.perf_counter()
        populate(part.db, devices, feeders)
        print(f"population of {devices:,} devices written in {time.perf_counter() - t:.1f}s")
        rule = Rule("R1", START.date().replace(month=6, day=1), None, ("WEEKDAY",),
                    datetime(2026, 1, 1, 12).time(), datetime(2026, 1, 1, 20).time(), 30, 240,
                    10, "SEASON", 3, 60, 720, False)  # fmt: skip
        masterdata.apply_program_rules(
            db=part.db,
            clock=clock,
            records=[ProgramRules("PRM-1", PROGRAM, "BYOT-2026", "DR", "Active", 1, (rule,))],
        )
        service.put_strategy_type(
            db=part.db, clock=clock, kind=model.StrategyType("PEAK", "Peak", 50, False)
        )
        zone = "SUB0"
        strategy = service.create_strategy(
            db=part.db,
            clock=clock,
            draft=model.StrategyDraft(
                name="Peak", description="", control_zone=zone, programs=(PROGRAM,),
                type_code="PEAK",
                target=model.Target(model.Objective.LOAD_REDUCTION, mw_per_hour=mw,
                                    max_increase_pct=50),
            ),
        )  # fmt: skip
        found: dict[str, Any] = {}
        for planner in ("greedy", "optimiser"):
            event = service.create_event(
                db=part.db, clock=clock, strategy_id=strategy.id, name=planner,
                event_type=model.EventType.ECONOMIC, start=START, end=END, target=None,
                actor="bench",
            )  # fmt: skip
            t = time.perf_counter()
            done = planning.generate(
                db=part.db, clock=clock, event_id=event.id,
                ask=planning.Ask(step_s=900, optimise=planner == "optimiser"),
                zone=ZoneInfo("UTC"), actor="bench",
            )  # fmt: skip
            took = time.perf_counter() - t
            plan = done.plan
            found[planner] = {
                "generate_s": round(took, 2),
                "candidates": plan.candidates,
                "planned_devices": plan.planned_devices,
                "stages": len(plan.stages),
                "max_shortfall_kw": round(plan.max_shortfall_kw, 1),
                "exclusions": dict(plan.exclusions),
                "planner": plan.planner,
                "checks": {
                    "every device a candidate": plan.candidates == devices,
                    "stages kept": len(done.view.stages) == len(plan.stages),
                },
            }
            print(f"{planner}: {took:.1f}s, {plan.planned_devices:,} of {plan.candidates:,} "
                  f"devices in {len(plan.stages)} stage(s), short by up to "
                  f"{plan.max_shortfall_kw:.0f} kW; left out {dict(plan.exclusions)}")  # fmt: skip
    finally:
        part.db.dispose()
    return {"devices": devices, "feeders": feeders, "mw": mw, **found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--feeders", type=int, default=200)
    parser.add_argument("--mw", type=float, default=40.0)
    parser.add_argument("--out", default=None, help="result file name under bench/results/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="derlink-generate-") as tmp:
        result = run(args.devices, args.feeders, args.mw, Path(tmp))
    result["checks"] = {
        f"{planner}: {check}": ok
        for planner in ("greedy", "optimiser")
        for check, ok in result[planner].pop("checks").items()
    }
    result["ok"] = all(result["checks"].values())
    finish(
        result,
        "generate for {devices:,} devices: greedy {greedy[generate_s]}s, optimiser "
        "{optimiser[generate_s]}s",
        args.out or "stage_generate.json",
    )


if __name__ == "__main__":
    main()
