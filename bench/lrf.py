"""LRF end to end at utility scale: a forecast file of N service points × K intervals, in the
layout analytics writes (``analytics/runs/lrf.py``), taken by the hub from analytics' content
server to DERMS's Forecast service.

The forecast rows are drawn at random in the forecast kernel's shape (ExpectedKw, P10Kw, P90Kw
per interval) and turned into the file by ``lrf_frame``, in this driver; then
``bench/derms_inputs.py`` runs LRF on it through ``derlink up``.

    .venv/bin/python bench/lrf.py --service-points 1000000 --intervals 24
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from derlink.analytics.runs.lrf import lrf_frame, lrf_name

try:
    from bench.derms_inputs import run_flow
    from bench.record import finish
except ImportError:  # run as a script: bench/ itself is on the path
    from derms_inputs import run_flow  # type: ignore[no-redef]
    from record import finish  # type: ignore[no-redef]

AT = datetime(2026, 7, 16, 6, 0, tzinfo=UTC)


def forecast(service_points: int, intervals: int, seed: int = 11) -> pl.DataFrame:
    """The forecast kernel's rows: an expected reduction per interval and its band."""
    rng = np.random.default_rng(seed)
    expected = rng.gamma(2.0, 0.4, (service_points, intervals))
    spread = rng.uniform(0.1, 0.5, (service_points, intervals))
    data: dict[str, Any] = {
        "ProgramId": "BYOT",
        "SPId": pl.Series(np.arange(service_points)).cast(pl.Utf8).str.zfill(9),
        "WindowStartTime": "2026-07-17T00:00:00-07:00",
        "WindowEndTime": "2026-07-18T00:00:00-07:00",
        "IntervalSize(Seconds)": 86_400 // intervals,
        "PastEvents": rng.integers(0, 20, service_points),
        "ResponseRatio": rng.uniform(0.05, 0.4, service_points),
        "MeanExpectedKw": expected.mean(axis=1),
    }
    for name, values in (
        ("ExpectedKw", expected),
        ("P10Kw", expected - spread),
        ("P90Kw", expected + spread),
    ):
        for i in range(intervals):
            data[f"{name}{i + 1}"] = values[:, i]
    return pl.DataFrame(data)


def run(service_points: int, intervals: int, home: Path) -> dict[str, Any]:
    def write(path: Path) -> int:
        frame = lrf_frame(forecast(service_points, intervals), AT)
        frame.write_csv(path, null_value="")
        return frame.height

    result = run_flow(home, "LRF", "analytics-content", lrf_name(AT), write, "forecasts")
    return {"service_points": service_points, "intervals": intervals, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--service-points", type=int, default=100_000)
    parser.add_argument("--intervals", type=int, default=24)
    parser.add_argument("--out", default=None, help="result file name under bench/results/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="derlink-lrf-") as tmp:
        result = run(args.service_points, args.intervals, Path(tmp))
    finish(
        result,
        "LRF of {service_points:,} service points × {intervals} intervals: "
        "{flow_s}s ({rows_per_s:,}/s), platform peak {platform_peak_rss_mb} MB",
        args.out or f"lrf-{args.service_points}x{args.intervals}.json",
    )


if __name__ == "__main__":
    main()
