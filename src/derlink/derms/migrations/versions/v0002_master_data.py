"""derms: master data, programs with every version of their rules, and aggregators.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from derlink.derms.masterdata.tables import (
    aggregators,
    program_rule_versions,
    program_versions,
    programs,
)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    for table in (programs, program_versions, program_rule_versions, aggregators):
        table.create(conn)
