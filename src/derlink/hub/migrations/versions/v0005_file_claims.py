"""hub: the file receipts move to the file-intake machinery's claims.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from derlink.hub.migrations.versions.v0002_file_receipts import file_receipts
from derlink.hub.tables import file_claims

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Each receipt becomes a claim held by its instance, as before."""
    conn = op.get_bind()
    file_claims.create(conn, checkfirst=True)
    if not sa.inspect(conn).has_table(file_receipts.name):
        return
    op.execute(
        "INSERT INTO file_claims (source, name, checksum, size, state, rows, accepted,"
        " rejected, received_at, holder, attempts)"
        " SELECT flow, file_name, checksum, 0, 'Held', 0, 0, 0, at, instance_id, 1"
        " FROM file_receipts"
    )
    file_receipts.drop(conn)
