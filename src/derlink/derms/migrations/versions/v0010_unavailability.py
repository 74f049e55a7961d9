"""derms: customer unavailability periods (UNAVAIL), and a reservation's outcome.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from derlink.derms.events.tables import unavailabilities

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    unavailabilities.create(conn, checkfirst=True)
    if "outcome" not in {c["name"] for c in sa.inspect(conn).get_columns("reservations")}:
        op.execute("ALTER TABLE reservations ADD COLUMN outcome VARCHAR(8)")
        # A reservation released because its stage was canceled had D1CN for outcome.
        op.execute(
            "UPDATE reservations SET outcome = 'D1CN' "
            "WHERE state = 'Released' AND reason IN ('STAGE_CANCELED', 'UNAVAILABLE')"
        )
