"""analytics: the outcome of each device called to a stage, from DERMS's outcome files.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from derlink.analytics.outcomes.tables import event_outcomes, outcome_refusals

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """``event_outcomes`` and ``outcome_refusals``, empty: the outcome files taken from now on
    fill them (their claims go to ``file_claims`` under the source EVT-OUTCOME-OUAI)."""
    conn = op.get_bind()
    event_outcomes.create(conn, checkfirst=True)
    outcome_refusals.create(conn, checkfirst=True)
