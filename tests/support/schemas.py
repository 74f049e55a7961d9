"""Databases as an older derlink left them, for the migration tests: at an Alembic revision,
or versioned in ``derlink_migrations`` as before derlink used Alembic."""

from __future__ import annotations

import sqlalchemy as sa

from derlink.platform.migrations import LEGACY_TABLE, PartSchema, stamp


def at_revision(engine: sa.Engine, schema: PartSchema, revision: str) -> None:
    """The current tables, recorded at ``revision``: the test then undoes what came after."""
    with engine.begin() as conn:
        schema.metadata.create_all(conn)
    stamp(engine, schema, revision)


def before_alembic(engine: sa.Engine, schema: PartSchema, versions: int) -> None:
    """The current tables with versions 1..``versions`` recorded in ``derlink_migrations``."""
    legacy = sa.Table(
        LEGACY_TABLE,
        sa.MetaData(),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("applied_at", sa.String(40), nullable=False),
    )
    with engine.begin() as conn:
        schema.metadata.create_all(conn)
        legacy.create(conn)
        conn.execute(
            legacy.insert(),
            [
                {"version": v, "description": f"version {v}", "applied_at": "2026-11-01T00:00:00Z"}
                for v in range(1, versions + 1)
            ],
        )
