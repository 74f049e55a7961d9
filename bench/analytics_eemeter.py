"""Benchmark: derlink's CalTRACK-hourly regression against eemeter's CalTRACK DR model.

Method (docs/benchmarks-analytics.md):
1. a synthetic population of --meters service points with --days days of hourly load and
   weather (one time zone); the event is the final day, 16:00–20:00 local; baseline hours are
   every hour before the event day except the population's other event days;
2. derlink: ``fit_hourly`` + ``predict_hourly`` over all meters at once (timed);
3. eemeter 4.1.1 in the separate .venv-bench (``bench/eemeter_env.sh``): ``CaltrackDRModel``
   fitted and predicted meter by meter on the same hours (timed in that process);
4. per meter, the event-period baseline kWh of both; the share of meters within 2 % and the
   throughput ratio. Prints the figures, writes bench/results/analytics_eemeter.json.

    bash bench/eemeter_env.sh && .venv/bin/python bench/analytics_eemeter.py --meters 1000
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import time
from pathlib import Path

# derlink is timed on one core, like each eemeter process: no multi-threaded BLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from derlink.analytics.kernels.baselines.regression import fit_hourly, hours_of_week, predict_hourly
from derlink.analytics.kernels.localtime import US_PER_SECOND
from derlink.analytics.kernels.synthetic import PopulationSpec, build_population
from record import write_result

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def prepare(folder: Path, meters: int, days: int) -> dict[str, np.ndarray]:
    spec = PopulationSpec(service_points=meters, days=days, events=4, final_event=True, seed=21,
                          first_event_day=days - 60)  # fmt: skip
    population = build_population(spec)
    part = next(iter(population.batches(meters)))
    batch = part.batch
    hours = int(batch.counts()[0])
    kwh = batch.kwh.reshape(meters, hours)
    starts = batch.start_us[:hours]
    zone = spec.time_zones[0]
    stations = population.service_points()["station_id"].to_list()
    columns = (starts - population.utc_start_us) // (3600 * US_PER_SECOND)
    station_rows = np.asarray([int(s[2:]) for s in stations])
    temperature = population.temperature_f[station_rows][:, columns]
    event = population.events[-1]
    event_cols = np.flatnonzero((starts >= event.start_us) & (starts < event.end_us))
    day_start = event.start_us - 16 * 3600 * US_PER_SECOND  # local midnight of the event day
    training = np.broadcast_to(starts < day_start, kwh.shape).copy()
    for other in population.events[:-1]:  # other event days are not baseline days
        midnight = other.start_us - 16 * 3600 * US_PER_SECOND
        training[:, (starts >= midnight) & (starts < midnight + 24 * 3600 * US_PER_SECOND)] = False
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"kwh": kwh, "temperature": temperature, "training": training,
              "starts_us": starts, "event_columns": event_cols}  # fmt: skip
    for name, values in arrays.items():
        np.save(folder / f"{name}.npy", values)
    (folder / "sp_ids.json").write_text(json.dumps(batch.sp_ids.tolist()))
    (folder / "meta.json").write_text(json.dumps({"time_zone": zone, "days": days}))
    return {**arrays, "how": hours_of_week(starts, zone), "ids": batch.sp_ids}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=1000)
    parser.add_argument("--days", type=int, default=366, help="a year of baseline + event day")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/derlink-bench/eemeter"))
    parser.add_argument("--eemeter-python", type=Path, default=ROOT / ".venv-bench/bin/python")
    parser.add_argument("--processes", type=int, default=2, help="eemeter processes")
    parser.add_argument(
        "--reuse-eemeter", action="store_true", help="reuse the eemeter results of a former run"
    )
    args = parser.parse_args()
    data = prepare(args.data_dir, args.meters, args.days)
    event = data["event_columns"]
    began = time.perf_counter()
    models = fit_hourly(data["ids"], data["kwh"], data["temperature"], data["how"],
                        training=data["training"])  # fmt: skip
    predicted = predict_hourly(models, data["temperature"][:, event], data["how"][event])
    derlink_s = time.perf_counter() - began
    ours = predicted.sum(axis=1)
    print(f"derlink: {args.meters} meters fitted and predicted in {derlink_s:.2f} s", flush=True)
    # eemeter fits one meter at a time: split the meters over --processes processes and add
    # up the seconds each spent fitting and predicting (its single-core cost).
    bounds = np.linspace(0, args.meters, args.processes + 1).astype(int)
    reuse = args.reuse_eemeter and all(
        (args.data_dir / f"eemeter-{lo}.json").exists() for lo in bounds[:-1]
    )
    children = (
        []
        if reuse
        else [
            subprocess.Popen(
                [
                    str(args.eemeter_python),
                    str(HERE / "analytics_eemeter_ref.py"),
                    str(args.data_dir),
                    str(lo),
                    str(hi),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for lo, hi in itertools.pairwise(bounds)
        ]
    )
    for child in children:  # (none when reusing)
        child.communicate()
        if child.returncode:
            raise SystemExit(f"eemeter side failed ({child.returncode})")
    parts = [json.loads((args.data_dir / f"eemeter-{lo}.json").read_text()) for lo in bounds[:-1]]
    theirs = np.asarray([r["eemeter_kwh"] for p in parts for r in p["results"]])
    eemeter_s = sum(p["fit_predict_s"] for p in parts)
    count = len(theirs)
    print(f"eemeter: {count} meters fitted and predicted in {eemeter_s:.1f} s (summed)")
    relative = np.abs(ours[:count] - theirs) / np.abs(theirs)
    within = float((relative <= 0.02).mean())
    throughput = (count / eemeter_s) and (args.meters / derlink_s) / (count / eemeter_s)
    summary = {
        "benchmark": "analytics_eemeter",
        "meters": args.meters,
        "baseline_days": args.days - 1,
        "event_hours": len(event),
        "derlink_s": round(derlink_s, 3),
        "eemeter_meters": count,
        "eemeter_s": round(eemeter_s, 2),
        "derlink_meters_per_s": round(args.meters / derlink_s, 1),
        "eemeter_meters_per_s": round(count / eemeter_s, 3),
        "throughput_ratio": round(throughput, 1),
        "share_within_2pct": round(within, 4),
        "median_relative_difference": float(np.median(relative)),
        "max_relative_difference": float(relative.max()),
    }
    print(json.dumps(summary, indent=2))
    write_result("analytics_eemeter.json", summary)


if __name__ == "__main__":
    main()
