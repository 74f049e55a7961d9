"""Customer unavailability's rules (docs/contracts/unavailability.md, "cpm"): a period holds
together (its end after its start, at most 366 days), one added starts no earlier than a day
before now, an edit that names what the period holds is Unchanged, and a Canceled period takes
no edit and no cancel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from derlink.cpm.errors import CpmBusinessError, CpmConflict
from derlink.cpm.events import unavailability as u
from derlink.cpm.events.unavailability import EditOutcome as E
from derlink.cpm.events.unavailability import UnavailabilityStatus as S

NOW = datetime(2026, 7, 10, 16, 0, tzinfo=UTC)
PDT = timezone(timedelta(hours=-7))
START = datetime(2026, 7, 17, 19, 0, tzinfo=UTC)
HELD = u.Period(START, START + timedelta(hours=8), "away")


def invalid(call: Callable[[], object]) -> str:
    """What a CPM-UNAVAILABILITY-INVALID refusal says."""
    with pytest.raises(CpmBusinessError) as refused:
        call()
    assert refused.value.code == "CPM-UNAVAILABILITY-INVALID"
    return refused.value.message


def test_a_period_ends_after_it_starts():
    assert u.check_period(HELD) is HELD
    assert invalid(lambda: u.check_period(u.Period(START, START))) == (
        "end 2026-07-17T19:00:00+00:00 is not after start 2026-07-17T19:00:00+00:00"
    )
    before = u.Period(START, START - timedelta(seconds=1))
    assert "is not after start" in invalid(lambda: u.check_period(before))
    # The same moment in another offset is no later.
    same = u.Period(START, START.astimezone(PDT))
    assert "is not after start" in invalid(lambda: u.check_period(same))


def test_a_period_lasts_at_most_366_days():
    longest = u.Period(START, START + timedelta(days=366))
    assert u.check_period(longest) is longest
    longer = u.Period(START, START + timedelta(days=366, microseconds=1000))
    assert invalid(lambda: u.check_period(longer)) == (
        "the period 2026-07-17T19:00:00+00:00 to 2027-07-18T19:00:00.001000+00:00 lasts more "
        "than 366 days"
    )


def test_a_period_added_starts_no_earlier_than_a_day_before_now():
    earliest = u.Period(NOW - timedelta(days=1), NOW + timedelta(hours=1))
    assert u.check_new_period(earliest, now=NOW) is earliest
    under_way = u.Period(NOW - timedelta(hours=3), NOW + timedelta(hours=1))
    assert u.check_new_period(under_way, now=NOW) is under_way
    past = u.Period(NOW - timedelta(days=1, microseconds=1), NOW + timedelta(hours=1))
    assert invalid(lambda: u.check_new_period(past, now=NOW)) == (
        "start 2026-07-09T15:59:59.999999+00:00 is more than a day before now "
        "(2026-07-10T16:00:00+00:00): a period in the past is pointless"
    )
    # The other rules hold for a period added too.
    backwards = u.Period(NOW + timedelta(hours=2), NOW + timedelta(hours=1))
    assert "is not after start" in invalid(lambda: u.check_new_period(backwards, now=NOW))


def test_an_edit_that_names_what_the_period_holds_is_unchanged():
    for change in (
        u.PeriodChange(),
        u.PeriodChange(start=START, end=HELD.end, reason="away"),
        # The same moments in another offset.
        u.PeriodChange(start=START.astimezone(PDT), end=HELD.end.astimezone(PDT)),
    ):
        assert u.decide_edit("CU-1", S.ACTIVE, HELD, change) == (E.UNCHANGED, HELD)


def test_an_edit_changes_what_it_names_and_keeps_the_rest():
    later = HELD.end + timedelta(hours=2)
    assert u.decide_edit("CU-1", S.ACTIVE, HELD, u.PeriodChange(end=later)) == (
        E.CHANGED, u.Period(START, later, "away"))  # fmt: skip
    assert u.decide_edit("CU-1", S.ACTIVE, HELD, u.PeriodChange(reason="")) == (
        E.CHANGED, u.Period(START, HELD.end, ""))  # fmt: skip


def test_an_edit_may_keep_a_start_long_past_but_the_period_must_hold_together():
    # A period under way for a week: its start is no longer checked against now.
    long_ago = u.Period(NOW - timedelta(days=7), NOW + timedelta(days=1))
    change = u.PeriodChange(end=NOW + timedelta(days=2))
    assert u.decide_edit("CU-1", S.ACTIVE, long_ago, change)[0] is E.CHANGED
    too_early = u.PeriodChange(end=START - timedelta(hours=1))
    assert "is not after start" in invalid(lambda: u.decide_edit("CU-1", S.ACTIVE, HELD, too_early))
    too_long = u.PeriodChange(end=START + timedelta(days=400))
    assert "lasts more than 366 days" in invalid(
        lambda: u.decide_edit("CU-1", S.ACTIVE, HELD, too_long)
    )


def test_an_active_period_is_canceled():
    assert u.decide_cancel("CU-1", S.ACTIVE) is u.CancelOutcome.CANCELED


@pytest.mark.parametrize(
    ("action", "decide"),
    [
        ("edit", lambda: u.decide_edit("CU-1", S.CANCELED, HELD, u.PeriodChange())),
        ("cancel", lambda: u.decide_cancel("CU-1", S.CANCELED)),
    ],
)
def test_a_canceled_period_takes_no_edit_and_no_cancel(action: str, decide: Callable[[], object]):
    with pytest.raises(CpmConflict) as refused:
        decide()
    assert refused.value.code == "CPM-UNAVAILABILITY-STATE"
    assert refused.value.message == f"unavailability CU-1 is Canceled: it takes no {action}"
    assert refused.value.details == {"unavailabilityStatus": "Canceled"}


def test_a_moment_is_kept_to_the_millisecond():
    moment = datetime(2026, 7, 17, 19, 0, 0, 123456, tzinfo=PDT)
    assert u.kept(moment) == datetime(2026, 7, 17, 19, 0, 0, 123000, tzinfo=PDT)
    assert u.kept(START) == START


def test_the_message_carries_the_status_in_capitals():
    assert (S.ACTIVE.wire, S.CANCELED.wire) == ("ACTIVE", "CANCELED")
