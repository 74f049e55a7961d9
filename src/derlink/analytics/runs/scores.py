"""Device scores as a run: the participation history file in, the SDCSE score file out.

The scores are ``kernels/scores.py``'s; the file name is what hub's DEV-SCORE flow lists for
(SPEC §2.1).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

SCORE_FILE_PREFIX = "SDCSE"


def score_file_name(as_of: datetime) -> str:
    """``SDCSE_<UTC timestamp>.csv``: the prefix the DEV-SCORE flow lists (SPEC §2.1)."""
    return f"{SCORE_FILE_PREFIX}_{as_of.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.csv"


def write_scores(scores: pl.DataFrame, folder: Path, as_of: datetime) -> Path:
    """Write the scores as ``folder/SDCSE_<as_of>.csv`` (the folder made if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / score_file_name(as_of)
    scores.write_csv(path, null_value="")
    return path
