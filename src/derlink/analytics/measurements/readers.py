"""Measurement files read whole: CSV, Parquet and (through ``espi.py``) Green Button XML.

Each reader gives the long frame ``sp_id, start, kwh`` (``kernels/intervals.py``), with
``start`` a UTC instant. File layouts are in ``docs/contracts/analytics-files.md``: any
spelling of the three columns among the aliases below is accepted; a row that cannot be used
(no service point, a timestamp without an offset, a value that is not a number) becomes a
``bad_row`` warning, while a file that cannot be used at all raises ``InputFileError``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from derlink.analytics.errors import InputFileError
from derlink.analytics.kernels import sufficiency
from derlink.analytics.kernels.sufficiency import WarningLog
from derlink.analytics.measurements.espi import read_espi

# Accepted spellings of the three columns (compared lower-case, without "_", "-" or spaces).
_ALIASES = {
    "sp_id": {"spid", "servicepointid", "servicepoint"},
    "start": {"start", "starttime", "intervalstart", "intervalstarttime", "startdatetime"},
    "kwh": {"kwh", "value", "usagekwh"},
}
OFFSET_AT_END = r"(Z|[+-]\d\d:?\d\d)$"


def canonical_names(columns: Sequence[str], path: Path) -> dict[str, str]:
    """Map the file's column names to ``sp_id, start, kwh``; refuse a file missing one."""
    found: dict[str, str] = {}
    for column in columns:
        key = re.sub(r"[\s_\-()]", "", column.lower())
        for canonical, aliases in _ALIASES.items():
            if key in aliases or key == canonical.replace("_", ""):
                found.setdefault(canonical, column)
    missing = [name for name in _ALIASES if name not in found]
    if missing:
        raise InputFileError(
            f"{path.name}: measurement file lacks column(s) {', '.join(missing)}",
            columns=list(columns),
        )
    return {found[name]: name for name in _ALIASES}


def _clean_text_rows(raw: pl.DataFrame, warnings: WarningLog, source: str) -> pl.DataFrame:
    """Parse text columns; rows that do not parse become ``bad_row`` warnings, not errors."""
    parsed = raw.select(
        pl.col("sp_id").cast(pl.Utf8).str.strip_chars(),
        pl.when(pl.col("start").cast(pl.Utf8).str.contains(OFFSET_AT_END))
        # Timestamps carry an offset; a naive one is refused rather than guessed.
        .then(
            pl.col("start")
            .cast(pl.Utf8)
            .str.to_datetime(time_unit="us", time_zone="UTC", strict=False)
        )
        .otherwise(None)
        .alias("start"),
        pl.col("kwh").cast(pl.Utf8).str.strip_chars().cast(pl.Float64, strict=False),
        (pl.col("kwh").is_null() | (pl.col("kwh").cast(pl.Utf8).str.strip_chars() == "")).alias(
            "_blank"
        ),
    )
    bad = parsed.filter(
        pl.col("sp_id").is_null()
        | (pl.col("sp_id") == "")
        | pl.col("start").is_null()
        | (pl.col("kwh").is_null() & ~pl.col("_blank"))
    )
    if bad.height:
        per_sp = bad.group_by("sp_id").len()
        warnings.add(
            sufficiency.BAD_ROW,
            f"rows of {source} without a service point, an offset-aware start or a number",
            np.asarray(per_sp["sp_id"].to_list(), dtype=object),
            per_sp["len"].to_numpy(),
        )
    good = parsed.filter(
        pl.col("sp_id").is_not_null()
        & (pl.col("sp_id") != "")
        & pl.col("start").is_not_null()
        & (pl.col("kwh").is_not_null() | pl.col("_blank"))
    )
    return good.select(
        pl.col("sp_id").cast(pl.Utf8),
        pl.col("start").cast(pl.Datetime("us", "UTC")),
        pl.col("kwh").cast(pl.Float64).fill_null(float("nan")),
    )


def read_csv(path: Path, warnings: WarningLog | None = None) -> pl.DataFrame:
    """Read a measurement CSV (``sp_id,start,kwh``; ISO timestamps with an offset)."""
    log = warnings if warnings is not None else WarningLog()
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(f"{path.name}: not a readable CSV file: {exc}") from exc
    raw = raw.rename(canonical_names(raw.columns, path))
    return _clean_text_rows(raw, log, path.name)


def read_parquet(path: Path, warnings: WarningLog | None = None) -> pl.DataFrame:
    """Read a whole measurement Parquet file into a long frame."""
    log = warnings if warnings is not None else WarningLog()
    try:
        raw = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(f"{path.name}: not a readable Parquet file: {exc}") from exc
    raw = raw.rename(canonical_names(raw.columns, path))
    dtype = raw.schema["start"]
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            raise InputFileError(
                f"{path.name}: column start is a naive timestamp; it must be UTC-adjusted"
            )
        return raw.select(
            pl.col("sp_id").cast(pl.Utf8),
            pl.col("start").dt.convert_time_zone("UTC").cast(pl.Datetime("us", "UTC")),
            pl.col("kwh").cast(pl.Float64).fill_null(float("nan")),
        )
    return _clean_text_rows(raw, log, path.name)


def read_measurements(path: Path, warnings: WarningLog | None = None) -> pl.DataFrame:
    """Read a measurement file of any supported format (by suffix: csv, parquet, xml)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path, warnings)
    if suffix in {".parquet", ".pq"}:
        return read_parquet(path, warnings)
    if suffix in {".xml", ".espi"}:
        return read_espi(path, warnings=warnings)
    raise InputFileError(f"{path.name}: unknown measurement format {suffix!r}")
