"""The network model's tables (SQLAlchemy Core), on derms's ``db.metadata``; the same on SQLite
and PostgreSQL. Dates are ISO ``YYYY-MM-DD`` text, an end exclusive and null while open.

``network_nodes`` holds every version of every substation, feeder and transformer;
``service_point_locations`` every version of each service point's transformer;
``file_claims`` the model exports taken, by content (platform/intake/claims.py).
docs/contracts/derms-data.md explains them.
"""

from __future__ import annotations

import sqlalchemy as sa

from derlink.derms.db import CODE, EXT, TEXT, TS, metadata
from derlink.platform.intake.claims import claims_table

DAY = 10
#: Where a version came from: a model export's file name, or ``api:<client>``.
SOURCE = 200

network_nodes = sa.Table(
    "network_nodes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("node_id", sa.String(EXT), nullable=False),
    #: SUBSTATION, FEEDER or TRANSFORMER (a node keeps its kind).
    sa.Column("kind", sa.String(CODE), nullable=False),
    #: The substation of a feeder, the feeder of a transformer; blank for a substation.
    sa.Column("parent_id", sa.String(EXT), nullable=False, default=""),
    sa.Column("name", sa.String(TEXT), nullable=False, default=""),
    sa.Column("effective_from", sa.String(DAY), nullable=False),
    sa.Column("effective_to", sa.String(DAY), nullable=True),
    sa.Column("updated_at", sa.String(TS), nullable=False),
    sa.Column("source", sa.String(SOURCE), nullable=False),
    sa.UniqueConstraint("node_id", "effective_from", name="uq_network_nodes_version"),
    sa.Index("ix_network_nodes_parent", "parent_id"),
)

service_point_locations = sa.Table(
    "service_point_locations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    #: cpm's CIS service point id.
    sa.Column("sp_id", sa.String(EXT), nullable=False),
    sa.Column("transformer_id", sa.String(EXT), nullable=False),
    sa.Column("effective_from", sa.String(DAY), nullable=False),
    sa.Column("effective_to", sa.String(DAY), nullable=True),
    sa.Column("updated_at", sa.String(TS), nullable=False),
    sa.Column("source", sa.String(SOURCE), nullable=False),
    sa.UniqueConstraint("sp_id", "effective_from", name="uq_service_point_locations_version"),
    sa.Index("ix_service_point_locations_transformer", "transformer_id"),
)

#: The model exports taken, by content: a re-delivered export has no second effect.
file_claims = claims_table(metadata)
