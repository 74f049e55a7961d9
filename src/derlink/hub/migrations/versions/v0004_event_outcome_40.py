"""hub: instance timeline outcomes of up to 40 characters.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """PostgreSQL refused the timeline row "Completed with errors" in a 20-character column
    (SQLite does not enforce the length)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE instance_events ALTER COLUMN outcome TYPE VARCHAR(40)")
