"""derms: the devices of each planned stage, and the plan each event's stages came from.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

from derlink.derms.events.tables import event_plans, stage_devices

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    for table in (stage_devices, event_plans):
        table.create(conn, checkfirst=True)
