"""derms: the network model (nodes and service-point locations, effective-dated) and the claims
of the model exports taken.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from derlink.derms.network.tables import file_claims, network_nodes, service_point_locations

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    for table in (network_nodes, service_point_locations, file_claims):
        table.create(conn, checkfirst=True)
