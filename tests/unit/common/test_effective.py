"""Effective dating: where a statement goes among the versions held (common/effective.py)."""

from __future__ import annotations

import pytest

from derlink.common.effective import Placed, Timeline, Version, iso_date


def held(*versions: tuple[str, str | None, str]) -> Timeline:
    return Timeline([Version(f, t, (v,)) for f, t, v in versions])


def test_a_first_statement_is_a_new_open_version():
    line = Timeline()
    placed = line.place("2026-01-01", None, ("T1",))
    assert (placed.outcome, placed.insert, placed.ends) == (
        Placed.INSERTED,
        Version("2026-01-01", None, ("T1",)),
        (),
    )
    assert line.versions == [Version("2026-01-01", None, ("T1",))]


def test_the_same_value_again_changes_nothing_whatever_its_day():
    line = held(("2026-01-01", None, "T1"))
    assert line.place("2026-01-01", None, ("T1",)).outcome is Placed.UNCHANGED
    assert line.place("2026-03-01", None, ("T1",)).outcome is Placed.UNCHANGED
    assert line.versions == [Version("2026-01-01", None, ("T1",))]


def test_a_change_closes_the_version_before_it_on_its_day():
    line = held(("2026-01-01", None, "T1"))
    placed = line.place("2026-06-01", None, ("T2",))
    assert placed.outcome is Placed.INSERTED
    assert placed.ends == (("2026-01-01", "2026-06-01"),)
    assert line.versions == [
        Version("2026-01-01", "2026-06-01", ("T1",)),
        Version("2026-06-01", None, ("T2",)),
    ]
    # Stated again, the change is the version held from its day: nothing changes.
    assert line.place("2026-06-01", None, ("T2",)).outcome is Placed.UNCHANGED


def test_a_version_ended_before_the_new_day_keeps_its_end():
    line = held(("2026-01-01", "2026-02-01", "T1"))
    placed = line.place("2026-06-01", None, ("T2",))
    assert (placed.outcome, placed.ends) == (Placed.INSERTED, ())


def test_another_value_for_the_same_day_is_a_conflict_and_an_earlier_day_is_late():
    line = held(("2026-01-01", "2026-06-01", "T1"), ("2026-06-01", None, "T2"))
    conflict = line.place("2026-06-01", None, ("T3",))
    assert conflict.outcome is Placed.CONFLICT
    assert conflict.refusal("service point SP1", "2026-06-01") == (
        "service point SP1 holds another value from 2026-06-01 (T2)"
    )
    late = line.place("2026-03-01", None, ("T3",))
    assert late.outcome is Placed.LATE
    assert late.refusal("service point SP1", "2026-03-01") == (
        "service point SP1 holds a later version, from 2026-06-01: "
        "EffectiveFrom 2026-03-01 is before it"
    )
    assert len(line.versions) == 2


def test_a_stated_end_ends_the_version_holding_the_same_value():
    line = held(("2026-01-01", None, "T1"))
    placed = line.place("2026-01-01", "2026-09-01", ("T1",))
    assert (placed.outcome, placed.ends) == (Placed.ENDED, (("2026-01-01", "2026-09-01"),))
    assert line.versions == [Version("2026-01-01", "2026-09-01", ("T1",))]


@pytest.mark.parametrize(
    ("text", "valid"),
    [("2026-02-28", True), ("2026-02-30", False), ("2026-2-28", False), ("20260228", False)],
)
def test_a_date_is_a_calendar_day_written_yyyy_mm_dd(text: str, valid: bool):
    assert (iso_date(text) == text) is valid
