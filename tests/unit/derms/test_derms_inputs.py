"""Of the rows of one call to DERMS's inputs, the newest per key is the one held against what
DERMS holds."""

from __future__ import annotations

from datetime import UTC, datetime

from derlink.derms.inputs.model import newest

T1, T2, T3 = (datetime(2026, 7, d, tzinfo=UTC) for d in (1, 2, 3))


def test_of_several_rows_of_one_key_the_newest_is_kept_whatever_their_order() -> None:
    assert newest([("a", T3, "3"), ("a", T2, "2")]) == ["3"]
    assert newest([("a", T2, "2"), ("a", T3, "3")]) == ["3"]


def test_of_rows_of_one_key_and_time_the_first_is_kept() -> None:
    assert newest([("a", T1, "first"), ("a", T1, "again")]) == ["first"]


def test_rows_of_other_keys_are_all_kept() -> None:
    assert newest([("a", T1, "a"), ("b", T1, "b")]) == ["a", "b"]
