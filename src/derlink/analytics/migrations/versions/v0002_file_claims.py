"""analytics: the enrollment files taken move to the file-intake machinery's claims.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from derlink.analytics.enrollments.tables import file_claims

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The files taken before move from ``enrollment_files`` into ``file_claims`` under the
    source OUAI-ENR: their ids, counts, states and errors as they were."""
    conn = op.get_bind()
    file_claims.create(conn, checkfirst=True)
    if not sa.inspect(conn).has_table("enrollment_files"):
        return
    columns = (
        "id, source, name, checksum, size, state, rows, accepted, rejected, output, renamed_to,"
        " received_at, finished_at, error, holder, heartbeat_at, attempts"
    )
    op.execute(
        f"INSERT INTO file_claims ({columns}) SELECT id, 'OUAI-ENR', name, checksum, size,"
        " state, rows, accepted, rejected, ack_file, renamed_to, received_at, finished_at,"
        " error, run_id, heartbeat_at, attempts FROM enrollment_files"
    )
    if conn.dialect.name == "postgresql":  # the ids were given: the sequence goes on after them
        op.execute(
            "SELECT setval(pg_get_serial_sequence('file_claims', 'id'),"
            " COALESCE((SELECT MAX(id) FROM file_claims), 0) + 1, false)"
        )
    op.execute("DROP TABLE enrollment_files")
