"""The enrollment intake on real local-folder stores and a real database, for the tests."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from derlink.analytics.app import open_analytics_database
from derlink.analytics.enrollments.model import HEADER
from derlink.analytics.enrollments.service import enrollment_intake
from derlink.analytics.enrollments.tables import file_claims, subscriptions
from derlink.contracts.enrollment_files import ACK_HEADER
from derlink.platform.database import Database
from derlink.platform.files import LocalFolder
from derlink.platform.intake.driver import FileIntake

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


class StillClock:
    """A clock that stands still until a test moves it."""

    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def row(n: int, **changes: Any) -> list[str]:
    """Extract row ``n``: sync request SR<n> for subscription SUB<n>, version 1, valid."""
    values = {
        "syncRequestId": f"SR{n}",
        "subscriptionId": f"SUB{n}",
        "programId": "PRG1",
        "programCode": "BYOT",
        "cisAccountId": f"A{n}",
        "cisPersonId": f"P{n}",
        "servicePointId": f"SPT{n}",
        "cisServicePointId": f"SP{n}",
        "cisPremiseId": f"PR{n}",
        "division": "CA",
        "subscriptionType": "DR",
        "status": "Active",
        "startDateTimeISO": "2026-06-01T07:00:00.000Z",
        "endDateTimeISO": "",
        "version": "1",
    }
    values.update({k: str(v) for k, v in changes.items()})
    return [values[name] for name in HEADER]


def csv_file(columns: tuple[str, ...], *rows: list[str] | str, header: bool = True) -> bytes:
    """A CSV file: ``columns`` as its header, then each row (a raw line when given as text)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(columns)
    for r in rows:
        if isinstance(r, str):
            out.write(r + "\n")
        else:
            writer.writerow(r)
    return out.getvalue().encode()


def extract(*rows: list[str] | str, header: bool = True) -> bytes:
    """An extract file: the contract header, then each row (a raw line when given as text)."""
    return csv_file(HEADER, *rows, header=header)


def accepted(*numbers: int) -> list[list[str]]:
    """The ack rows of rows 2, 3, … holding extract rows ``numbers``, all plainly ACCEPTED."""
    return [[str(i + 2), f"SR{n}", f"SUB{n}", "ACCEPTED", "", ""] for i, n in enumerate(numbers)]


@dataclass
class World:
    """Storage (the object storage), content (the content server), a database and a clock."""

    root: Path
    db: Database
    clock: StillClock = field(default_factory=StillClock)

    def __post_init__(self) -> None:
        self.storage = LocalFolder(self.root / "storage")
        self.content = LocalFolder(self.root / "content")

    def intake(self, storage: LocalFolder | None = None, **options: Any) -> FileIntake:
        limit = options.pop("max_file_bytes", 10 * 1024 * 1024)
        return enrollment_intake(
            self.db, self.clock, storage or self.storage, self.content, limit, **options
        )

    def put(self, name: str, data: bytes) -> None:
        (self.storage.root / name).write_bytes(data)

    def names(self, store: LocalFolder) -> list[str]:
        return sorted(p.name for p in store.root.iterdir() if p.is_file())

    def leftovers(self) -> list[str]:
        """Temporary files the content server holds (a half-written ack would be one)."""
        uploads = self.content.root / ".uploads"
        return sorted(p.name for p in uploads.iterdir()) if uploads.exists() else []

    def ack(self, name: str) -> list[list[str]]:
        """The ack file of input ``name``, parsed, its header checked and dropped."""
        text = (self.content.root / f"ENROLL_ACK_{name}").read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert rows[0] == list(ACK_HEADER)
        return rows[1:]

    def files(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            found = conn.execute(sa.select(file_claims).order_by(file_claims.c.id))
            return [dict(r._mapping) for r in found]

    def subscriptions(self) -> dict[str, dict[str, Any]]:
        with self.db.read() as conn:
            found = conn.execute(sa.select(subscriptions))
            return {r.subscription_id: dict(r._mapping) for r in found}


def open_world(root: Path, database_url: str) -> Iterator[World]:
    db = open_analytics_database(database_url)
    try:
        yield World(root, db)
    finally:
        db.dispose()
