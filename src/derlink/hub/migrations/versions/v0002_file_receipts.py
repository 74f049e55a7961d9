"""hub: file receipts of the file flows.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

#: What held the file flows' claims from revision 0002 to 0005 (then dropped).
file_receipts = sa.Table(
    "file_receipts",
    sa.MetaData(),
    sa.Column("flow", sa.String(40), primary_key=True),
    sa.Column("checksum", sa.String(64), primary_key=True),
    sa.Column("instance_id", sa.String(120), nullable=False),
    sa.Column("file_name", sa.String(200), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    file_receipts.create(op.get_bind(), checkfirst=True)
