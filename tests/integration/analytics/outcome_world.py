"""The outcome intake on real local-folder stores and a real database, for the tests."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from intake_world import World, csv_file

from derlink.analytics.app import open_analytics_database
from derlink.analytics.outcomes.model import ACK_HEADER, HEADER
from derlink.analytics.outcomes.service import outcome_intake
from derlink.analytics.outcomes.tables import event_outcomes, outcome_refusals
from derlink.platform.files import LocalFolder
from derlink.platform.intake.driver import FileIntake


def outcome(n: int, **changes: Any) -> list[str]:
    """Outcome row ``n``: device NIC-<n> (head-end ECOBEE-HE) of service point SP<n> in stage
    SG-1 of event EV-1, successful, 1.5 kW."""
    values = {
        "RecordId": str(n),
        "EventId": "EV-1",
        "StageId": "SG-1",
        "ProgramId": "BYOT-2026",
        "HeadEndSystem": "ECOBEE-HE",
        "NicId": f"NIC-{n}",
        "DeviceId": f"D-{n}",
        "SPId": f"SP{n}",
        "Outcome": "D1SP",
        "ErrorMessage": "",
        "ParticipationStartTime": "2026-07-17T15:00:00-07:00",
        "ParticipationEndTime": "2026-07-17T17:00:00-07:00",
        "MeasuredKw": "1.5",
    }
    values.update({k: str(v) for k, v in changes.items()})
    return [values[name] for name in HEADER]


def outcome_file(*rows: list[str] | str, header: bool = True) -> bytes:
    """An outcome file: the contract header, then each row (a raw line when given as text)."""
    return csv_file(HEADER, *rows, header=header)


@dataclass
class OutcomeWorld(World):
    """The enrollment intake's world, with the outcome intake and what it stored."""

    def outcomes_intake(self, storage: LocalFolder | None = None, **options: Any) -> FileIntake:
        limit = options.pop("max_file_bytes", 10 * 1024 * 1024)
        return outcome_intake(
            self.db, self.clock, storage or self.storage, self.content, limit, **options
        )

    def outcome_ack(self, name: str) -> list[list[str]]:
        """The acknowledgement of input ``name``, parsed, its header checked and dropped."""
        text = (self.content.root / f"ACK_{name}").read_text(encoding="utf-8")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert rows[0] == list(ACK_HEADER)
        return rows[1:]

    def outcomes(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        """The outcomes held, by (stage, head-end system, NIC)."""
        with self.db.read() as conn:
            found = conn.execute(sa.select(event_outcomes).order_by(event_outcomes.c.id))
            return {(r.stage_id, r.head_end_system, r.nic_id): dict(r._mapping) for r in found}

    def refusals(self) -> list[dict[str, Any]]:
        r = outcome_refusals
        with self.db.read() as conn:
            found = conn.execute(sa.select(r).order_by(r.c.file_id, r.c.row_number))
            return [dict(x._mapping) for x in found]


def open_outcome_world(root: Path, database_url: str) -> Iterator[OutcomeWorld]:
    db = open_analytics_database(database_url)
    try:
        yield OutcomeWorld(root, db)
    finally:
        db.dispose()
