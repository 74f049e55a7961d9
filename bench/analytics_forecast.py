"""Benchmark: load-reduction forecasts for N service points for a coming event window.

Method (docs/benchmarks-analytics.md): reuses the population bench/analytics_kwh_avoided.py
generates (N service points, 45 days of hourly history in Parquet); past settlements are the
population's known savings (one kWh-avoided row per participant per past event, not timed to
make). Timed: read the measurements in batches, predict each service point's load over the
window (10 like days), shrink its response toward the program mean, and build the forecast
file's rows; writing the CSV is timed separately. Prints the figures, writes
bench/results/analytics_forecast_<N>.json.

    .venv/bin/python bench/analytics_forecast.py --service-points 1000000
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta
from pathlib import Path

import polars as pl

from derlink.analytics.kernels.events import Event, EventHistory
from derlink.analytics.kernels.forecast import ResponseStats, forecast_window
from derlink.analytics.kernels.groups import Population
from derlink.analytics.measurements.batches import iter_batches
from derlink.analytics.runs.inputs import read_events, read_service_points
from derlink.analytics.runs.memory import keep_freed_memory
from derlink.analytics.runs.outputs import write_csv
from record import process_usage, write_result

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service-points", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=46)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/derlink-bench"))
    args = parser.parse_args()
    folder = args.data_dir / f"population-{args.service_points}-{args.days}d"
    if not (folder / "complete.json").exists():
        raise SystemExit(f"run bench/analytics_kwh_avoided.py --service-points first ({folder})")
    events = read_events(folder / "events.csv")
    truth = pl.read_parquet(folder / "truth.parquet").filter(pl.col("takes_part"))
    history = truth.select(
        pl.col("sp_id").alias("SPId"),
        pl.col("actual_kwh").alias("TotalKwh"),
        pl.col("saved_kwh").alias("TotalKwhSavedForPeriod"),
    )
    last = events[-1]
    window = Event(
        "NEXT",
        last.program_id,
        "X1RE",
        last.start + timedelta(days=1),
        last.end + timedelta(days=1),
    )
    keep_freed_memory()
    began = time.perf_counter()
    responses = ResponseStats.from_history(history)
    population = Population(
        service_points=read_service_points(folder / "service_points.csv"),
        history=EventHistory(events),
    )
    run = forecast_window(
        iter_batches(folder / "measurements.parquet", 8192),
        window=window,
        responses=responses,
        population=population,
    )
    frame = run.frame()
    compute_s = time.perf_counter() - began
    write_csv(frame, args.data_dir / f"forecast-{args.service_points}.csv")
    total_s = time.perf_counter() - began
    summary = {
        "benchmark": "analytics_forecast",
        "service_points": frame.height,
        "history_rows": history.height,
        "compute_s": round(compute_s, 2),
        "write_s": round(total_s - compute_s, 2),
        "total_s": round(total_s, 2),
        **process_usage(),
        "mean_expected_kw": round(float(frame["MeanExpectedKw"].mean() or 0), 4),  # type: ignore[arg-type]
    }
    print(json.dumps(summary, indent=2))
    write_result(f"analytics_forecast_{args.service_points}.json", summary)


if __name__ == "__main__":
    main()
