"""The catalog's tables: programs, aggregators, and the master data loaded from the CIS.

Master-data rows point at each other by CIS id, so a CIS load can arrive in any order and
upserts need no lookups. docs/contracts/cpm-data.md explains them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from derlink.cpm.db import EXT, TS, id_column, metadata, text_column


def sync_columns() -> tuple[sa.Column[Any], ...]:
    """What cpm knows of DERMS's copy of a program's rules or of an aggregator: the version
    cpm sent last, the one DERMS acknowledged, and the answer (docs/contracts/master-data.md)."""
    return (
        sa.Column("version", sa.Integer, nullable=False, default=0, server_default="0"),
        sa.Column("derms_version", sa.Integer, nullable=False, default=0, server_default="0"),
        sa.Column(
            "derms_sync", sa.String(20), nullable=False, default="None", server_default="None"
        ),
        sa.Column("derms_detail", sa.Text, nullable=False, default="", server_default=""),
    )


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
    #: The program's id in other systems (DERMS's "program external id"); "" when none.
    sa.Column("external_id", sa.String(EXT), nullable=False, default="", server_default=""),
    *sync_columns(),
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
    #: The days it serves, ISO dates; end exclusive, null for open-ended.
    sa.Column("start_date", sa.String(10), nullable=True),
    sa.Column("end_date", sa.String(10), nullable=True),
    text_column("contact_name"),
    text_column("contact_email"),
    text_column("contact_phone"),
    sa.Column(
        "external_reference_id", sa.String(EXT), nullable=False, default="", server_default=""
    ),
    sa.Column("external_system", sa.String(EXT), nullable=False, default="", server_default=""),
    #: JSON list of the codes of the programs it serves.
    sa.Column("programs", sa.Text, nullable=False, default="[]", server_default="[]"),
    sa.Column("updated_at", sa.String(TS), nullable=True),
    *sync_columns(),
)

#: The rules linked to programs (docs/contracts/master-data.md). Unlinking deletes the row: the
#: program's rule version, and what DERMS keeps of each version, are the history.
program_rules = sa.Table(
    "program_rules",
    metadata,
    id_column(),
    sa.Column("program_code", sa.String(EXT), sa.ForeignKey("programs.code"), nullable=False),
    sa.Column("effective_from", sa.String(10), nullable=False),
    sa.Column("effective_to", sa.String(10), nullable=True),
    #: JSON list of cpm day-kind codes.
    sa.Column("allow_event_days", sa.Text, nullable=False),
    sa.Column("window_start", sa.String(5), nullable=False),
    sa.Column("window_end", sa.String(5), nullable=False),
    sa.Column("min_event_duration_min", sa.Integer, nullable=False),
    sa.Column("max_event_duration_min", sa.Integer, nullable=False),
    sa.Column("max_events_per_cycle", sa.Integer, nullable=False),
    sa.Column("cycle_frequency", sa.String(EXT), nullable=False),
    sa.Column("max_overrides_per_cycle", sa.Integer, nullable=False),
    sa.Column("opt_out_cutoff_min", sa.Integer, nullable=False),
    sa.Column("min_rest_min", sa.Integer, nullable=False),
    sa.Column("overridable", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.String(TS), nullable=False),
    sa.Index("ix_program_rules_program", "program_code", "effective_from"),
)
