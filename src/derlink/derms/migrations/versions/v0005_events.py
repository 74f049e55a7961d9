"""derms: strategy types, strategies, events, their stages, the stages' transitions and the
events' audit trail.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

from derlink.derms.events.tables import (
    event_audit,
    events,
    stage_transitions,
    stages,
    strategies,
    strategy_types,
)

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    for table in (strategy_types, strategies, events, stages, stage_transitions, event_audit):
        table.create(conn, checkfirst=True)
