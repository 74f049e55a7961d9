"""derms: the devices' outcomes (what was reported with each, when and from where), each
stage's closing of its outcomes, and the outcome files (EVT-OUTCOME).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from derlink.derms.db import CODE, TS
from derlink.derms.events.tables import outcome_files

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    outcome_files.create(conn, checkfirst=True)
    inspect = sa.inspect(conn)
    held = {c["name"] for c in inspect.get_columns("reservations")}
    for name, kind in (
        ("error_message", "VARCHAR(100)"),
        ("participation_start_at", f"VARCHAR({TS})"),
        ("participation_end_at", f"VARCHAR({TS})"),
        ("measured_kw", "FLOAT"),
        ("outcome_at", f"VARCHAR({TS})"),
        ("outcome_source", f"VARCHAR({CODE})"),
    ):
        if name not in held:
            op.execute(f"ALTER TABLE reservations ADD COLUMN {name} {kind}")
    held = {c["name"] for c in inspect.get_columns("stages")}
    if "outcomes_closed_at" not in held:
        op.execute(f"ALTER TABLE stages ADD COLUMN outcomes_closed_at VARCHAR({TS})")
        op.execute("CREATE INDEX ix_stages_outcomes_closed_at ON stages (outcomes_closed_at)")
    if "outcome_file_seq" not in held:
        op.execute("ALTER TABLE stages ADD COLUMN outcome_file_seq INTEGER")
