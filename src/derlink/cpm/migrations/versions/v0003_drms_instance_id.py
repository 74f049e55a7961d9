"""cpm: the DERMS instance an enrollment request came from, on its subscription.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from derlink.cpm.db import TEXT

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("subscriptions")}
    if "drms_instance_id" not in columns:
        op.execute(
            f"ALTER TABLE subscriptions ADD COLUMN drms_instance_id VARCHAR({TEXT})"
            " NOT NULL DEFAULT ''"
        )
