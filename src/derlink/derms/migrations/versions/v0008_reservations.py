"""derms: the devices reserved for each Scheduled stage, and the stages' reservation files.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

from derlink.derms.events.tables import reservation_files, reservations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    for table in (reservations, reservation_files):
        table.create(conn, checkfirst=True)
