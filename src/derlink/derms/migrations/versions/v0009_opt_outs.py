"""derms: the opt-outs cpm sends (OPT-OUT), each stage's pending review against its target, and
whether a strategy backfills a stage that opt-outs leave short.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from derlink.derms.db import TS
from derlink.derms.events.tables import opt_outs

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    opt_outs.create(conn, checkfirst=True)
    inspect = sa.inspect(conn)
    if "review_due_at" not in {c["name"] for c in inspect.get_columns("stages")}:
        op.execute(f"ALTER TABLE stages ADD COLUMN review_due_at VARCHAR({TS})")
    if "backfill" not in {c["name"] for c in inspect.get_columns("strategies")}:
        # Existing strategies keep what they did until now: the new behaviour is on by default.
        op.execute("ALTER TABLE strategies ADD COLUMN backfill BOOLEAN NOT NULL DEFAULT TRUE")
