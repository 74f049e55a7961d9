"""Measurement files read whole: CSV, Parquet and (through ``espi.py``) Green Button XML.

Each reader gives the long frame ``sp_id, start, kwh`` (``kernels/intervals.py``), with
``start`` a UTC instant. File layouts are in ``docs/contracts/analytics-files.md``: any
spelling of the three columns among the aliases below is accepted; a row that cannot be used
(no service point, no time, a value that is not a number, a local time that does not exist)
becomes a ``bad_row`` warning naming its row, while a file that cannot be used at all raises
``InputFileError``.

Timestamps without an offset (naive local times, the usual utility export) are read in the zone
the run states (``naive_zone``); without one the file is refused, naming the first such row —
a zone is never guessed. A local time that occurs twice (the hour a clock goes back) is the
earlier instant at its first reading of a service point and the later at its second.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

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


def localized(naive: pl.Expr, zone: str, by: str = "sp_id") -> pl.Expr:
    """Naive local times of ``zone`` as UTC instants: a repeated local time (the hour a clock
    goes back) is the earlier instant at the first reading of it of a series (``by``: a
    service point, a station) and the later at its second; a local time that does not exist
    (the hour skipped) is null."""
    first = pl.int_range(pl.len()).over([by, naive]) == 0
    return naive.dt.replace_time_zone(
        zone,
        ambiguous=pl.when(first).then(pl.lit("earliest")).otherwise(pl.lit("latest")),
        non_existent="null",
    ).dt.convert_time_zone("UTC")


def _refuse_naive(text: pl.DataFrame, source: str) -> None:
    """Refuse a file with timestamps without an offset when the run states no zone for them."""
    naive = text.filter(~pl.col("_offset") & pl.col("_naive").is_not_null())
    if naive.height:
        row = naive.row(0, named=True)
        raise InputFileError(
            f"{source}: {naive.height} timestamp(s) without a UTC offset (first: row "
            f"{row['_row']}, {row['start']}); state their zone with --timestamps-zone"
        )


def _clean_text_rows(
    raw: pl.DataFrame, warnings: WarningLog, source: str, naive_zone: str | None = None
) -> pl.DataFrame:
    """Parse text columns; rows that do not parse become ``bad_row`` warnings naming their
    row (its line in a CSV file), not errors."""
    start = pl.col("start").cast(pl.Utf8).str.strip_chars()
    offset = start.str.contains(OFFSET_AT_END).fill_null(False)
    text = raw.with_row_index("_row", offset=2).with_columns(
        start.alias("start"),
        offset.alias("_offset"),
        pl.when(~offset).then(start).str.to_datetime(time_unit="us", strict=False).alias("_naive"),
    )
    if naive_zone is None:
        _refuse_naive(text, source)
    naive_start = (localized(pl.col("_naive"), naive_zone) if naive_zone else pl.lit(None)).cast(
        pl.Datetime("us", "UTC")
    )
    parsed = text.select(
        "_row",
        pl.col("sp_id").cast(pl.Utf8).str.strip_chars(),
        pl.when(pl.col("_offset"))
        .then(pl.col("start").str.to_datetime(time_unit="us", time_zone="UTC", strict=False))
        .otherwise(naive_start)
        .alias("start"),
        pl.col("kwh").cast(pl.Utf8).str.strip_chars().cast(pl.Float64, strict=False),
        (pl.col("kwh").is_null() | (pl.col("kwh").cast(pl.Utf8).str.strip_chars() == "")).alias(
            "_blank"
        ),
    )
    return _without_bad_rows(parsed, warnings, source)


def _without_bad_rows(parsed: pl.DataFrame, warnings: WarningLog, source: str) -> pl.DataFrame:
    """The usable rows of a parsed frame (``_row, sp_id, start, kwh, _blank``); the others
    become ``bad_row`` warnings naming their first rows."""
    usable = (
        pl.col("sp_id").is_not_null()
        & (pl.col("sp_id") != "")
        & pl.col("start").is_not_null()
        & (pl.col("kwh").is_not_null() | pl.col("_blank"))
    )
    sufficiency.add_row_warnings(
        warnings,
        sufficiency.BAD_ROW,
        f"rows of {source} without a service point, a time that exists or a number",
        parsed.filter(~usable),
        "sp_id",
        "_row",
    )
    good = parsed.filter(usable)
    return good.select(
        pl.col("sp_id").cast(pl.Utf8),
        pl.col("start").cast(pl.Datetime("us", "UTC")),
        pl.col("kwh").cast(pl.Float64).fill_null(float("nan")),
    )


def read_csv(
    path: Path, warnings: WarningLog | None = None, naive_zone: str | None = None
) -> pl.DataFrame:
    """Read a measurement CSV (``sp_id,start,kwh``; ISO timestamps, naive ones in
    ``naive_zone``)."""
    log = warnings if warnings is not None else WarningLog()
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(f"{path.name}: not a readable CSV file: {exc}") from exc
    raw = raw.rename(canonical_names(raw.columns, path))
    return _clean_text_rows(raw, log, path.name, naive_zone)


def read_parquet(
    path: Path, warnings: WarningLog | None = None, naive_zone: str | None = None
) -> pl.DataFrame:
    """Read a whole measurement Parquet file into a long frame (naive timestamps in
    ``naive_zone``)."""
    log = warnings if warnings is not None else WarningLog()
    try:
        raw = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputFileError(f"{path.name}: not a readable Parquet file: {exc}") from exc
    raw = raw.rename(canonical_names(raw.columns, path))
    dtype = raw.schema["start"]
    if isinstance(dtype, pl.Datetime):
        start = pl.col("start")
        if dtype.time_zone is None:
            if naive_zone is None:
                raise InputFileError(
                    f"{path.name}: column start holds timestamps without a zone; state their "
                    "zone with --timestamps-zone"
                )
            start = localized(start, naive_zone)
        frame = raw.with_row_index("_row", offset=1).select(
            "_row",
            pl.col("sp_id").cast(pl.Utf8),
            start.dt.convert_time_zone("UTC").cast(pl.Datetime("us", "UTC")).alias("start"),
            pl.col("kwh").cast(pl.Float64).fill_null(float("nan")),
            pl.lit(True).alias("_blank"),
        )
        return _without_bad_rows(frame, log, path.name)
    return _clean_text_rows(raw, log, path.name, naive_zone)


def read_measurements(
    path: Path, warnings: WarningLog | None = None, naive_zone: str | None = None
) -> pl.DataFrame:
    """Read a measurement file of any supported format (by suffix: csv, parquet, xml);
    timestamps without an offset are in ``naive_zone`` (refused when it is None)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_csv(path, warnings, naive_zone)
    if suffix in {".parquet", ".pq"}:
        return read_parquet(path, warnings, naive_zone)
    if suffix in {".xml", ".espi"}:
        return read_espi(path, warnings=warnings)
    raise InputFileError(f"{path.name}: unknown measurement format {suffix!r}")
