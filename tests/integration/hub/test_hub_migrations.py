"""The hub's migrations bring a database made by an older derlink up to date, its rows kept."""

from __future__ import annotations

import sqlalchemy as sa

from derlink.common.clock import SystemClock
from derlink.hub.tables import MIGRATIONS, file_claims, file_receipts, instance_events
from derlink.platform.database import Database, make_engine, migrate
from derlink.platform.intake.claims import FileClaims


def test_an_older_timeline_takes_outcomes_of_up_to_40_characters(database_url: str):
    sqlite = database_url.startswith("sqlite")
    engine = make_engine(database_url, schema=None if sqlite else "hub")
    try:
        older = [m for m in MIGRATIONS if m.version < 4]
        assert migrate(engine, older) == [m.version for m in older]
        if not sqlite:  # as a database made before: the column was 20 characters
            with engine.begin() as conn:
                conn.execute(
                    sa.text("ALTER TABLE instance_events ALTER COLUMN outcome TYPE VARCHAR(20)")
                )
        assert migrate(engine, [m for m in MIGRATIONS if m.version <= 4]) == [4]
        with engine.begin() as conn:
            conn.execute(
                instance_events.insert().values(
                    instance_id="I1", at="2026-12-03T00:00:00+00:00", step="completed",
                    outcome="Completed with errors",
                )
            )  # fmt: skip
            stored = conn.execute(sa.select(instance_events.c.outcome)).scalar_one()
        assert stored == "Completed with errors"
    finally:
        engine.dispose()


def test_the_file_receipts_move_to_the_claims_and_still_hold_their_content(database_url: str):
    sqlite = database_url.startswith("sqlite")
    engine = make_engine(database_url, schema=None if sqlite else "hub")
    try:
        migrate(engine, [m for m in MIGRATIONS if m.version < 5])
        with engine.begin() as conn:
            conn.execute(
                file_receipts.insert().values(
                    flow="OUAI-ENR", checksum="c1", instance_id="OUAI-ENR:a.csv.1",
                    file_name="a.csv", at="2026-12-01T00:00:00+00:00",
                )
            )  # fmt: skip
        assert migrate(engine, MIGRATIONS) == [5]
        assert not sa.inspect(engine).has_table("file_receipts")
        claims = FileClaims(Database(engine), file_claims, SystemClock())
        held = claims.hold(source="OUAI-ENR", checksum="c1", holder="OUAI-ENR:b", name="b", size=1)
        assert held == "OUAI-ENR:a.csv.1"  # the content is still the first instance's
        assert claims.release("OUAI-ENR:a.csv.1") == 1
        assert migrate(engine, MIGRATIONS) == []
    finally:
        engine.dispose()
