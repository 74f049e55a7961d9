"""hub: instance indexes for the console, the flow property audit.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from derlink.hub.tables import console_indexes, flow_property_audit

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    flow_property_audit.create(conn, checkfirst=True)
    for index in console_indexes:
        index.create(conn, checkfirst=True)
