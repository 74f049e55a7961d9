"""cpm: the devices' unavailability periods, and what DERMS holds of them (UNAVAIL).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

from derlink.cpm.events.tables import customer_unavailabilities

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    customer_unavailabilities.create(op.get_bind(), checkfirst=True)
