"""DEV-SCORE end to end at utility scale: a score file of N devices, as cpm's score run writes it,
taken by the hub from cpm's content server to DERMS's Device Score service.

The file is made by cpm's own score kernel (``cpm/scores/kernel.py``) from a synthetic
participation history (``--events`` per device over the last year), in this driver, timed
apart; then ``bench/derms_inputs.py`` runs DEV-SCORE on it through ``derlink up``.

    .venv/bin/python bench/dev_score.py --devices 1000000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from derlink.cpm.scores.kernel import device_scores
from derlink.cpm.scores.model import score_file_name

try:
    from bench.derms_inputs import run_flow
    from bench.record import finish
except ImportError:  # run as a script: bench/ itself is on the path
    from derms_inputs import run_flow  # type: ignore[no-redef]
    from record import finish  # type: ignore[no-redef]

AS_OF = datetime(2026, 7, 16, 6, 0, tzinfo=UTC)
OUTCOMES = np.array(["D1SP", "D1SP", "D1SP", "D1IO", "D1ND", "D1ER", "D1CN"])


def history(devices: int, events: int, seed: int = 7) -> pl.DataFrame:
    """``events`` participations per device over the year before AS_OF, outcomes and reductions
    drawn at random."""
    rng = np.random.default_rng(seed)
    n = devices * events
    device = np.repeat(np.arange(devices), events)
    ids = pl.Series(device).cast(pl.Utf8)
    age_us = rng.integers(0, 365 * 86_400_000_000, n)
    return pl.DataFrame(
        {
            "device_id": "D-" + ids,
            "head_end_system": pl.Series(np.where(device % 2 == 0, "ECOBEE-HE", "HONEYWELL-HE")),
            "nic_id": "NIC-" + ids,
            "event_id": "E-" + pl.Series(rng.integers(0, 200, n)).cast(pl.Utf8),
            "event_start": pl.Series(int(AS_OF.timestamp() * 1e6) - age_us).cast(
                pl.Datetime("us", "UTC")
            ),
            "outcome": pl.Series(OUTCOMES[rng.integers(0, len(OUTCOMES), n)]),
            "reduction_kw": pl.Series(rng.gamma(2.0, 0.5, n)),
        }
    )


def run(devices: int, events: int, home: Path) -> dict[str, Any]:
    kernel: dict[str, float] = {}

    def write(path: Path) -> int:
        t = time.perf_counter()
        scores = device_scores(history(devices, events), as_of=AS_OF)
        kernel["kernel_s"] = round(time.perf_counter() - t, 2)
        scores.write_csv(path, null_value="")
        return scores.height

    name = score_file_name(AS_OF)
    result = run_flow(home, "DEV-SCORE", "cpm-content", name, write, "device_scores")
    return {"devices": devices, "events_per_device": events, **kernel, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=4)
    parser.add_argument("--out", default=None, help="result file name under bench/results/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="derlink-dev-score-") as tmp:
        result = run(args.devices, args.events, Path(tmp))
    finish(
        result,
        "DEV-SCORE of {devices:,} devices: {flow_s}s ({rows_per_s:,}/s), "
        "platform peak {platform_peak_rss_mb} MB; cpm's kernel {kernel_s}s",
        args.out or f"dev-score-{args.devices}.json",
    )


if __name__ == "__main__":
    main()
