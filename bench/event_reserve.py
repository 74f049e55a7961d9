"""EVT-RESERVE end to end at utility scale, on the embedded default (``derlink up``: every part
in one process, SQLite, local folders): one stage of N devices, from the approval that
schedules it to DERMS holding cpm's acknowledgement of its reservation file.

Written before the start (not measured): in DERMS, program BYOT-SUMMER's rules, a substation, a
strategy and an event Submitted with one two-hour stage of N planned devices; in cpm, the same N
devices each on an Active subscription of BYOT-SUMMER (bench/cpm_reserve.py's population).
Measured, through the platform's API: the approval (DERMS schedules the stage and reserves its N
devices in that transaction), then the time until the reservation file is written and sent
(DERMS's file writer), and until DERMS holds cpm's acknowledgement (the hub's instance: the
program event, cpm's health, the checksum, every window of rows delivered to cpm's
reserve-device service in calls of 5,000, the rename, the ack). Checks: the instance completed,
every row reserved in cpm, the file acknowledged.

    .venv/bin/python bench/event_reserve.py --devices 1000000
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.cli.server import ServerProcess
from derlink.common.clock import SystemClock
from derlink.cpm.app import create_part as create_cpm
from derlink.derms.app import create_part as create_derms
from derlink.derms.events import model, service
from derlink.derms.masterdata import service as masterdata
from derlink.derms.masterdata.model import ProgramRules, Rule
from derlink.derms.network.tables import network_nodes
from derlink.platform.auth import CredentialStore
from derlink.platform.settings import Settings

try:
    from bench.cpm_reserve import HEAD_END, PROGRAM, load_population, nic
    from bench.driving import PATIENCE_S, wait_until
    from bench.record import finish
except ImportError:  # run as a script: bench/ itself is on the path
    from cpm_reserve import HEAD_END, PROGRAM, load_population, nic  # type: ignore[no-redef]
    from driving import PATIENCE_S, wait_until  # type: ignore[no-redef]
    from record import finish  # type: ignore[no-redef]

STEP_S = 900


def seed(home: Path, devices: int) -> str:
    """DERMS's event (Submitted, one stage of ``devices``) and cpm's devices; the event's id."""
    settings = Settings(home=home)
    credentials = CredentialStore.generate(DEFAULT_CLIENTS)
    clock = SystemClock()
    start = (clock.now() + timedelta(days=1)).replace(hour=20, minute=0, second=0, microsecond=0)
    end = start + timedelta(hours=2)
    cpm = create_cpm(settings=settings, credentials=credentials, clock=clock, hub=None)
    try:
        load_population(cpm.db, devices)
    finally:
        cpm.db.dispose()
    derms = create_derms(settings=settings, credentials=credentials, clock=clock, hub=None)
    try:
        rule = Rule("R1", start.date() - timedelta(days=30), None, ("WEEKDAY", "WEEKEND"),
                    datetime(2026, 1, 1, 0).time(), datetime(2026, 1, 1, 23, 59).time(), 30, 240,
                    10, "SEASON", 3, 60, 720, False)  # fmt: skip
        masterdata.apply_program_rules(
            db=derms.db, clock=clock,
            records=[ProgramRules("PRM-1", PROGRAM, "", "DR", "Active", 1, (rule,))],
        )  # fmt: skip
        stamp = clock.now().isoformat()
        with derms.db.begin() as conn:
            conn.execute(network_nodes.insert().values(
                node_id="SUB0", kind="SUBSTATION", parent_id="", name="", effective_from=
                "2026-01-01", effective_to=None, updated_at=stamp, source="bench"))  # fmt: skip
        service.put_strategy_type(
            db=derms.db, clock=clock, kind=model.StrategyType("PEAK", "Peak", 50, False)
        )
        strategy = service.create_strategy(
            db=derms.db, clock=clock,
            draft=model.StrategyDraft(
                name="Peak", description="", control_zone="SUB0", programs=(PROGRAM,),
                type_code="PEAK", target=model.Target(model.Objective.MAXIMUM_REDUCTION),
            ),
        )  # fmt: skip
        event = service.create_event(
            db=derms.db, clock=clock, strategy_id=strategy.id, name="bench",
            event_type=model.EventType.ECONOMIC, start=start, end=end, target=None, actor="bench",
        )  # fmt: skip
        steps = int((end - start).total_seconds()) // STEP_S
        planned = tuple((HEAD_END, nic(n), f"D{n:09d}", f"SP{n:09d}", "") for n in range(devices))
        t = time.perf_counter()
        service.plan_event(
            db=derms.db, clock=clock, event_id=event.id, actor="bench",
            plans=[service.StagePlan(PROGRAM, start, end, STEP_S, (1.0,) * steps,
                                     (1.0,) * steps, (1.0,) * steps, devices, devices=planned)],
        )  # fmt: skip
        service.submit_event(
            db=derms.db, clock=clock, event_id=event.id, threshold_mw=1e9, actor="bench"
        )
        print(f"DERMS: event {event.id} submitted, {devices:,} devices planned in "
              f"{time.perf_counter() - t:.1f}s")  # fmt: skip
        return event.id
    finally:
        derms.db.dispose()


def run(devices: int, home: Path) -> dict[str, Any]:
    t = time.perf_counter()
    event_id = seed(home, devices)
    print(f"seeded in {time.perf_counter() - t:.1f}s")
    server = ServerProcess(home, extra_env={"DERLINK_LOAD_SAMPLE": "0",
                                            "DERLINK_STAGE_INTERVAL_S": "1"})  # fmt: skip
    server.start()
    try:
        clients = json.loads((home / "credentials.json").read_text())["clients"]
        secret = {c["client_id"]: c["secret"] for c in clients}
        operator = {"Authorization": f"Bearer operator.{secret['operator']}"}
        api = httpx.Client(base_url=server.base_url, timeout=PATIENCE_S, headers=operator)
        approver = {"Authorization": f"Bearer approver.{secret['approver']}"}
        t0 = time.perf_counter()
        done = api.post(f"/derms/api/v1/events/{event_id}/approve", headers=approver)
        done.raise_for_status()
        approve_s = time.perf_counter() - t0
        assert done.json()["event"]["state"] == "Scheduled", done.text

        def file_state(*states: str) -> dict[str, Any] | None:
            files = api.get(f"/derms/api/v1/events/{event_id}/reservation-files").json()
            return files[0] if files and files[0]["state"] in states else None

        wait_until(lambda: file_state("Sent", "Acknowledged", "Failed"), "the file sent",
                   PATIENCE_S, server)  # fmt: skip
        sent_s = time.perf_counter() - t0
        found = wait_until(lambda: file_state("Acknowledged", "Failed"), "cpm's answer",
                           PATIENCE_S, server)  # fmt: skip
        total_s = time.perf_counter() - t0
        [instance] = api.get("/hub/api/v1/instances", params={"key": found["messageId"]}).json()
        detail = api.get(f"/hub/api/v1/instances/{instance['id']}").json()
        peak_kb = server.sample_memory()
    finally:
        server.stop()
    with sqlite3.connect(home / "cpm.sqlite") as db:
        reserved = db.execute("SELECT COUNT(*) FROM event_participations").fetchone()[0]
    outcome = detail.get("outcome") or {}
    checks = {
        "the instance completed": detail["status"] == "Completed",
        "every row reserved in cpm": outcome.get("succeeded") == devices == reserved,
        "the file acknowledged": found["state"] == "Acknowledged",
    }
    print(f"approve (schedule + reserve {devices:,}) {approve_s:.1f}s; file written and sent "
          f"at {sent_s:.1f}s; cpm's answer at {total_s:.1f}s; {outcome.get('batches')} "
          f"windows; platform peak {peak_kb / 1024:.0f} MB")  # fmt: skip
    return {
        "devices": devices,
        "approve_s": round(approve_s, 2),
        "sent_s": round(sent_s, 2),
        "total_s": round(total_s, 2),
        "rows_per_s": round(devices / total_s, 1),
        "windows": outcome.get("batches"),
        "platform_peak_rss_mb": round(peak_kb / 1024, 1),
        "status": detail["status"],
        "fault": detail.get("fault_message"),
        "checks": checks,
        "ok": all(checks.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--home", type=Path, default=None, help="keep the data here")
    args = parser.parse_args()
    if args.home is not None:
        args.home.mkdir(parents=True, exist_ok=False)
        result = run(args.devices, args.home)
    else:
        with tempfile.TemporaryDirectory() as home:
            result = run(args.devices, Path(home))
    finish(
        result,
        "EVT-RESERVE of {devices:,} devices end to end: {total_s} s ({rows_per_s:,.0f}/s)",
        "event_reserve.json",
    )


if __name__ == "__main__":
    main()
