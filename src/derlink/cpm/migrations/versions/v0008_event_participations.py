"""cpm: event participations (one per device per program event, EVT-RESERVE).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

from derlink.cpm.events.tables import event_participations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    event_participations.create(op.get_bind(), checkfirst=True)
