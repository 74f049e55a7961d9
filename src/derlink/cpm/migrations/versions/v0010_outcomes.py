"""cpm: what EVT-OUTCOME brings with a participation's outcome.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from derlink.cpm.events.tables import event_participations, outcome_columns

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = event_participations.name
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
    for column in outcome_columns():
        if column.name not in present:
            op.add_column(table, column)
