"""cpm: device scores, their participation history, score runs, and the history files' claims.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

from derlink.cpm.db import file_claims
from derlink.cpm.scores.tables import participation_history, score_runs

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    for table in (participation_history, score_runs, file_claims):
        table.create(conn, checkfirst=True)
