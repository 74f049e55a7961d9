"""EVT-OUTCOME end to end at utility scale, on the embedded default (``derlink up``: every part
in one process, SQLite, local folders): the outcomes of one stage of N devices, from DERMS
closing the stage's outcome window to cpm holding every participation's outcome and analytics
holding every row.

Written before the start (not measured): in cpm, the N devices each on an Active subscription
(bench/cpm_reserve.py's population), the stage's program event and one Reserved participation
per device; in DERMS, the event and its Completed stage, its outcome window passed, and N live
reservations of which 80 % hold a reported D1SP with a measured kW, 5 % D1IO, 5 % D1ER and 10 %
nothing (D1ND at the close). Measured, through the platform's API, from the start of the
platform: DERMS closes the stage, writes the outcome file and sends it (EVT-OUTCOME); the hub
copies it to analytics' object storage (EVT-OUTCOME-OUAI) and posts its rows to cpm in calls of
5,000; DERMS holds the hub's acknowledgement; analytics' intake has taken the copy. Checks: the
instance completed, every row recorded in cpm (by outcome), analytics took every row, the file
acknowledged.

    .venv/bin/python bench/event_outcome.py --devices 1000000
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import httpx

from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.cli.server import ServerProcess
from derlink.common.clock import SystemClock
from derlink.cpm.app import create_part as create_cpm
from derlink.cpm.events.tables import event_participations, program_events
from derlink.derms.app import create_part as create_derms
from derlink.derms.events.tables import events, reservations, stages
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

EVENT, STAGE = "EV-OUTCOME-BENCH", "SG-OUTCOME-BENCH"
_BATCH = 20_000


def outcome_of(n: int) -> tuple[str | None, float | None]:
    """Device n's reported outcome and measured kW (None: no report, D1ND at the close)."""
    kind = n % 20
    if kind < 16:
        return "D1SP", round(0.5 + (n % 7) * 0.1, 2)
    if kind == 16:
        return "D1IO", 0.2
    if kind == 17:
        return "D1ER", None
    return None, None


def seed(home: Path, devices: int) -> dict[str, int]:
    """cpm's participations and DERMS's closed-window stage; the expected outcomes' counts."""
    settings = Settings(home=home)
    credentials = CredentialStore.generate(DEFAULT_CLIENTS)
    clock = SystemClock()
    end = clock.now().astimezone(UTC).replace(microsecond=0) - timedelta(hours=2)
    start = end - timedelta(hours=2)
    stamp = clock.now().isoformat()
    cpm = create_cpm(settings=settings, credentials=credentials, clock=clock, hub=None)
    try:
        load_population(cpm.db, devices)
        with cpm.db.begin() as conn:
            conn.execute(program_events.insert().values(
                id="PE-OUTCOME-BENCH", external_identifier=STAGE, event_external_identifier=EVENT,
                program_code=PROGRAM, program_external_identifier=PROGRAM, category="X1EC",
                start_at=start.isoformat(), end_at=end.isoformat(), state="Complete",
                cancel_reason="", created_at=stamp, updated_at=stamp))  # fmt: skip
        for first in range(0, devices, _BATCH):
            with cpm.db.begin() as conn:
                conn.execute(event_participations.insert(), [
                    {"id": f"EP-{n:026d}", "program_event_id": "PE-OUTCOME-BENCH",
                     "head_end_system": HEAD_END, "nic_id": nic(n), "device_id": f"D-{n:026d}",
                     "subscription_id": f"E-{n:026d}", "reservation_start_at": start.isoformat(),
                     "reservation_end_at": end.isoformat(), "state": "Reserved",
                     "reserved": True, "outcome": None, "preemptive_opt_out": False,
                     "created_at": stamp, "updated_at": stamp}
                    for n in range(first, min(first + _BATCH, devices))
                ])  # fmt: skip
    finally:
        cpm.db.dispose()
    derms = create_derms(settings=settings, credentials=credentials, clock=clock, hub=None)
    counts: dict[str, int] = {}
    try:
        with derms.db.begin() as conn:
            conn.execute(events.insert().values(
                id=EVENT, name="bench", strategy_id="ST-BENCH", event_type="ECONOMIC",
                objective="MAXIMUM_REDUCTION", programs=json.dumps([PROGRAM]),
                window_start=start.isoformat(), window_end=end.isoformat(), state="Completed",
                priority=50, ba_checked=False, needs_ba=False, created_by="bench",
                created_at=stamp, updated_at=stamp))  # fmt: skip
            conn.execute(stages.insert().values(
                id=STAGE, event_id=EVENT, seq=1, program=PROGRAM, start_at=start.isoformat(),
                end_at=end.isoformat(), state="Completed", step_s=900,
                expected_kw=json.dumps({"p10": [0.0] * 8, "p50": [0.0] * 8, "p90": [0.0] * 8}),
                device_count=devices))  # fmt: skip
        for first in range(0, devices, _BATCH):
            rows = []
            for n in range(first, min(first + _BATCH, devices)):
                outcome, kw = outcome_of(n)
                counts[outcome or "D1ND"] = counts.get(outcome or "D1ND", 0) + 1
                rows.append({
                    "stage_id": STAGE, "head_end_system": HEAD_END, "nic_id": nic(n),
                    "event_id": EVENT, "device_id": f"D-{n:026d}", "sp_id": f"SP{n:09d}",
                    "feeder_id": "", "program": PROGRAM, "start_at": start.isoformat(),
                    "end_at": end.isoformat(), "state": "Dispatched", "reason": None,
                    "outcome": outcome, "error_message": "offline" if outcome == "D1ER" else None,
                    "participation_start_at": start.isoformat() if outcome else None,
                    "participation_end_at": end.isoformat() if outcome else None,
                    "measured_kw": kw, "outcome_at": stamp if outcome else None,
                    "outcome_source": "HEAD_END_FILE" if outcome else None, "file_seq": 0,
                    "record_id": n + 1, "created_at": stamp, "updated_at": stamp,
                })  # fmt: skip
            with derms.db.begin() as conn:
                conn.execute(reservations.insert(), rows)
    finally:
        derms.db.dispose()
    return counts


def run(devices: int, home: Path) -> dict[str, Any]:
    t = time.perf_counter()
    expected = seed(home, devices)
    print(f"seeded {devices:,} participations and reservations in {time.perf_counter() - t:.1f}s")
    server = ServerProcess(home, extra_env={
        "DERLINK_LOAD_SAMPLE": "0", "DERLINK_STAGE_INTERVAL_S": "1",
        "DERLINK_INTAKE_INTERVAL_S": "1"})  # fmt: skip
    t0 = time.perf_counter()
    server.start()
    try:
        clients = json.loads((home / "credentials.json").read_text())["clients"]
        secret = {c["client_id"]: c["secret"] for c in clients}
        operator = {"Authorization": f"Bearer operator.{secret['operator']}"}
        api = httpx.Client(base_url=server.base_url, timeout=PATIENCE_S, headers=operator)

        def file_state(*states: str) -> dict[str, Any] | None:
            files = api.get("/derms/api/v1/outcome-files", params={"eventId": EVENT}).json()
            return files[0] if files and files[0]["state"] in states else None

        sent = wait_until(lambda: file_state("Sent", "Acknowledged", "Failed"), "the file sent",
                          PATIENCE_S, server)  # fmt: skip
        sent_s = time.perf_counter() - t0
        found = wait_until(lambda: file_state("Acknowledged", "Failed"), "the hub's answer",
                           PATIENCE_S, server)  # fmt: skip
        acked_s = time.perf_counter() - t0

        def analytics_took() -> dict[str, Any] | None:
            files = api.get("/analytics/api/v1/outcome-files").json()
            items = files["items"] if isinstance(files, dict) else files
            done = [
                f for f in items if f["name"] == sent["fileName"] and f["state"] != "Processing"
            ]
            return done[0] if done else None

        taken = wait_until(analytics_took, "analytics' intake", PATIENCE_S, server)
        analytics_s = time.perf_counter() - t0
        [instance] = api.get("/hub/api/v1/instances", params={"key": found["messageId"]}).json()
        detail = api.get(f"/hub/api/v1/instances/{instance['id']}").json()
        peak_kb = server.sample_memory()
    finally:
        server.stop()
    with sqlite3.connect(home / "cpm.sqlite") as db:
        recorded = dict(db.execute(
            "SELECT outcome, COUNT(*) FROM event_participations WHERE state = 'OutcomeRecorded' "
            "GROUP BY outcome").fetchall())  # fmt: skip
    outcome = detail.get("outcome") or {}
    total_s = max(acked_s, analytics_s)
    checks = {
        "the instance completed": detail["status"] == "Completed",
        "every participation's outcome recorded in cpm": recorded == expected,
        "analytics took every row": (taken.get("accepted"), taken.get("rejected")) == (devices, 0),
        "the file acknowledged": found["state"] == "Acknowledged",
    }
    print(f"outcome file written and sent at {sent_s:.1f}s; the hub's answer at {acked_s:.1f}s "
          f"({outcome.get('batches')} windows, {outcome.get('copyParts')} copy parts); analytics "
          f"took it at {analytics_s:.1f}s; platform peak {peak_kb / 1024:.0f} MB")  # fmt: skip
    return {
        "devices": devices,
        "sent_s": round(sent_s, 2),
        "acked_s": round(acked_s, 2),
        "analytics_s": round(analytics_s, 2),
        "total_s": round(total_s, 2),
        "rows_per_s": round(devices / total_s, 1),
        "windows": outcome.get("batches"),
        "recorded": recorded,
        "platform_peak_rss_mb": round(peak_kb / 1024, 1),
        "status": detail["status"],
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
        "EVT-OUTCOME of {devices:,} outcomes end to end: {total_s} s ({rows_per_s:,.0f}/s)",
        "event_outcome.json",
    )


if __name__ == "__main__":
    main()
