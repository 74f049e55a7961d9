"""Device scores as a run: the participation history file in, the SDCSE score file out, with
a ``WARNINGS_SCORES_<stamp>.csv`` beside it (a prefix DEV-SCORE does not list).

The scores are ``kernels/scores.py``'s; the file name is what hub's DEV-SCORE flow lists for
(docs/contracts/analytics-files.md). A history row that cannot be scored — no device, no start
time that exists, an outcome code the formula does not know — is left out and named in the
warnings, never counted as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from derlink.analytics.kernels import sufficiency
from derlink.analytics.kernels.scores import KNOWN_OUTCOMES, device_scores
from derlink.analytics.kernels.sufficiency import UNKNOWN_OUTCOME, WarningLog
from derlink.analytics.runs.inputs import read_history
from derlink.analytics.runs.outputs import write_csv
from derlink.analytics.runs.summary import WarningKind, warning_kinds

SCORE_FILE_PREFIX = "SDCSE"


#: History rows left out: (kind, what is wrong, the rows it selects).
_UNUSABLE = (
    (sufficiency.BAD_ROW, "history rows without a device", pl.col("device_id").is_null()),
    (
        sufficiency.BAD_ROW,
        "history rows without a start time that exists",
        pl.col("device_id").is_not_null() & pl.col("event_start").is_null(),
    ),
    (
        UNKNOWN_OUTCOME,
        f"outcome codes the score does not know (it knows {', '.join(KNOWN_OUTCOMES)})",
        pl.col("device_id").is_not_null()
        & pl.col("event_start").is_not_null()
        & ~pl.col("outcome").is_in(KNOWN_OUTCOMES).fill_null(False),
    ),
)


@dataclass(frozen=True)
class Scores:
    """A computed scores run: the scores, the rows read and used, and the warnings."""

    scores: pl.DataFrame
    rows: int
    used: int
    warnings: WarningLog


@dataclass(frozen=True)
class ScoreFile:
    """Where a scores run wrote its file and its warnings, and for how many devices."""

    path: Path
    warnings: Path
    devices: int


def compute_scores(history: Path, as_of: datetime, naive_zone: str | None = None) -> Scores:
    """Score every device of the history file as of ``as_of``; rows that cannot be scored are
    left out and named in the warnings."""
    frame = read_history(history, naive_zone)
    log = WarningLog()
    for kind, description, unusable in _UNUSABLE:
        sufficiency.add_row_warnings(
            log, kind, description, frame.filter(unusable), "device_id", "row"
        )
    usable = frame.filter(~pl.any_horizontal([u for _, _, u in _UNUSABLE]))
    scores = device_scores(usable.drop("row"), as_of=as_of)
    return Scores(scores, frame.height, usable.height, log)


def write_score_files(result: Scores, out_dir: Path, as_of: datetime) -> ScoreFile:
    """Write the SDCSE file and the warnings beside it."""
    path = write_scores(result.scores, out_dir, as_of)
    stamp = as_of.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    warnings = write_csv(result.warnings.to_frame(), out_dir / f"WARNINGS_SCORES_{stamp}.csv")
    return ScoreFile(path, warnings, result.scores.height)


@dataclass(frozen=True)
class ScoresSummary:
    """What a scores run produced, said at its end."""

    devices: int
    rows: int
    used: int
    warnings: list[WarningKind]


def summarize_scores(result: Scores) -> ScoresSummary:
    """Devices scored, history rows read and used, and each kind of row left out."""
    return ScoresSummary(
        result.scores.height, result.rows, result.used, warning_kinds(result.warnings)
    )


def score_file_name(as_of: datetime) -> str:
    """``SDCSE_<UTC timestamp>.csv``: the prefix the DEV-SCORE flow lists."""
    return f"{SCORE_FILE_PREFIX}_{as_of.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.csv"


def write_scores(scores: pl.DataFrame, folder: Path, as_of: datetime) -> Path:
    """Write the scores as ``folder/SDCSE_<as_of>.csv`` (the folder made if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / score_file_name(as_of)
    scores.write_csv(path, null_value="")
    return path
