"""The demo's summary reads as text: counts in words, memory with its unit, no Python dicts."""

from __future__ import annotations

from rich.console import Console

from derlink.cli.demo import _print_summary

SUMMARY = {
    "sync_requests": {"Pending": 0, "Synchronized": 1900},
    "rejected": 100,
    "rejected_by_code": {"CPM-UNKNOWN-PROGRAM": 60, "DERMS-DEVICE-CONFLICT": 40},
    "duplicates": 76,
    "hospital": 0,
    "reconciliation_differences": 0,
    "enrollments_synchronized": 1900,
    "enrollment_phase_s": 12.345,
    "enrollments_per_s": 153.9,
    "elapsed_s": 20.5,
    "peak_rss_mb": {"platform": 262.4, "platform_journey": 250.2, "driver": 120.0},
    "analytics_exchange": {
        "files_sent": 1,
        "rows_extracted": 1900,
        "rows_acked_positive": 1900,
        "rows_acked_negative": 0,
        "rows_rejected": 0,
        "elapsed_s": 3.2,
    },
    "master_data": {
        "programs_active": 3,
        "programs_held": 3,
        "rules_held": 3,
        "aggregators": 2,
        "aggregators_held": 2,
    },
    "derms_inputs": {
        "events_in_history": 3,
        "devices_scored": 1805,
        "devices_unscored": 95,
        "devices_replaced": 95,
        "scores_held": 1805,
        "service_points_forecast": 1805,
        "service_points_active": 1805,
        "forecasts_held": 1805,
        "forecast_expected_kw": 612.4,
        "elapsed_s": 4.1,
    },
    "checks": {"settled": True, "hospital empty": True},
}


def test_the_summary_reads_as_text():
    console = Console(record=True, width=200)
    _print_summary(console, SUMMARY)
    text = console.export_text()
    assert "{" not in text and "}" not in text
    assert "sync requests: 0 Pending, 1900 Synchronized" in text
    assert "CPM-UNKNOWN-PROGRAM × 60, DERMS-DEVICE-CONFLICT × 40" in text
    assert (
        "peak memory 262 MB (platform; 250 MB before the scores and forecasts), "
        "120 MB (this demo's driver)"
    ) in text
    assert "in 12.3 s = 153.9/s" in text
    assert "master data at DERMS: 3 of 3 Active programs with 3 rule(s), 2 of 2 aggregators" in text
    assert "device scores: 1805 device(s) scored from 3 past event(s), 95 without history" in text
    assert "DERMS holds 1805, expecting 612.4 kW of reduction" in text
