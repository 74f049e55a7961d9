"""analytics' migrations bring a database made by an older derlink up to date, its rows kept."""

from __future__ import annotations

import sqlalchemy as sa
from tests.support.schemas import at_revision

from derlink.analytics.enrollments.tables import file_claims
from derlink.analytics.migrations import SCHEMA
from derlink.analytics.outcomes.tables import event_outcomes, outcome_refusals
from derlink.common.clock import SystemClock
from derlink.platform.database import Database, make_engine
from derlink.platform.intake.claims import FileClaims
from derlink.platform.migrations import upgrade

#: The table the enrollment intake kept its files in before revision 0002.
OLD = sa.Table(
    "enrollment_files",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("checksum", sa.String(64), nullable=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("accepted", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("ack_file", sa.String(200), nullable=True),
    sa.Column("renamed_to", sa.String(220), nullable=True),
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("run_id", sa.String(120), nullable=True),
    sa.Column("heartbeat_at", sa.String(40), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.UniqueConstraint("checksum", name="uq_enrollment_files_checksum"),
)


def test_the_enrollment_files_taken_move_to_the_claims_with_their_ids(database_url: str):
    sqlite = database_url.startswith("sqlite")
    engine = make_engine(database_url, schema=None if sqlite else "analytics")
    try:
        at_revision(engine, SCHEMA, "0001")
        with engine.begin() as conn:  # as a database made before: the old table, two files
            for later in (file_claims, event_outcomes, outcome_refusals):
                later.drop(conn)
            OLD.create(conn)
            for n in (7, 9):
                conn.execute(
                    OLD.insert().values(
                        id=n, name=f"ENROLL_SYNC_{n}.csv", checksum=f"c{n}", size=10 * n,
                        state="Acked", rows=n, accepted=n - 1, rejected=1,
                        ack_file=f"ENROLL_ACK_ENROLL_SYNC_{n}.csv",
                        renamed_to=f"Acked-ENROLL_SYNC_{n}.csv",
                        received_at="2026-12-01T00:00:00+00:00", attempts=1,
                    )
                )  # fmt: skip
        assert upgrade(engine, SCHEMA).ran == ("0002", "0003")
        assert not sa.inspect(engine).has_table("enrollment_files")
        with engine.connect() as conn:
            moved = [dict(r._mapping) for r in conn.execute(sa.select(file_claims))]
        assert [(m["id"], m["source"], m["output"], m["rows"]) for m in moved] == [
            (7, "OUAI-ENR", "ENROLL_ACK_ENROLL_SYNC_7.csv", 7),
            (9, "OUAI-ENR", "ENROLL_ACK_ENROLL_SYNC_9.csv", 9),
        ]
        claims = FileClaims(Database(engine), file_claims, SystemClock())
        # A re-delivery of a file taken before is known; a new file gets the next id.
        known = claims.claim(source="OUAI-ENR", name="again.csv", size=70, checksum="c7", run="r")
        assert getattr(known, "file_id", None) == 7
        new = claims.claim(source="OUAI-ENR", name="new.csv", size=1, checksum="c10", run="r")
        assert getattr(new, "file_id", 0) > 9
        assert upgrade(engine, SCHEMA).ran == ()
    finally:
        engine.dispose()


def test_a_database_before_the_outcome_intake_gets_its_tables_and_keeps_its_claims(
    database_url: str,
):
    sqlite = database_url.startswith("sqlite")
    engine = make_engine(database_url, schema=None if sqlite else "analytics")
    try:
        at_revision(engine, SCHEMA, "0002")
        with engine.begin() as conn:  # as revision 0002 left it: one enrollment file taken
            event_outcomes.drop(conn)
            outcome_refusals.drop(conn)
            conn.execute(
                file_claims.insert().values(
                    source="OUAI-ENR", name="ENROLL_SYNC_1.csv", checksum="c1", size=10,
                    state="Acked", rows=1, accepted=1, rejected=0,
                    received_at="2026-12-01T00:00:00+00:00", attempts=1,
                )
            )  # fmt: skip
        assert upgrade(engine, SCHEMA).ran == ("0003",)
        tables = set(sa.inspect(engine).get_table_names())
        assert {"event_outcomes", "outcome_refusals"} <= tables
        columns = {c["name"] for c in sa.inspect(engine).get_columns("event_outcomes")}
        assert {"stage_id", "head_end_system", "nic_id", "outcome", "file_seq"} <= columns
        with engine.connect() as conn:
            names = conn.execute(sa.select(file_claims.c.name)).scalars().all()
        assert names == ["ENROLL_SYNC_1.csv"]
        assert upgrade(engine, SCHEMA).ran == ()
    finally:
        engine.dispose()
