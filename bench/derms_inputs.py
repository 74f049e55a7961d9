"""What bench/dev_score.py and bench/lrf.py share: one file of a DERMS input flow, put where its
part writes it, taken to DERMS by the hub end to end on the embedded default.

``derlink up`` runs every part in one process on its embedded defaults (SQLite, local folders);
the file is put in the source store's folder before the start, the flow is run now through the
hub's API, and the driver waits for its instance to end. It reports the flow's time (run-now to
the instance's end: listing, checksum, every window read, checked and delivered to DERMS,
DERMS's upserts, the rename), rows per second, and the platform's peak resident memory (VmHWM of
the ``derlink up`` process, which holds all four parts). After the stop it counts the rows DERMS
holds in its own database.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from derlink.cli.server import ServerProcess

try:
    from bench.driving import NEVER, operator_client, run_now
except ImportError:  # run as a script: bench/ itself is on the path
    from driving import NEVER, operator_client, run_now  # type: ignore[no-redef]


def run_flow(
    home: Path, flow: str, store: str, name: str, write: Any, table: str
) -> dict[str, Any]:
    """Write the file with ``write(path)``, run ``flow`` on it, and what it did."""
    folder = home / "files" / store
    folder.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    rows = write(folder / name)
    written_s = time.perf_counter() - t
    size = (folder / name).stat().st_size
    print(f"{name}: {rows:,} rows, {size / 1e6:.0f} MB, written in {written_s:.1f}s")
    server = ServerProcess(
        home,
        extra_env={
            "DERLINK_FILE_CRON": NEVER,
            "DERLINK_INTAKE_INTERVAL_S": "3600",
        },
    )
    server.start()
    try:
        with operator_client(server) as api:
            t0 = time.perf_counter()
            detail = run_now(api, flow, server)
            flow_s = time.perf_counter() - t0
        # CPU seconds the platform spent: with the machine shared, the wall time is an upper
        # bound, and this says how much of it was the platform's own work.
        cpu_s = _cpu_seconds(server)
    finally:
        peak_kb = server.sample_memory()
        server.stop()
    outcome = detail.get("outcome") or {}
    with sqlite3.connect(home / "derms.sqlite") as db:
        held = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    renamed = sorted(p.name for p in folder.iterdir() if p.name.endswith(name))
    checks = {
        "the instance completed": detail["status"] == "Completed",
        "every row processed": outcome.get("processed") == rows,
        "every row applied": outcome.get("applied") == rows and outcome.get("rejected") == 0,
        "DERMS holds every row": held == rows,
        "the file renamed Sent-": renamed == [f"Sent-{name}"],
    }
    print(
        f"{flow}: {rows:,} rows in {flow_s:.1f}s ({rows / flow_s:,.0f}/s), "
        f"{outcome.get('batches')} windows, platform peak {peak_kb / 1024:.0f} MB, "
        f"platform CPU {cpu_s:.0f} s"
    )
    return {
        "rows": rows,
        "file_mb": round(size / 1e6, 1),
        "flow_s": round(flow_s, 2),
        "rows_per_s": round(rows / flow_s, 1),
        "windows": outcome.get("batches"),
        "platform_peak_rss_mb": round(peak_kb / 1024, 1),
        "platform_cpu_s": cpu_s,
        "status": detail["status"],
        "fault": detail.get("fault_message"),
        "checks": checks,
        "ok": all(checks.values()),
    }


def _cpu_seconds(server: ServerProcess) -> float:
    """User and system CPU seconds of the ``derlink up`` process so far (Linux)."""
    assert server.proc is not None
    fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 1)
