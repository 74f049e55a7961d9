"""Benchmark: kWh avoided for one event over N service points read from Parquet.

Method (docs/benchmarks-analytics.md):
1. generate (once, cached under --data-dir) a synthetic population of N service points with
   ``--days`` days of hourly history in the streaming Parquet layout, with its ground truth;
2. in a fresh child process, settle the population's last event with each requested baseline
   method, reading the Parquet file in batches: wall time and the child's peak RSS are the
   figures (generation is not timed);
3. compare TotalKwhSavedForPeriod with the injected truth: mean absolute error per method.

Prints the figures and writes bench/results/analytics_kwh_avoided_<N>.json.

    .venv/bin/python bench/analytics_kwh_avoided.py --service-points 10000
    .venv/bin/python bench/analytics_kwh_avoided.py --service-points 1000000 \
        --methods caiso-10-in-10
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from record import write_result

HERE = Path(__file__).resolve().parent


def generate(folder: Path, service_points: int, days: int) -> dict[str, Path]:
    from derlink.analytics.synthetic_files import write_population

    marker = folder / "complete.json"
    names = ["measurements", "service_points", "events", "participation", "weather", "truth"]
    suffix = {"measurements": "parquet", "weather": "parquet", "truth": "parquet"}
    paths = {n: folder / f"{n}.{suffix.get(n, 'csv')}" for n in names}
    if marker.exists():
        return paths
    started = time.perf_counter()
    write_population(folder, service_points=service_points, days=days, events=3)
    marker.write_text(json.dumps({"generated_s": time.perf_counter() - started}))
    return paths


def measure(folder: Path, method_name: str, batch: int) -> dict[str, object]:
    """Runs in the child: settle the last event, report time, memory and accuracy."""
    from derlink.analytics.baselines.regression import RegressionMethod
    from derlink.analytics.baselines.rules import preset
    from derlink.analytics.events import (
        EventHistory,
        ServicePoints,
        read_events,
        read_participation,
    )
    from derlink.analytics.groups import Population
    from derlink.analytics.measurements import iter_batches
    from derlink.analytics.pipeline import settle_event
    from derlink.analytics.tuning import keep_freed_memory
    from derlink.analytics.weather import Weather

    keep_freed_memory()
    started = time.perf_counter()
    events = read_events(folder / "events.csv")
    event = events[-1]
    participation = read_participation(folder / "participation.csv")
    participants = frozenset(
        participation.filter(pl.col("event_id") == event.event_id)["sp_id"].to_list()
    )
    method = RegressionMethod() if method_name == "caltrack-hourly" else preset(method_name)
    population = Population(
        service_points=ServicePoints.read(folder / "service_points.csv"),
        history=EventHistory(events, participation),
        weather=Weather.read(folder / "weather.parquet")
        if method_name == "caltrack-hourly"
        else None,
    )
    setup_s = time.perf_counter() - started
    run = settle_event(
        iter_batches(folder / "measurements.parquet", batch),
        event=event,
        method=method,
        population=population,
        participants=participants,
    )
    kwh = run.kwh_avoided()
    kw = run.kw_drop()
    total_s = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage.ru_maxrss / 1024
    cpu_s = usage.ru_utime + usage.ru_stime
    truth = pl.read_parquet(folder / "truth.parquet").filter(pl.col("event_id") == event.event_id)
    joined = kwh.join(truth, left_on="SPId", right_on="sp_id")
    error = (joined["TotalKwhSavedForPeriod"] - joined["saved_kwh"]).abs()
    return {
        "method": method_name,
        "service_points_read": run.service_points,
        "rows_settled": kwh.height,
        "kw_drop_rows": kw.height,
        "setup_s": round(setup_s, 2),
        "wall_s": round(total_s, 2),
        # CPU seconds of the process (both cores): on a shared machine, wall time includes
        # waiting for the CPU; this is the work itself.
        "cpu_s": round(cpu_s, 2),
        "load_average_1m": round(__import__("os").getloadavg()[0], 2),
        "peak_rss_mb": round(peak_mb, 1),
        "mae_kwh": round(float(error.mean() or 0.0), 4),  # type: ignore[arg-type]
        "mean_true_saved_kwh": round(float(joined["saved_kwh"].mean() or 0.0), 4),  # type: ignore[arg-type]
        "mean_error_kwh": round(
            float((joined["TotalKwhSavedForPeriod"] - joined["saved_kwh"]).mean() or 0.0),
            4,  # type: ignore[arg-type]
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service-points", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=46, help="45 days of history + event day")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/derlink-bench"))
    parser.add_argument(
        "--methods",
        default="caiso-10-in-10,pjm-high-4-of-5,nyiso-5-of-10,caltrack-hourly",
        help="comma-separated baseline methods",
    )
    parser.add_argument("--batch", type=int, default=8192, help="service points per batch")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.data_dir / f"population-{args.service_points}-{args.days}d"
    if args.child:
        print(json.dumps(measure(folder, args.child, args.batch)))
        return
    folder.mkdir(parents=True, exist_ok=True)
    print(f"population of {args.service_points:,} service points in {folder} …", flush=True)
    generate(folder, args.service_points, args.days)
    file_mb = (folder / "measurements.parquet").stat().st_size / 1e6
    results = []
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        child = subprocess.run(
            [sys.executable, __file__, "--service-points", str(args.service_points),
             "--days", str(args.days), "--data-dir", str(args.data_dir),
             "--batch", str(args.batch), "--child", method],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        results.append(figures)
        print(
            f"{method:>16}: {figures['wall_s']:>7.2f} s (cpu {figures['cpu_s']:.1f} s, load"
            f" {figures['load_average_1m']})  peak {figures['peak_rss_mb']:>7.0f} MB"
            f"  settled {figures['rows_settled']:,}  MAE {figures['mae_kwh']:.4f} kWh"
            f" (mean true saving {figures['mean_true_saved_kwh']:.3f} kWh)",
            flush=True,
        )
    write_result(
        f"analytics_kwh_avoided_{args.service_points}.json",
        {
            "benchmark": "analytics_kwh_avoided",
            "service_points": args.service_points,
            "history_days": args.days - 1,
            "parquet_mb": round(file_mb, 1),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
