"""The network locations' tables (SQLAlchemy Core), on cpm's ``db.metadata``.

``network_locations`` holds every effective-dated network location of each service point
(dates ISO ``YYYY-MM-DD``, the end exclusive and null while open); the NET-LOC files taken are
claims of cpm's ``db.file_claims``. docs/contracts/cpm-data.md explains them.
"""

from __future__ import annotations

import sqlalchemy as sa

from derlink.cpm.db import EXT, ID, TS, metadata

DAY = 10
NAME = 200  # a file name (platform.files.safe_name allows 200 characters)

network_locations = sa.Table(
    "network_locations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("cis_service_point_id", sa.String(EXT), nullable=False),
    #: cpm's service point (service_points.id).
    sa.Column("service_point_id", sa.String(ID), nullable=False),
    sa.Column("transformer_id", sa.String(EXT), nullable=False),
    sa.Column("feeder_id", sa.String(EXT), nullable=False),
    sa.Column("substation_id", sa.String(EXT), nullable=False),
    sa.Column("effective_from", sa.String(DAY), nullable=False),
    sa.Column("effective_to", sa.String(DAY), nullable=True),
    sa.Column("updated_at", sa.String(TS), nullable=False),
    #: The NET-LOC file that stated it.
    sa.Column("source_file", sa.String(NAME), nullable=False),
    sa.UniqueConstraint(
        "cis_service_point_id", "effective_from", name="uq_network_locations_version"
    ),
)
