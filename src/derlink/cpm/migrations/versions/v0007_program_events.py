"""cpm: program events (one per DERMS stage, EVT-STATUS) and the history of their transitions.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

from derlink.cpm.events.tables import program_event_history, program_events

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    for table in (program_events, program_event_history):
        table.create(conn, checkfirst=True)
