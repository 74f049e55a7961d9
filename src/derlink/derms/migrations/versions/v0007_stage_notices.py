"""derms: where each stage transition's message to cpm (EVT-STATUS) stands.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from derlink.derms.db import TS
from derlink.derms.events.tables import STATE

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("stage_transitions")}
    for name, kind in (
        ("cpm_status", f"VARCHAR({STATE})"),
        ("cpm_detail", "TEXT"),
        ("cpm_at", f"VARCHAR({TS})"),
    ):
        if name not in present:
            op.execute(f"ALTER TABLE stage_transitions ADD COLUMN {name} {kind}")
