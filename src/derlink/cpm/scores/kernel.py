"""Device score: 0–100 from a device's participation history, recency weighted.

The formula (also in docs/cpm-scores.md):

- every participation of the device before the scoring instant gets a weight
  ``w = 0.5 ** (age_days / half_life_days)`` (90 days by default): last month counts about
  four times as much as last summer;
- reliability ``R``: the weighted mean of the outcome values ``D1SP`` 1.0 (successful
  participation), ``D1IO`` 0.25 (in-flight override: it started, the customer stopped it),
  ``D1ND`` 0 (non-responsive), ``D1ER`` 0 (error); ``D1CN`` (the event was cancelled) says
  nothing about the device and is left out;
- performance ``P``: the weighted mean of ``min(reduction_kw / reference_kw, 1)`` over the
  participations whose realized reduction is known, ``reference_kw`` being the median realized
  reduction of successful participations over the whole population (or a given value);
- both are shrunk toward the population's mean with ``prior_weight`` pseudo-participations,
  so that one lucky event does not make a perfect score;
- ``score = round(100 × (reliability_share × R + (1 − reliability_share) × P))``, with
  ``reliability_share`` 0.7, or ``100 × R`` when no reduction is known at all.

Computed for every device at once with one polars group-by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from derlink.common.clock import iso_z
from derlink.contracts.input_files import SCORE_HEADER

OUTCOME_VALUES = {"D1SP": 1.0, "D1IO": 0.25, "D1ND": 0.0, "D1ER": 0.0}
CANCELLED = "D1CN"
#: Every outcome code the score knows (cancelled ones are known, and left out).
KNOWN_OUTCOMES = (*OUTCOME_VALUES, CANCELLED)
HISTORY_SCHEMA = {
    "device_id": pl.Utf8,
    "head_end_system": pl.Utf8,
    "nic_id": pl.Utf8,
    "event_id": pl.Utf8,
    "event_start": pl.Datetime("us", "UTC"),
    "outcome": pl.Utf8,
    "reduction_kw": pl.Float64,
}
#: The score file's columns, in order (docs/contracts/analytics-files.md).
SCORE_COLUMNS = list(SCORE_HEADER)


@dataclass(frozen=True)
class ScoreSettings:
    half_life_days: float = 90.0
    prior_weight: float = 1.0
    reliability_share: float = 0.7
    reference_kw: float | None = None


def device_scores(
    history: pl.DataFrame, *, as_of: datetime, settings: ScoreSettings | None = None
) -> pl.DataFrame:
    """One row per device: the SDCSE columns (see ``SCORE_COLUMNS``)."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    options = settings or ScoreSettings()
    if "reduction_kw" not in history.columns:
        history = history.with_columns(pl.lit(None, dtype=pl.Float64).alias("reduction_kw"))
    for column in ("head_end_system", "nic_id"):
        if column not in history.columns:
            history = history.with_columns(pl.lit(None, dtype=pl.Utf8).alias(column))
    as_of_us = int(as_of.timestamp() * 1_000_000)
    start_us = pl.col("event_start").dt.epoch("us")
    rows = history.filter((start_us <= as_of_us) & (pl.col("outcome") != CANCELLED)).with_columns(
        (0.5 ** ((as_of_us - start_us) / (86_400e6 * options.half_life_days))).alias("w"),
        pl.col("outcome")
        .replace_strict(OUTCOME_VALUES, default=0.0, return_dtype=pl.Float64)
        .alias("v"),
    )
    reference = options.reference_kw
    if reference is None:
        median = rows.select(
            pl.col("reduction_kw")
            .filter((pl.col("outcome") == "D1SP") & (pl.col("reduction_kw") > 0))
            .median()
        ).item()
        reference = float(median) if isinstance(median, (int, float)) else None
    has_reduction = reference is not None and reference > 0
    quality = (
        (pl.col("reduction_kw") / (reference or 1.0)).clip(0.0, 1.0)
        if has_reduction
        else pl.lit(None, dtype=pl.Float64)
    )
    # Products first, then one group-by of plain sums: the cheap shape for a million devices.
    rows = rows.with_columns(quality.alias("q")).select(
        "device_id",
        "head_end_system",
        "nic_id",
        "event_start",
        "w",
        (pl.col("w") * pl.col("v")).alias("wv"),
        (pl.col("w") * pl.col("q")).fill_null(0.0).alias("wq"),
        (pl.col("w") * pl.col("q").is_not_null()).alias("wr"),
    )
    # One group-by of plain numbers keyed by the id; the device's head-end and NIC come from
    # its last row afterwards (string aggregations would cost more than the whole group-by).
    # Grouping by a 64-bit hash of the id is several times cheaper than by the text; a
    # collision (two ids, one hash) would show as a group whose first and last ids differ,
    # and then the text is used after all.
    keyed = rows.with_row_index("row").with_columns(pl.col("device_id").hash(7).alias("key"))
    per_device = _per_device(keyed, "key")
    first_ids = rows["device_id"].gather(per_device["first"])
    last_ids = rows["device_id"].gather(per_device["row"])
    if not (first_ids == last_ids).all():
        per_device = _per_device(keyed, "device_id")
    per_device = per_device.with_columns(
        rows["device_id"].gather(per_device["row"]).alias("device_id"),
        rows["head_end_system"].gather(per_device["row"]).alias("head_end_system"),
        rows["nic_id"].gather(per_device["row"]).alias("nic_id"),
    )
    totals = per_device.select(
        pl.col("wv").sum(), pl.col("w").sum(), pl.col("wq").sum(), pl.col("wr").sum()
    ).row(0)
    prior_r = totals[0] / totals[1] if totals[1] else 0.5
    prior_p = totals[2] / totals[3] if totals[3] else 0.5
    k = options.prior_weight
    reliability = (pl.col("wv") + k * prior_r) / (pl.col("w") + k)
    performance = (pl.col("wq") + k * prior_p) / (pl.col("wr") + k)
    share = options.reliability_share if has_reduction else 1.0
    scored_at = iso_z(as_of)
    return (
        per_device.with_columns(reliability.alias("R"), performance.alias("P"))
        .with_columns(
            # A device with no known reduction (and no prior to lean on) is scored on R alone.
            (
                100.0
                * pl.when(pl.col("P").is_nan())
                .then(pl.col("R"))
                .otherwise(share * pl.col("R") + (1.0 - share) * pl.col("P"))
            )
            .round(0)
            .clip(0, 100)
            .cast(pl.Int64)
            .alias("Score")
        )
        .select(
            pl.col("device_id").alias("DeviceId"),
            pl.col("head_end_system").alias("HeadEndSystem"),
            pl.col("nic_id").alias("NicId"),
            "Score",
            pl.col("events").cast(pl.Int64).alias("Events"),
            pl.col("R").round(4).alias("Reliability"),
            (
                pl.col("P").fill_nan(None).round(4)
                if has_reduction
                else pl.lit(None, dtype=pl.Float64)
            ).alias("Performance"),
            pl.col("last_event").dt.strftime("%Y-%m-%dT%H:%M:%S.000Z").alias("LastEventDateTime"),
            pl.lit(scored_at).alias("ScoreDateTime"),
        )
        .sort("DeviceId")
    )


def _per_device(rows: pl.DataFrame, key: str) -> pl.DataFrame:
    """Sums per device; ``row``/``first`` are the device's last and first row numbers."""
    return rows.group_by(key).agg(
        pl.col("row").last(),
        pl.col("row").first().alias("first"),
        pl.len().alias("events"),
        pl.col("wv").sum(),
        pl.col("w").sum(),
        pl.col("wq").sum(),
        pl.col("wr").sum(),
        pl.col("event_start").max().alias("last_event"),
    )
