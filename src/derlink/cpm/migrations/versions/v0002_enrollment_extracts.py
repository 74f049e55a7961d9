"""cpm: enrollment extracts, and the version analytics holds of each subscription.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from derlink.cpm.enrollment.tables import enrollment_extracts, ix_subscriptions_analytics_due

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    enrollment_extracts.create(conn, checkfirst=True)
    columns = {c["name"] for c in sa.inspect(conn).get_columns("subscriptions")}
    if "analytics_version" not in columns:
        op.execute("ALTER TABLE subscriptions ADD COLUMN analytics_version INTEGER")
    ix_subscriptions_analytics_due.create(conn, checkfirst=True)
