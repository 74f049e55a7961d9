"""Data-sufficiency warnings as data, with dotted names (the eemeter ``EEMeterWarning`` style).

A run never stops on bad data: each problem found in a service point's data becomes one row
``(sp_id, qualified_name, severity, description, count, detail)`` in a ``WarningLog``, and the
computation carries on with what is usable. ``detail`` names the first rows or intervals behind
the warning (``row 12``, ``2026-07-01T17:00:00Z``); ``severity`` is ``error`` for the kinds in
``ERRORS`` (the service point is not computed) and ``warning`` otherwise. Warnings are recorded
for a whole population at once (arrays of service point ids and counts), so that recording them
costs nothing per service point in Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

# The catalogue of names; docs/analytics.md explains each one.
GAP = "analytics.measurements.gap"
SHORT_HISTORY = "analytics.measurements.short_history"
DUPLICATE = "analytics.measurements.duplicate"
OUT_OF_RANGE = "analytics.measurements.out_of_range"
MISALIGNED = "analytics.measurements.misaligned"
BAD_ROW = "analytics.measurements.bad_row"
INTERVAL_UNSUPPORTED = "analytics.measurements.interval_unsupported"
NO_DATA = "analytics.measurements.no_data"
UNSORTED_FILE = "analytics.measurements.unsorted_file"
TOO_FEW_DAYS = "analytics.baseline.too_few_days"
FEWER_DAYS_THAN_RULE = "analytics.baseline.fewer_days_than_rule"
ADJUSTMENT_UNAVAILABLE = "analytics.baseline.adjustment_unavailable"
ADJUSTMENT_CAPPED = "analytics.baseline.adjustment_capped"
EVENT_DATA_MISSING = "analytics.settlement.event_data_missing"
NO_STATION = "analytics.weather.no_station"
TEMPERATURE_MISSING = "analytics.weather.temperature_missing"
REGRESSION_INSUFFICIENT = "analytics.regression.insufficient_data"
NO_TIME_ZONE = "analytics.service_point.no_time_zone"
NO_MEASUREMENTS = "analytics.measurements.none"
CONFLICTING_DUPLICATE = "analytics.measurements.conflicting_duplicate"
OUTLIER = "analytics.measurements.outlier"
WH_NOT_KWH = "analytics.measurements.wh_not_kwh"
WEATHER_BAD_ROW = "analytics.weather.bad_row"

#: The kinds that keep a service point out of the computation.
ERRORS = frozenset({NO_TIME_ZONE, NO_MEASUREMENTS, CONFLICTING_DUPLICATE})
#: How many rows or intervals a warning's ``detail`` names at most.
DETAIL_EXAMPLES = 3
#: No instant, in a row of a warning's instants.
NO_INSTANT = np.iinfo(np.int64).min

WARNING_SCHEMA: dict[str, Any] = {
    "sp_id": pl.Utf8,
    "qualified_name": pl.Utf8,
    "severity": pl.Utf8,
    "description": pl.Utf8,
    "count": pl.Int64,
    "detail": pl.Utf8,
}


@dataclass(frozen=True)
class SufficiencyWarning:
    """One warning, the shape eemeter uses: a dotted name, a sentence, and data."""

    qualified_name: str
    description: str
    data: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "qualified_name": self.qualified_name,
            "description": self.description,
            "data": dict(self.data),
        }


class WarningLog:
    """Collects warnings for many service points; ``to_frame`` gives one row per warning.

    Recording keeps plain arrays; the frame is built once, when asked for.
    """

    def __init__(self) -> None:
        self._parts: list[
            tuple[str, str, npt.NDArray[Any], npt.NDArray[np.int64], npt.NDArray[Any]]
        ] = []

    def add(
        self,
        qualified_name: str,
        description: str,
        sp_ids: npt.NDArray[Any] | Iterable[str | None],
        counts: npt.NDArray[np.integer[Any]] | int = 1,
        details: npt.NDArray[Any] | Iterable[str | None] | None = None,
    ) -> None:
        """Record ``qualified_name`` for each service point whose count is positive.

        ``details`` name the rows or intervals behind it, one per service point: a text, or a
        row of UTC instants (microseconds, ``NO_INSTANT`` where none; an int64 array of shape
        (N, k)), formatted only when the frame is built.
        """
        ids = sp_ids if isinstance(sp_ids, np.ndarray) else np.asarray(list(sp_ids), dtype=object)
        if ids.size == 0:
            return
        values = np.broadcast_to(np.asarray(counts, dtype=np.int64), ids.shape)
        keep = values > 0
        if not keep.any():
            return
        if details is None:
            texts: npt.NDArray[Any] = np.full(ids.shape, None, dtype=object)
        elif isinstance(details, np.ndarray) and details.dtype == np.int64:
            texts = details
        else:
            texts = np.asarray(list(details), dtype=object)
        self._parts.append((qualified_name, description, ids[keep], values[keep], texts[keep]))

    def extend(self, other: WarningLog) -> None:
        self._parts.extend(other._parts)

    def to_frame(self) -> pl.DataFrame:
        if not self._parts:
            return pl.DataFrame(schema=WARNING_SCHEMA)
        frames = [
            pl.DataFrame(
                {
                    "sp_id": pl.Series(ids.tolist(), dtype=pl.Utf8),
                    "qualified_name": name,
                    "severity": "error" if name in ERRORS else "warning",
                    "description": description,
                    "count": counts,
                    "detail": pl.Series(_detail_texts(details, counts), dtype=pl.Utf8),
                },
                schema=WARNING_SCHEMA,
            )
            for name, description, ids, counts, details in self._parts
        ]
        return pl.concat(frames).sort(["sp_id", "qualified_name"], nulls_last=True)

    def for_sp(self, sp_id: str) -> list[SufficiencyWarning]:
        """The warnings of one service point, as ``SufficiencyWarning`` values."""
        rows = self.to_frame().filter(pl.col("sp_id") == sp_id).iter_rows(named=True)
        return [
            SufficiencyWarning(
                r["qualified_name"], r["description"], {"count": r["count"], "detail": r["detail"]}
            )
            for r in rows
        ]

    def names(self) -> set[str]:
        return {name for name, *_ in self._parts}

    def __len__(self) -> int:
        return sum(len(part[2]) for part in self._parts)

    def service_points_with(self, names: frozenset[str]) -> set[str]:
        """The service points with a warning of one of ``names``."""
        return {sp for name, _, ids, _, _ in self._parts if name in names for sp in ids.tolist()}


def _detail_texts(details: npt.NDArray[Any], counts: npt.NDArray[np.int64]) -> list[str | None]:
    """Details as text: instants as ``2026-07-01T17:00:00Z, …`` (``…`` when the count is
    larger than the instants named)."""
    if details.dtype != np.int64:
        return list(details.tolist())
    shown = details != NO_INSTANT
    stamps = np.datetime_as_string(np.where(shown, details, 0).astype("datetime64[us]"), unit="s")
    texts: list[str | None] = []
    for row, keep, count in zip(stamps.tolist(), shown.tolist(), counts.tolist(), strict=True):
        named = [f"{s}Z" for s, k in zip(row, keep, strict=True) if k]
        more = ", …" if count > len(named) else ""
        texts.append(", ".join(named) + more if named else None)
    return texts


def first_instants(
    mask: npt.NDArray[np.bool_], column_starts_us: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """(N, ``DETAIL_EXAMPLES``): the instants of each row's first True columns of ``mask``
    (N, C), ``NO_INSTANT`` past the last."""
    out = np.full((mask.shape[0], DETAIL_EXAMPLES), NO_INSTANT, dtype=np.int64)
    rank = np.cumsum(mask, axis=1) - 1
    rows, cols = np.nonzero(mask & (rank < DETAIL_EXAMPLES))
    out[rows, rank[rows, cols]] = column_starts_us[cols]
    return out


def rows_text(rows: list[int], count: int) -> str:
    """The first rows behind a warning, ``row 2, 7, …`` (``…`` when ``count`` is larger)."""
    shown = ", ".join(str(r) for r in rows)
    return f"row {shown}" + (", …" if count > len(rows) else "")


def add_row_warnings(
    log: WarningLog, qualified_name: str, description: str, bad: pl.DataFrame, owner: str, row: str
) -> None:
    """Record the rows of ``bad`` as one warning per ``owner`` (a service point, a station, a
    device), counting its rows and naming the first (column ``row``)."""
    if bad.is_empty():
        return
    per_owner = bad.group_by(owner, maintain_order=True).agg(
        pl.len(), pl.col(row).head(DETAIL_EXAMPLES)
    )
    log.add(
        qualified_name,
        description,
        np.asarray(per_owner[owner].to_list(), dtype=object),
        per_owner["len"].to_numpy(),
        [
            rows_text(rows, count)
            for rows, count in zip(
                per_owner[row].to_list(), per_owner["len"].to_list(), strict=True
            )
        ],
    )
