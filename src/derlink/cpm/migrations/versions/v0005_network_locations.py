"""cpm: the service points' effective-dated network locations (NET-LOC) and the claims of the
NET-LOC files taken.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

from derlink.cpm.db import file_claims
from derlink.cpm.network.tables import network_locations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    for table in (network_locations, file_claims):
        table.create(conn, checkfirst=True)
