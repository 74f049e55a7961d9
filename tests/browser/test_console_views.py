"""The console's pure parts: signed values, timelines with retries, trends, masked payloads."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from derlink.common.errors import ConfigurationError
from derlink.console import views
from derlink.console.session import Signer, load_or_create_key, same_token
from derlink.platform.auth import Client

OPERATOR = Client("operator", "s3cret", frozenset({"hub:read", "hub:operate"}))


def test_a_signed_value_comes_back_only_unaltered_and_for_its_purpose():
    signer = Signer(b"k" * 32)
    token = signer.sign({"a": 1}, "flash")
    assert signer.verify(token, "flash") == {"a": 1}
    assert signer.verify(token, "session") is None
    assert signer.verify(token[:-1] + ("0" if token[-1] != "0" else "1"), "flash") is None
    assert Signer(b"x" * 32).verify(token, "flash") is None
    assert signer.verify("not-a-token", "flash") is None
    assert signer.verify(None, "flash") is None


def test_the_csrf_check_wants_the_exact_token():
    assert same_token("abc", "abc")
    assert not same_token("abd", "abc")
    assert not same_token("", "abc")
    assert not same_token(None, "abc")


def test_the_signing_key_is_created_once_private_and_refused_when_readable(tmp_path: Path):
    path = tmp_path / "console.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_key(path) == key
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_or_create_key(path)


def test_the_timeline_numbers_attempts_per_run_and_marks_retries():
    events = [
        {"step": "received", "outcome": "Received"},
        {"step": "deliver", "outcome": "failed:remote"},
        {"step": "deliver", "outcome": "failed:remote"},
        {"step": "deliver", "outcome": "failed:remote"},
        {"step": "deliver", "outcome": "faulted"},
        {"step": "resubmit", "outcome": "requested"},
        {"step": "deliver", "outcome": "ok"},
        {"step": "completed", "outcome": "Completed"},
    ]
    rows = views.timeline(events)
    assert [r["run"] for r in rows] == [1, 1, 1, 1, 1, 2, 2, 2]
    assert [r["attempt"] for r in rows] == [None, 1, 2, 3, None, None, 1, None]
    assert views.retries(rows) == 2


def test_trends_bucket_by_hour_with_the_error_share():
    now = datetime(2026, 7, 1, 18, 30, tzinfo=UTC)
    buckets = views.hour_buckets(now, hours=3)
    assert buckets == ["2026-07-01T16", "2026-07-01T17", "2026-07-01T18"]
    series = views.flow_series(
        [
            ("ENR-SYNC", "2026-07-01T18", "Completed", 3),
            ("ENR-SYNC", "2026-07-01T18", "Faulted", 1),
            ("ENR-SYNC", "2026-07-01T16", "Completed with errors", 2),
            ("ENR-SYNC", "2026-06-30T18", "Completed", 9),  # older than the window
        ],
        buckets,
    )
    assert series["ENR-SYNC"]["throughput"] == [2.0, 0.0, 4.0]
    assert series["ENR-SYNC"]["error_rate"] == [100.0, 0.0, 25.0]


def test_a_trend_chart_has_both_axes_tick_labels_a_legend_and_a_summary():
    svg = str(
        views.trend_chart(
            [0.0, 30.0, 70.0, 5.0, 0.0, 0.0, 0.0, 12.0],
            [0.0, 10.0, 50.0, 0.0, 0.0, 0.0, 0.0, 25.0],
            [f"{h:02d}:00" for h in range(8)],
            label="ENR-SYNC <x>",
        )
    )
    assert svg.startswith('<svg class="trend"') and 'role="img"' in svg
    summary = "ENR-SYNC &lt;x&gt; instances per hour: last hour 12, peak 70; error rate"
    assert summary in svg
    # The left axis reaches a round 100 above the peak of 70, the right one 100 %.
    ticks = re.findall(r'text-anchor="end">([^<]+)<', svg)
    assert ticks == ["0", "50", "100"]
    assert re.findall(r">(\d+)%<", svg) == ["0", "50", "100"]
    # The time axis is labelled every six hours back from the latest; the legend names both.
    assert re.findall(r'text-anchor="middle">(\d\d:\d\d)<', svg) == ["07:00", "01:00"]
    assert "instances per hour (left)" in svg and "error rate, % (right)" in svg
    assert svg.count('<rect class="bar"') == 1 + 4  # the legend's swatch and the busy hours


def test_hour_buckets_are_labelled_in_the_utility_s_zone():
    from zoneinfo import ZoneInfo

    labels = views.hour_labels(["2026-07-01T17", "2026-07-01T18"], ZoneInfo("America/Chicago"))
    assert labels == ["12:00", "13:00"]
    assert [views.nice_ceiling(p) for p in (0, 0.5, 3, 10, 11, 70, 4500)] == [
        1,
        1,
        5,
        10,
        20,
        100,
        5000,
    ]


def test_a_payload_is_masked_and_long_lists_are_cut():
    text, notes = views.pretty(
        {"messages": [{"n": i, "secret": "hunter2"} for i in range(25)], "token": "abc"}
    )
    assert "hunter2" not in text and "abc" not in text
    assert text.count('"n"') == views.SHOWN_ITEMS
    assert notes == ["messages: first 20 of 25 shown"]


def test_record_links_name_each_cpm_record_once():
    links = views.record_links(
        [
            {"name": "syncRequestId", "value": "SR1"},
            {"name": "enrollmentId", "value": "E1"},
            {"name": "enrollmentId", "value": "E1"},
            {"name": "servicePointId", "value": "SP1"},
            {"name": "eventId", "value": "EV-1"},  # an EVT-STATUS instance's DERMS event
        ]
    )
    assert [(link["page"], link["value"]) for link in links] == [
        ("records/sync-requests", "SR1"),
        ("records/subscriptions", "E1"),
        ("records/events", "EV-1"),
    ]


def test_a_time_shows_in_the_zone_with_utc_in_its_title():
    from zoneinfo import ZoneInfo

    shown = str(views.when("2026-01-15T18:00:00+00:00", ZoneInfo("America/Chicago")))
    assert shown == (
        '<time datetime="2026-01-15T18:00:00Z" title="2026-01-15 18:00:00 UTC">'
        "2026-01-15 12:00:00 CST</time>"
    )
    assert "13:00:00 CDT" in str(views.when("2026-07-01T18:00:00.000Z", ZoneInfo("US/Central")))
    assert str(views.when(None, ZoneInfo("UTC"))) == "—"
    assert str(views.when("not a <time>", ZoneInfo("UTC"))) == "not a &lt;time&gt;"


def test_a_business_summary_says_what_an_instance_carried_and_what_became_of_it():
    row = {"flow": "ENR-REQ", "records": 1900, "succeeded": 1897, "failed": 3}
    keys = [("messageId", "M1"), ("messageId", "M2"), ("messageId", "M3")]
    assert views.business_summary(row, keys) == (
        "1,900 enrollment requests · 1,897 delivered, 3 refused · messageId M1, M2, M3 "
        "and 1,897 more"
    )
    waiting = {"flow": "ENR-ACK", "records": 1, "succeeded": None, "failed": None}
    assert views.business_summary(waiting, [("syncRequestId", "SR1")]) == (
        "1 enrollment acknowledgement · syncRequestId SR1"
    )


def test_each_record_of_an_instance_has_its_fate_and_errors_naming_none_are_apart():
    def keys_of(record: dict[str, str]) -> list[tuple[str, str]]:
        return [("messageId", record["id"]), ("accountId", record["account"])]

    records = [{"id": "M1", "account": "A1"}, {"id": "M2", "account": "A2"}]
    errors = [
        {"key": "M2", "code": "CPM-X", "message": "no"},
        {"key": "row 7", "code": "HUB-ROW", "message": "bad row"},
    ]
    rows = views.instance_records(records, keys_of, "Completed with errors", errors)
    assert [(r["outcome"], r["error"]) for r in rows] == [
        ("delivered", None),
        ("refused", errors[0]),
    ]
    assert [r["outcome"] for r in views.instance_records(records, keys_of, "Faulted", [])] == [
        "not delivered: the instance faulted"
    ] * 2
    assert views.instance_records(records[:1], keys_of, "Running", [])[0]["outcome"] == (
        "not yet delivered"
    )
    assert views.unmatched_errors(records, keys_of, errors) == [errors[1]]
