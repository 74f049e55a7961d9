"""cpm: a participation's opt-out, and what DERMS holds of it (OPT-OUT).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from derlink.cpm.events.tables import event_participations, opt_out_columns

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = event_participations.name
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
    for column in opt_out_columns():
        if column.name not in present:
            op.add_column(table, column)
