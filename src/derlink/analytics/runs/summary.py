"""What every run says at its end: each kind of warning it met, with the service points (and
the rows or intervals) behind the first few; the warnings file has every one."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from derlink.analytics.kernels.sufficiency import WarningLog

#: How many service points a summary names per kind of warning.
EXAMPLES = 3


@dataclass(frozen=True)
class WarningKind:
    """One kind of warning of a run: how many service points it concerns, and the first few
    (each with the rows or intervals behind it, when known)."""

    name: str
    severity: str
    description: str
    service_points: int
    examples: list[str]


def _example(sp_id: str | None, detail: str | None) -> str:
    who = sp_id if sp_id is not None else "(the file)"
    return f"{who} ({detail})" if detail else who


def warning_kinds(log: WarningLog, examples: int = EXAMPLES) -> list[WarningKind]:
    """Each kind of warning in ``log``, errors first, then by the service points concerned."""
    found = log.to_frame()
    if found.is_empty():
        return []
    grouped = (
        found.group_by("qualified_name", maintain_order=True)
        .agg(
            pl.col("severity").first(),
            pl.col("description").first(),
            pl.col("sp_id").n_unique().alias("service_points"),
            pl.col("sp_id").head(examples).alias("ids"),
            pl.col("detail").head(examples).alias("details"),
        )
        .sort(["severity", "service_points"], descending=[False, True])
    )
    return [
        WarningKind(
            r["qualified_name"],
            r["severity"],
            r["description"],
            r["service_points"],
            [_example(i, d) for i, d in zip(r["ids"], r["details"], strict=True)],
        )
        for r in grouped.iter_rows(named=True)
    ]
