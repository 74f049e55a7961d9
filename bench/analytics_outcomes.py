"""Benchmark: analytics' outcome intake (EVT-OUTCOME-OUAI) of one N-row outcome file, on SQLite
and on PostgreSQL.

Method (docs/benchmarks.md, "The outcome intake"): a valid outcome file of --rows devices
(``OUTCOME_<stamp>_000001.csv``: four stages of N/4 devices each, DERMS-shaped ids, the five
outcomes in realistic shares, D1CN and D1ND rows without times, a measured kW on most rows) is
written once to a local folder (not timed). Then, for each database and each of --repeat runs,
a child process copies the file into a fresh local-folder object storage and, timed, runs one
``run_once`` of the outcome intake on a fresh database: it checksums the file, streams it in
batches, upserts every outcome, writes the acknowledgement to a local-folder content server and
renames the input ``Acked-``, with the garbage collector tuned as the server tunes it once up
(platform/collector.py; ``--untuned`` leaves it as Python sets it). The child checks its
outcome (every row accepted, as many rows stored and acknowledged) and reports its wall seconds
and its own peak RSS (``ru_maxrss``: the intake alone, not the file's writing). Prints each run
and the medians; writes bench/results/analytics_outcomes_<N>.json (``_untuned`` added with
--untuned).

    .venv/bin/python bench/analytics_outcomes.py --rows 1000000 --repeat 3 \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from derlink.analytics.app import open_analytics_database
from derlink.analytics.outcomes.service import outcome_intake
from derlink.analytics.outcomes.tables import event_outcomes
from derlink.common.clock import SystemClock
from derlink.contracts.event_files import OUTCOME_HEADER, outcome_file_name
from derlink.platform import collector
from derlink.platform.files import LocalFolder

try:
    from bench.record import process_usage, write_result
except ImportError:  # run as a script: bench/ itself is on the path
    from record import process_usage, write_result  # type: ignore[no-redef]

NAME = outcome_file_name(datetime(2026, 7, 18, 1, 0, tzinfo=UTC), 1)
STAGES = 4
#: Outcomes by share of 100 devices: most took part, a few did not respond, overrode, failed or
#: were cancelled before the stage.
SHARES = ("D1SP",) * 85 + ("D1ND",) * 5 + ("D1IO",) * 3 + ("D1ER",) * 2 + ("D1CN",) * 5


def write_outcomes(path: Path, rows: int) -> int:
    """An outcome file of ``rows`` devices over ``STAGES`` stages, streamed to disk; its size."""
    per_stage = -(-rows // STAGES)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(OUTCOME_HEADER) + "\n")
        lines = []
        for i in range(rows):
            stage = i // per_stage
            outcome = SHARES[i % len(SHARES)]
            timed = outcome not in ("D1CN", "D1ND")
            start = f"2026-07-17T{15 + stage}:00:00-07:00" if timed else ""
            end = f"2026-07-17T{16 + stage}:00:00-07:00" if timed else ""
            error = "head-end timeout" if outcome == "D1ER" else ""
            kw = f"{0.5 + (i % 300) / 100:.2f}" if timed else ""
            lines.append(
                f"{i % per_stage + 1},EV-01a2410e1d806020fdb13c8b30,"
                f"SG-01a2410e1d806020fdb13c8b{stage:02d},BYOT-2026,ECOBEE-HE,NIC-{i:012d},"
                f"D-01a2410e1d7bb8cf2{i:09d},SP{i:010d},{outcome},{error},{start},{end},{kw}\n"
            )
            if len(lines) == 10_000:
                out.writelines(lines)
                lines.clear()
        out.writelines(lines)
    return path.stat().st_size


@contextmanager
def fresh_database(server: str | None, home: Path) -> Iterator[str]:
    """A fresh analytics database: a SQLite file under ``home``, or a new PostgreSQL database on
    ``server`` (dropped afterwards)."""
    if server is None:
        for suffix in ("", "-wal", "-shm"):
            (home / f"analytics.sqlite{suffix}").unlink(missing_ok=True)
        yield f"sqlite:///{home}/analytics.sqlite"
        return
    name = f"derlink_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def timed_intake(
    home: Path, url: str, batch_rows: int, tuned: bool
) -> tuple[Any, float, int]:
    """One intake run over the file in ``home/storage``: its summary, wall seconds and rows
    stored."""
    db = open_analytics_database(url)
    try:
        intake = outcome_intake(
            db,
            SystemClock(),
            LocalFolder(home / "storage"),
            LocalFolder(home / "content"),
            4 * 1024**3,
            batch_rows=batch_rows,
        )
        if tuned:
            collector.tune()  # as a server does once it is up (platform/collector.py)
        began = time.perf_counter()
        (summary,) = await intake.run_once()
        wall_s = time.perf_counter() - began
        with db.read() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(event_outcomes))
            return summary, wall_s, int(stored.scalar_one())
    finally:
        db.dispose()


def child(args: argparse.Namespace) -> None:
    """One run, in its own process: stores and database fresh, the intake timed; JSON out."""
    home = args.data_dir / "run"
    shutil.rmtree(home, ignore_errors=True)
    (home / "storage").mkdir(parents=True)
    shutil.copyfile(args.data_dir / NAME, home / "storage" / NAME)
    with fresh_database(args.postgres, home) as url:
        summary, wall_s, stored = asyncio.run(
            timed_intake(home, url, args.batch_rows, not args.untuned)
        )
    with (home / "content" / f"ACK_{NAME}").open("rb") as ack:
        acked = sum(1 for _ in ack) - 1
    checks = {
        "every row accepted": summary.accepted == args.rows and summary.rejected == 0,
        "one outcome stored per row": stored == args.rows,
        "one acknowledgement row per row": acked == args.rows,
        "the input renamed Acked-": (home / "storage" / f"Acked-{NAME}").exists(),
    }
    print(json.dumps({"wall_s": round(wall_s, 2), "checks": checks, **process_usage()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-rows", type=int, default=20_000)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/derlink-bench/outcomes"))
    parser.add_argument("--postgres", help="a PostgreSQL server's URL (its database is not used)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--untuned", action="store_true", help="leave the garbage collector as Python sets it"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    args.data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    size = write_outcomes(args.data_dir / NAME, args.rows)
    print(f"{NAME}: {args.rows:,} rows, {size / 1024**2:.1f} MB "
          f"(written in {time.perf_counter() - started:.1f} s)")  # fmt: skip
    databases = ([] if args.skip_sqlite else [None]) + ([args.postgres] if args.postgres else [])
    results: dict[str, Any] = {}
    ok = True
    for server in databases:
        kind = "sqlite" if server is None else "postgresql"
        runs = []
        for n in range(args.repeat):
            command = [sys.executable, __file__, "--child", "--rows", str(args.rows),
                       "--batch-rows", str(args.batch_rows), "--data-dir", str(args.data_dir),
                       *(["--postgres", server] if server else []),
                       *(["--untuned"] if args.untuned else [])]  # fmt: skip
            answer = subprocess.run(command, check=True, capture_output=True, text=True)
            run = json.loads(answer.stdout.strip().splitlines()[-1])
            ok = ok and all(run["checks"].values())
            print(f"  {kind} run {n + 1}: {run['wall_s']:.2f} s, peak RSS "
                  f"{run['peak_rss_mb']:.0f} MB, load {run['load_average_1m']}, checks "
                  f"{'ok' if all(run['checks'].values()) else run['checks']}")  # fmt: skip
            runs.append(run)
        results[kind] = {
            "runs": runs,
            "median_s": statistics.median(r["wall_s"] for r in runs),
            "median_rows_per_s": round(args.rows / statistics.median(r["wall_s"] for r in runs)),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        }
        print(f"{kind}: median {results[kind]['median_s']:.2f} s "
              f"({results[kind]['median_rows_per_s']:,} rows/s), peak RSS "
              f"{results[kind]['peak_rss_mb']:.0f} MB")  # fmt: skip
    result = {
        "benchmark": "analytics_outcomes",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": args.rows,
        "file_mb": round(size / 1024**2, 1),
        "batch_rows": args.batch_rows,
        "collector": "untuned" if args.untuned else "tuned",
        "ok": ok,
        **results,
    }
    suffix = "_untuned" if args.untuned else ""
    write_result(f"analytics_outcomes_{args.rows}{suffix}.json", result)
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
