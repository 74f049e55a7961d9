"""cpm: program rules, program external ids, aggregators' details, and what DERMS holds of each.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from derlink.cpm.catalog.tables import program_rules

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _sync_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("derms_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("derms_sync", sa.String(20), nullable=False, server_default="None"),
        sa.Column("derms_detail", sa.Text, nullable=False, server_default=""),
    ]


def _add_missing(table: str, columns: list[sa.Column[Any]]) -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
    for column in columns:
        if column.name not in present:
            op.add_column(table, column)


def upgrade() -> None:
    _add_missing(
        "programs",
        [
            sa.Column("external_id", sa.String(80), nullable=False, server_default=""),
            *_sync_columns(),
        ],
    )
    columns: list[sa.Column[Any]] = [
        sa.Column("start_date", sa.String(10), nullable=True),
        sa.Column("end_date", sa.String(10), nullable=True),
        sa.Column("contact_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("contact_email", sa.String(200), nullable=False, server_default=""),
        sa.Column("contact_phone", sa.String(200), nullable=False, server_default=""),
        sa.Column("external_reference_id", sa.String(80), nullable=False, server_default=""),
        sa.Column("external_system", sa.String(80), nullable=False, server_default=""),
        sa.Column("programs", sa.Text, nullable=False, server_default="[]"),
        sa.Column("updated_at", sa.String(40), nullable=True),
        *_sync_columns(),
    ]
    _add_missing("aggregators", columns)
    program_rules.create(op.get_bind(), checkfirst=True)
