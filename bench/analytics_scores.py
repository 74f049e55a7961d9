"""Benchmark: device scores for N devices from their participation history.

Method (docs/benchmarks-analytics.md): a synthetic history of --events participations per
device (outcomes drawn per device reliability, a realized reduction for successes) is written
to Parquet (not timed); then, timed: read the history, compute every device's score, write
the SDCSE file. Prints the figures, writes bench/results/analytics_scores_<N>.json.

    .venv/bin/python bench/analytics_scores.py --devices 1000000
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from derlink.analytics.kernels.scores import device_scores
from derlink.analytics.runs.inputs import read_history
from derlink.analytics.runs.memory import keep_freed_memory
from derlink.analytics.runs.scores import write_scores
from record import process_usage, write_result

HERE = Path(__file__).resolve().parent
AS_OF = datetime(2026, 10, 1, tzinfo=UTC)


def history(devices: int, events: int, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    reliability = rng.beta(8, 2, devices)
    device = np.repeat(np.arange(devices), events)
    event = np.tile(np.arange(events), devices)
    draw = rng.random(devices * events)
    p = reliability[device]
    outcome = np.select(
        [draw < p, draw < p + (1 - p) * 0.4, draw < p + (1 - p) * 0.7, draw < p + (1 - p) * 0.9],
        ["D1SP", "D1IO", "D1ND", "D1ER"],
        "D1CN",
    )
    start = np.datetime64(AS_OF.replace(tzinfo=None) - timedelta(days=150), "us")
    starts = start + (event * 7 * 86_400_000_000).astype("timedelta64[us]")
    reduction = np.where(outcome == "D1SP", rng.gamma(2.0, 0.6, devices * events), np.nan)
    ids = np.char.add("D", np.char.zfill(device.astype(str), 8))
    return pl.DataFrame(
        {
            "DeviceId": ids,
            "HeadEndSystem": "HE-1",
            "NicId": np.char.add("NIC", ids),
            "EventId": np.char.add("EV", event.astype(str)),
            "EventStartTime": pl.Series(starts).dt.replace_time_zone("UTC"),
            "Outcome": outcome,
            "ReductionKw": pl.Series(reduction).fill_nan(None),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/derlink-bench/scores"))
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    source = args.data_dir / f"history-{args.devices}-{args.events}.parquet"
    if not source.exists():
        history(args.devices, args.events).write_parquet(source)
    keep_freed_memory()
    began = time.perf_counter()
    frame = read_history(source)
    read_s = time.perf_counter() - began
    scores = device_scores(frame, as_of=AS_OF)
    score_s = time.perf_counter() - began - read_s
    path = write_scores(scores, args.data_dir / "out", AS_OF)
    total_s = time.perf_counter() - began
    summary = {
        "benchmark": "analytics_scores",
        "devices": scores.height,
        "participations": frame.height,
        "read_s": round(read_s, 2),
        "score_s": round(score_s, 2),
        "write_s": round(total_s - read_s - score_s, 2),
        "total_s": round(total_s, 2),
        **process_usage(),
        "file": path.name,
        "score_mean": round(float(scores["Score"].mean() or 0), 2),  # type: ignore[arg-type]
    }
    print(json.dumps(summary, indent=2))
    write_result(f"analytics_scores_{args.devices}.json", summary)


if __name__ == "__main__":
    main()
