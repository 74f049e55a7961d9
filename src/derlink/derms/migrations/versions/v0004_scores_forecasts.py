"""derms: the latest device score per device and the latest forecast per service point.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

from derlink.derms.inputs.tables import device_scores, forecasts

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    for table in (device_scores, forecasts):
        table.create(conn, checkfirst=True)
