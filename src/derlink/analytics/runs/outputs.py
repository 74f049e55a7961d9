"""How a run writes its tables: CSV, a missing value as a blank cell, four decimals.

Every output file of a run (kWh avoided, kW drop, baselines, forecasts, warnings) is written
here, so that they all read alike (docs/contracts/analytics-files.md).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from derlink.analytics.kernels.kwh_avoided import DECIMALS


def write_csv(frame: pl.DataFrame, path: Path) -> Path:
    """Write a run's frame as CSV (its folder made if needed); missing values are blank cells."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path, null_value="", float_precision=DECIMALS)
    return path
