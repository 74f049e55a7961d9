"""The rule DERMS's inputs follow: the latest per key, nothing older or equal."""

from __future__ import annotations

from datetime import UTC, datetime

from derlink.derms.inputs.model import latest

T1, T2, T3 = (datetime(2026, 7, d, tzinfo=UTC) for d in (1, 2, 3))


def test_a_row_newer_than_the_one_held_is_kept() -> None:
    assert latest([("a", T2, "new")], {"a": T1}) == ["new"]


def test_a_row_as_old_as_or_older_than_the_one_held_changes_nothing() -> None:
    assert latest([("a", T1, "same"), ("b", T1, "older")], {"a": T1, "b": T2}) == []


def test_of_several_rows_of_one_key_the_newest_is_kept_whatever_their_order() -> None:
    assert latest([("a", T3, "3"), ("a", T2, "2")], {}) == ["3"]
    assert latest([("a", T2, "2"), ("a", T3, "3")], {}) == ["3"]
