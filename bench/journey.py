"""Enrollments synchronized end to end per second, and peak memory, from `derlink demo`.

Runs the demo (a fresh platform in a child process, driven over HTTP on loopback) once per
database and size asked for, prints the figures and writes them to bench/results/journey.json.

    .venv/bin/python bench/journey.py --customers 20000
    .venv/bin/python bench/journey.py --customers 20000 --postgres postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/journey.py --customers 100000 --out journey-100k.json
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from rich.console import Console

from derlink.cli.demo import run_demo
from record import write_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[20000])
    parser.add_argument("--postgres", help="PostgreSQL server URL; also run there")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--out", default="journey.json", help="file name under bench/results")
    args = parser.parse_args()
    runs = []
    targets = ([] if args.skip_sqlite else [None]) + ([args.postgres] if args.postgres else [])
    for customers in args.customers:
        for database in targets:
            started = time.perf_counter()
            summary = run_demo(
                customers=customers,
                database_url=database,
                home=None,
                keep=False,
                quiet=True,
                console=Console(quiet=True),
            )
            run = {
                "customers": customers,
                "database": summary["database"],
                "ok": summary["ok"],
                "enrollments_synchronized": summary["enrollments_synchronized"],
                "enrollment_phase_s": summary["enrollment_phase_s"],
                "enrollments_per_s": summary["enrollments_per_s"],
                "journey_s": summary["elapsed_s"],
                "enroll_call_ms": summary["enroll_call_ms"],
                "peak_rss_mb": summary["peak_rss_mb"],
                "checks": summary["checks"],
                "wall_s": round(time.perf_counter() - started, 1),
            }
            runs.append(run)
            print(
                f"{customers:>7} customers on {run['database']:<10} "
                f"{run['enrollments_per_s']:>7.1f} enrollments/s "
                f"({run['enrollments_synchronized']} in {run['enrollment_phase_s']} s), "
                f"enroll call p50 {run['enroll_call_ms']['p50']} ms "
                f"p99 {run['enroll_call_ms']['p99']} ms, "
                f"peak RSS platform {run['peak_rss_mb']['platform_journey']} MB through the "
                f"enrollments, {run['peak_rss_mb']['platform']} MB with the scores and forecasts, "
                f"ok={run['ok']}"
            )
    write_result(args.out, {"machine": platform.node(), "cpus": os.cpu_count(), "runs": runs})


if __name__ == "__main__":
    main()
