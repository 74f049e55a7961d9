"""Device scores from participation history, on hand-computed cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from derlink.cpm.scores.kernel import (
    SCORE_COLUMNS,
    ScoreSettings,
    device_scores,
)

NOW = datetime(2026, 9, 1, tzinfo=UTC)


def history(rows):
    return pl.DataFrame(
        {
            "device_id": [r[0] for r in rows],
            "head_end_system": "HE",
            "nic_id": [f"NIC-{r[0]}" for r in rows],
            "event_id": [f"E{i}" for i in range(len(rows))],
            "event_start": [NOW - timedelta(days=r[1]) for r in rows],
            "outcome": [r[2] for r in rows],
            "reduction_kw": [r[3] if len(r) > 3 else None for r in rows],
        },
        schema_overrides={"reduction_kw": pl.Float64},
    )


def score_of(frame, device):
    return frame.filter(pl.col("DeviceId") == device).row(0, named=True)


def test_the_score_file_has_the_documented_columns():
    frame = device_scores(history([("A", 1, "D1SP")]), as_of=NOW)
    assert frame.columns == SCORE_COLUMNS


def test_reliability_is_shrunk_toward_the_population_with_one_pseudo_event():
    # population: 3 successes out of 4 weighted events → prior 0.75 (all the same age)
    frame = device_scores(
        history([("A", 0, "D1SP"), ("A", 0, "D1SP"), ("B", 0, "D1SP"), ("B", 0, "D1ND")]),
        as_of=NOW,
        settings=ScoreSettings(prior_weight=1.0),
    )
    assert score_of(frame, "A")["Reliability"] == pytest.approx((2 + 0.75) / 3, abs=1e-4)
    assert score_of(frame, "B")["Reliability"] == pytest.approx((1 + 0.75) / 3, abs=1e-4)
    assert score_of(frame, "A")["Score"] == round(100 * (2 + 0.75) / 3)


def test_recent_events_weigh_more_than_old_ones():
    frame = device_scores(
        history([("A", 1, "D1SP"), ("A", 360, "D1ND"), ("B", 360, "D1SP"), ("B", 1, "D1ND")]),
        as_of=NOW,
    )
    assert score_of(frame, "A")["Score"] > score_of(frame, "B")["Score"]


def test_cancelled_events_say_nothing_about_the_device():
    with_cancel = device_scores(
        history([("A", 1, "D1SP"), ("A", 2, "D1CN"), ("B", 1, "D1ND")]), as_of=NOW
    )
    assert score_of(with_cancel, "A")["Events"] == 1


def test_an_override_counts_a_quarter():
    frame = device_scores(
        history([("A", 0, "D1IO")]), as_of=NOW, settings=ScoreSettings(prior_weight=0.0)
    )
    assert score_of(frame, "A")["Score"] == 25


def test_realized_reduction_counts_against_the_median_of_successes():
    frame = device_scores(
        history([("A", 0, "D1SP", 2.0), ("B", 0, "D1SP", 1.0), ("C", 0, "D1SP", 0.5)]),
        as_of=NOW,
        settings=ScoreSettings(prior_weight=0.0),
    )
    # reference = median 1.0 kW; A → min(2, 1) = 1, C → 0.5; reliability 1 for all
    assert score_of(frame, "A")["Score"] == 100
    assert score_of(frame, "C")["Performance"] == 0.5
    assert score_of(frame, "C")["Score"] == round(100 * (0.7 + 0.3 * 0.5))


def test_events_after_the_scoring_instant_are_ignored():
    frame = device_scores(history([("A", -5, "D1ND"), ("A", 5, "D1SP")]), as_of=NOW)
    assert score_of(frame, "A")["Events"] == 1


def test_scores_stay_between_0_and_100():
    frame = device_scores(
        history([("A", d, "D1SP", 50.0) for d in range(5)] + [("B", 1, "D1ER", 0.0)]),
        as_of=NOW,
    )
    assert frame["Score"].min() >= 0 and frame["Score"].max() <= 100


def test_a_naive_scoring_instant_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        device_scores(history([("A", 1, "D1SP")]), as_of=datetime(2026, 9, 1))


def test_grouping_by_id_text_or_by_its_hash_gives_the_same_sums():
    from derlink.cpm.scores.kernel import _per_device

    rows = pl.DataFrame(
        {
            "device_id": ["A", "B", "A"],
            "event_start": [NOW, NOW, NOW],
            "w": [1.0, 2.0, 3.0],
            "wv": [1.0, 0.0, 3.0],
            "wq": [0.0, 0.0, 0.0],
            "wr": [0.0, 0.0, 0.0],
        }
    ).with_row_index("row")
    by_text = _per_device(rows, "device_id").sort("row")
    by_hash = _per_device(rows.with_columns(pl.col("device_id").hash(7).alias("key")), "key").sort(
        "row"
    )
    assert by_text["w"].to_list() == by_hash["w"].to_list() == [2.0, 4.0]
    assert by_text["first"].to_list() == [1, 0]
