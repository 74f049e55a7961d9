"""The hub's migrations bring a database made by an older derlink up to date, its rows kept."""

from __future__ import annotations

import sqlalchemy as sa

from derlink.hub.tables import MIGRATIONS, instance_events
from derlink.platform.database import make_engine, migrate


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
        assert migrate(engine, MIGRATIONS) == [4]
        with engine.begin() as conn:
            conn.execute(
                instance_events.insert().values(
                    instance_id="I1", at="2026-12-03T00:00:00+00:00", step="completed",
                    outcome="Completed with errors",
                )
            )  # fmt: skip
            stored = conn.execute(sa.select(instance_events.c.outcome)).scalar_one()
        assert stored == "Completed with errors"
        assert migrate(engine, MIGRATIONS) == []
    finally:
        engine.dispose()
