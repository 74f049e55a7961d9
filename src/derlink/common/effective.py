"""Effective-dated versions of one thing (a network node, a service point's location): where a
new statement of its value, from a day on, goes among the versions held. Pure.

A version holds a value from ``effective_from`` (an ISO date, inclusive) to ``effective_to``
(exclusive; None while open). A statement ``(from, to, value)`` is placed by one rule, so that
stating the same thing again changes nothing, whatever came in between:

- a version held **from the same day**: the same value changes nothing (but a stated end that
  differs, which becomes its end); another value is a **conflict** (two values for one day);
- a version held **from a later day**: the statement is **late** (history is not rewritten);
- the version in force before it holds **the same value**: nothing changes (but a stated end);
- otherwise the statement is a **new version**, from its day, and the version before it, if it
  was still in force on that day, **closes** on that day.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NamedTuple


class Version(NamedTuple):
    effective_from: str
    effective_to: str | None
    value: tuple[str, ...]


class Placed(StrEnum):
    UNCHANGED = "unchanged"
    #: The held version's end changed.
    ENDED = "ended"
    INSERTED = "inserted"
    CONFLICT = "conflict"
    LATE = "late"


#: The outcomes of a statement that was not placed.
REFUSED = frozenset({Placed.CONFLICT, Placed.LATE})


class Placement(NamedTuple):
    """What a statement does: the version to insert, the ends to set (by the ``effective_from``
    of the version they end), and, for a refusal, the version held that refuses it."""

    outcome: Placed
    insert: Version | None = None
    ends: tuple[tuple[str, str | None], ...] = ()
    held: Version | None = None

    def refusal(self, what: str, effective_from: str) -> str | None:
        """Why the statement about ``what`` (e.g. "service point SP-1") from ``effective_from``
        was refused (a conflict or a late statement), in words; None if it was not."""
        held = self.held
        if held is None:
            return None
        if self.outcome is Placed.CONFLICT:
            return f"{what} holds another value from {effective_from} ({'/'.join(held.value)})"
        if self.outcome is Placed.LATE:
            return (
                f"{what} holds a later version, from {held.effective_from}: "
                f"EffectiveFrom {effective_from} is before it"
            )
        return None


@functools.lru_cache(maxsize=4096)
def iso_date(text: str) -> str | None:
    """``text`` if it is a calendar date ``YYYY-MM-DD``, else None."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    try:
        date.fromisoformat(text)
    except ValueError:
        return None
    return text


@dataclass(slots=True)
class Timeline:
    """The versions held of one thing, oldest first; :meth:`place` keeps them up to date, so
    that the statements of one batch see the ones before them."""

    versions: list[Version] = field(default_factory=list)

    def place(
        self, effective_from: str, effective_to: str | None, value: tuple[str, ...]
    ) -> Placement:
        """Place a statement (``effective_to`` None: no end stated) and keep its effect."""
        before: Version | None = None
        for held in self.versions:
            if held.effective_from == effective_from:
                if held.value != value:
                    return Placement(Placed.CONFLICT, held=held)
                return self._end(held, effective_to)
            if held.effective_from > effective_from:
                return Placement(Placed.LATE, held=held)
            before = held
        if before is not None and before.value == value:
            return self._end(before, effective_to)
        ends: tuple[tuple[str, str | None], ...] = ()
        if before is not None and (
            before.effective_to is None or before.effective_to > effective_from
        ):
            ends = ((before.effective_from, effective_from),)
            self.versions[-1] = before._replace(effective_to=effective_from)
        new = Version(effective_from, effective_to, value)
        self.versions.append(new)
        return Placement(Placed.INSERTED, insert=new, ends=ends)

    def _end(self, held: Version, effective_to: str | None) -> Placement:
        if effective_to is None or effective_to == held.effective_to:
            return Placement(Placed.UNCHANGED, held=held)
        at = self.versions.index(held)
        self.versions[at] = held._replace(effective_to=effective_to)
        return Placement(Placed.ENDED, ends=((held.effective_from, effective_to),), held=held)
