"""Device scores as a run: the participation history file in, the SDCSE score file out.

The scores are ``kernels/scores.py``'s; the file name is what hub's DEV-SCORE flow lists for
(docs/contracts/analytics-files.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from derlink.analytics.kernels.scores import device_scores
from derlink.analytics.runs.inputs import read_history

SCORE_FILE_PREFIX = "SDCSE"


@dataclass(frozen=True)
class ScoreFile:
    """Where a scores run wrote its file, and for how many devices."""

    path: Path
    devices: int


def run_scores(history: Path, out_dir: Path, as_of: datetime) -> ScoreFile:
    """Score every device of the history file as of ``as_of`` and write the SDCSE file."""
    frame = device_scores(read_history(history), as_of=as_of)
    return ScoreFile(write_scores(frame, out_dir, as_of), frame.height)


def score_file_name(as_of: datetime) -> str:
    """``SDCSE_<UTC timestamp>.csv``: the prefix the DEV-SCORE flow lists."""
    return f"{SCORE_FILE_PREFIX}_{as_of.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.csv"


def write_scores(scores: pl.DataFrame, folder: Path, as_of: datetime) -> Path:
    """Write the scores as ``folder/SDCSE_<as_of>.csv`` (the folder made if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / score_file_name(as_of)
    scores.write_csv(path, null_value="")
    return path
