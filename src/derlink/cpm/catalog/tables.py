"""The catalog's tables: programs, aggregators, and the master data loaded from the CIS.

Master-data rows point at each other by CIS id, so a CIS load can arrive in any order and
upserts need no lookups. docs/contracts/cpm-data.md explains them.
"""

from __future__ import annotations

import sqlalchemy as sa

from derlink.cpm.db import EXT, TS, id_column, metadata, text_column

programs = sa.Table(
    "programs",
    metadata,
    id_column(),
    sa.Column("code", sa.String(EXT), nullable=False, unique=True),
    text_column("name"),
    text_column("program_type"),
    sa.Column("status", sa.String(20), nullable=False),
    #: JSON list of the specifications a device must have; empty means any.
    sa.Column("eligible_specifications", sa.Text, nullable=False, default="[]"),
    sa.Column("settlement_method", sa.String(20), nullable=False),
    sa.Column("created_at", sa.String(TS), nullable=False),
)

persons = sa.Table(
    "persons",
    metadata,
    id_column(),
    sa.Column("cis_person_id", sa.String(EXT), nullable=False, unique=True),
    text_column("name"),
    text_column("email"),
    text_column("home_phone"),
    text_column("business_phone"),
    sa.Column("updated_at", sa.String(TS), nullable=False),
)

accounts = sa.Table(
    "accounts",
    metadata,
    id_column(),
    sa.Column("cis_account_id", sa.String(EXT), nullable=False, unique=True),
    sa.Column("cis_person_id", sa.String(EXT), nullable=False, index=True),
    sa.Column("updated_at", sa.String(TS), nullable=False),
)

premises = sa.Table(
    "premises",
    metadata,
    id_column(),
    sa.Column("cis_premise_id", sa.String(EXT), nullable=False, unique=True),
    sa.Column("cis_account_id", sa.String(EXT), nullable=False, index=True),
    text_column("address1"),
    text_column("city"),
    text_column("state"),
    text_column("postal"),
    text_column("country"),
    text_column("county"),
    text_column("division"),
    text_column("time_zone"),
    sa.Column("updated_at", sa.String(TS), nullable=False),
)

service_points = sa.Table(
    "service_points",
    metadata,
    id_column(),
    sa.Column("cis_service_point_id", sa.String(EXT), nullable=False, unique=True),
    sa.Column("cis_premise_id", sa.String(EXT), nullable=False, index=True),
    text_column("division"),
    sa.Column("updated_at", sa.String(TS), nullable=False),
)

aggregators = sa.Table(
    "aggregators",
    metadata,
    id_column(),
    sa.Column("code", sa.String(EXT), nullable=False, unique=True),
    text_column("name"),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", sa.String(TS), nullable=False),
)
