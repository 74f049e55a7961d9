"""The hub's migrations bring a database made by an older derlink up to date, its rows kept."""

from __future__ import annotations

import sqlalchemy as sa

from derlink.common.clock import SystemClock
from derlink.hub.migrations import SCHEMA
from derlink.hub.migrations.versions.v0002_file_receipts import file_receipts
from derlink.hub.tables import file_claims, instance_events
from derlink.platform.database import Database, make_engine
from derlink.platform.intake.claims import FileClaims
from derlink.platform.migrations import upgrade
from tests.support.schemas import at_revision, before_alembic


def test_an_older_timeline_takes_outcomes_of_up_to_40_characters(database_url: str):
    sqlite = database_url.startswith("sqlite")
    engine = make_engine(database_url, schema=None if sqlite else "hub")
    try:
        at_revision(engine, SCHEMA, "0003")
        if not sqlite:  # as a database made before: the column was 20 characters
            with engine.begin() as conn:
                conn.execute(
                    sa.text("ALTER TABLE instance_events ALTER COLUMN outcome TYPE VARCHAR(20)")
                )
        assert upgrade(engine, SCHEMA, "0004").ran == ("0004",)
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


def test_the_file_receipts_of_a_database_versioned_before_alembic_move_to_the_claims(
    database_url: str,
):
    sqlite = database_url.startswith("sqlite")
    engine = make_engine(database_url, schema=None if sqlite else "hub")
    try:
        before_alembic(engine, SCHEMA, versions=4)
        with engine.begin() as conn:  # as version 4 left it: receipts, no claims table
            file_claims.drop(conn)
            file_receipts.create(conn)
            conn.execute(
                file_receipts.insert().values(
                    flow="OUAI-ENR", checksum="c1", instance_id="OUAI-ENR:a.csv.1",
                    file_name="a.csv", at="2026-12-01T00:00:00+00:00",
                )
            )  # fmt: skip
        done = upgrade(engine, SCHEMA, "0005")
        assert (done.before, done.after, done.ran) == ("0004", "0005", ("0005",))
        inspector = sa.inspect(engine)
        assert not inspector.has_table("file_receipts")
        assert not inspector.has_table("derlink_migrations")
        assert inspector.has_table("alembic_version_hub")
        claims = FileClaims(Database(engine), file_claims, SystemClock())
        held = claims.hold(source="OUAI-ENR", checksum="c1", holder="OUAI-ENR:b", name="b", size=1)
        assert held == "OUAI-ENR:a.csv.1"  # the content is still the first instance's
        assert claims.release("OUAI-ENR:a.csv.1") == 1
        assert upgrade(engine, SCHEMA, "0005").ran == ()
    finally:
        engine.dispose()


def test_the_lookup_values_no_flow_read_go_and_an_edited_one_stays(database_url: str):
    from derlink.hub.tables import lookups

    sqlite = database_url.startswith("sqlite")
    engine = make_engine(database_url, schema=None if sqlite else "hub")
    row = {"updated_at": "2026-11-01T00:00:00+00:00"}
    try:
        at_revision(engine, SCHEMA, "0005")
        with engine.begin() as conn:  # as a first start wrote them, one edited since
            conn.execute(lookups.insert(), [
                {"name": "AllowEventDays", "key": "WEEKDAY", "value": "MON,TUE,WED,THU,FRI",
                 "updated_by": "derlink", **row},
                {"name": "CycleFrequency", "key": "60", "value": "PT1H", "updated_by": "derlink",
                 **row},
                {"name": "CycleFrequency", "key": "30", "value": "HALF-HOUR",
                 "updated_by": "operator", **row},
                {"name": "AssetSpec", "key": "ECOBEE!SMARTTHERMOSTAT", "value": "ECOBEE-ST",
                 "updated_by": "derlink", **row},
            ])  # fmt: skip
        assert upgrade(engine, SCHEMA).ran == ("0006",)
        with engine.connect() as conn:
            left = {(r.name, r.key) for r in conn.execute(sa.select(lookups.c.name, lookups.c.key))}
        assert left == {("CycleFrequency", "30"), ("AssetSpec", "ECOBEE!SMARTTHERMOSTAT")}
    finally:
        engine.dispose()
