"""Effective-dated versions in a table: the statements of a batch read and written in bulk.

A versioned table has a key column (what the versions are of), ``effective_from`` and
``effective_to`` (ISO dates, the end exclusive and null while open), the value columns
compared by common/effective.py, and more columns written with each new version (when, from
where). :class:`VersionedTable` loads the timelines of a batch's keys in a few statements and
writes a batch's new versions and ends in two, as driver SQL with tuples (the same text on
SQLite and PostgreSQL but for the placeholders).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from derlink.common.effective import Placement, Timeline, Version

#: Keys per SELECT: under SQLite's limit of bound parameters.
LOOKUP = 5000


@dataclass
class VersionWrites:
    """A batch's writes to one versioned table, in the order they were placed."""

    inserts: list[tuple[Any, ...]] = field(default_factory=list)
    ends: list[tuple[str | None, str, str]] = field(default_factory=list)

    def add(self, key: str, placement: Placement, extra: Sequence[Any]) -> None:
        """What ``placement`` of a statement about ``key`` writes (``extra``: the other
        columns of a new version)."""
        for effective_from, effective_to in placement.ends:
            self.ends.append((effective_to, key, effective_from))
        if placement.insert is not None:
            new = placement.insert
            self.inserts.append((key, new.effective_from, new.effective_to, *new.value, *extra))


def pairs(conn: Connection, mark: str, query: str, keys: Iterable[str]) -> dict[str, str]:
    """The pairs ``query`` finds for ``keys``, as text: its ``{marks}`` stand for a part of the
    keys' placeholders (``mark``), and it selects a key and its value."""
    found: dict[str, str] = {}
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), LOOKUP):
        part = wanted[start : start + LOOKUP]
        rows = conn.exec_driver_sql(query.format(marks=", ".join([mark] * len(part))), tuple(part))
        found.update((str(r[0]), str(r[1])) for r in rows.all())
    return found


class VersionedTable:
    """A table of effective-dated versions, by name and columns."""

    def __init__(
        self,
        paramstyle: str,
        table: str,
        key: str,
        values: Sequence[str],
        extra: Sequence[str],
    ) -> None:
        mark = "?" if paramstyle == "qmark" else "%s"
        self._mark = mark
        self._table = table
        self._key = key
        columns = (key, "effective_from", "effective_to", *values, *extra)
        self._select = (
            f"SELECT {key}, effective_from, effective_to, {', '.join(values)} FROM {table} "
            f"WHERE {key} IN ({{marks}}) ORDER BY {key}, effective_from"
        )
        self._values = tuple(values)
        marks = ", ".join([mark] * len(columns))
        self._insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        self._end = (
            f"UPDATE {table} SET effective_to = {mark} "
            f"WHERE {key} = {mark} AND effective_from = {mark}"
        )

    def timelines(self, conn: Connection, keys: Iterable[str]) -> dict[str, Timeline]:
        """The versions held of each key (an empty timeline for a key without any)."""
        wanted = sorted(set(keys))
        found: dict[str, Timeline] = {key: Timeline() for key in wanted}
        for start in range(0, len(wanted), LOOKUP):
            part = wanted[start : start + LOOKUP]
            marks = ", ".join([self._mark] * len(part))
            for row in conn.exec_driver_sql(self._select.format(marks=marks), tuple(part)).all():
                found[row[0]].versions.append(
                    Version(row[1], row[2], tuple("" if v is None else v for v in row[3:]))
                )
        return found

    def owned_timelines(
        self, conn: Connection, keys: Iterable[str], owner: str, owner_key: str, owner_value: str
    ) -> tuple[dict[str, str], dict[str, Timeline]]:
        """Of ``keys``, those the table ``owner`` holds (in its column ``owner_key``): each
        one's ``owner_value``, and the versions held of it. One query per part of the keys
        (the owner joined with the versions) instead of two."""
        versions = ", ".join(f"v.{c}" for c in ("effective_from", "effective_to", *self._values))
        query = (
            f"SELECT o.{owner_key}, o.{owner_value}, {versions} FROM {owner} o "
            f"LEFT JOIN {self._table} v ON v.{self._key} = o.{owner_key} "
            f"WHERE o.{owner_key} IN ({{marks}}) ORDER BY o.{owner_key}, v.effective_from"
        )
        owned: dict[str, str] = {}
        found: dict[str, Timeline] = {}
        wanted = sorted(set(keys))
        for start in range(0, len(wanted), LOOKUP):
            part = wanted[start : start + LOOKUP]
            marks = ", ".join([self._mark] * len(part))
            for row in conn.exec_driver_sql(query.format(marks=marks), tuple(part)).all():
                key = str(row[0])
                if key not in owned:
                    owned[key] = str(row[1])
                    found[key] = Timeline()
                if row[2] is not None:
                    values = tuple("" if v is None else v for v in row[4:])
                    found[key].versions.append(Version(row[2], row[3], values))
        return owned, found

    def write(self, conn: Connection, writes: VersionWrites) -> None:
        """The new versions first, then the ends (an end may be of a version new in the batch)."""
        if writes.inserts:
            conn.exec_driver_sql(self._insert, writes.inserts)
        if writes.ends:
            conn.exec_driver_sql(self._end, writes.ends)
