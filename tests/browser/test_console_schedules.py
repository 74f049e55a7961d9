"""Schedules in words: the cron forms the flows use, and the expression itself for the rest."""

from __future__ import annotations

import pytest

from derlink.console.schedules import in_words
from derlink.hub.settings import HubSettings


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        (HubSettings.reconcile_cron, "daily at 02:00 UTC"),
        (HubSettings.file_cron, "every minute"),
        ("*/5 * * * *", "every 5 minutes"),
        ("0 */5 * * * *", "every 5 minutes"),
        ("30 */15 * * * *", "every 15 minutes, at second 30"),
        ("*/10 * * * * *", "every 10 seconds"),
        ("* * * * * *", "every second"),
        ("0 0 * * * *", "every hour on the hour"),
        ("0 30 * * * *", "every hour at minute 30"),
        ("0 5 */6 * * *", "every 6 hours at minute 5"),
        ("0 30 6 * * 1", "on Mondays at 06:30 UTC"),
        ("0 0 7 * * 1-5", "on weekdays at 07:00 UTC"),
        ("0 0 0 * * 7", "on Sundays at 00:00 UTC"),
        ("15 45 23 * * *", "daily at 23:45:15 UTC"),
    ],
)
def test_the_flows_cron_forms_read_in_words(cron: str, words: str):
    assert in_words(cron) == words


@pytest.mark.parametrize(
    "cron",
    ["0 0 2 1 * *", "0 0 2 * 6 *", "0 0,30 * * * *", "0 0 25 * * *", "0 */5 * * * 1", "nonsense"],
)
def test_other_forms_are_not_put_in_words(cron: str):
    assert in_words(cron) is None
