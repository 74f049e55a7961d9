"""hub: the AllowEventDays and CycleFrequency values a first start wrote before PROG-RULE read
them go; the values PROG-RULE maps take their place at the next start.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: What a first start wrote, never read by any flow. A value someone edited stays.
OLD_DEFAULTS = {
    ("AllowEventDays", "WEEKDAY"): "MON,TUE,WED,THU,FRI",
    ("AllowEventDays", "ALL"): "MON,TUE,WED,THU,FRI,SAT,SUN",
    ("CycleFrequency", "15"): "PT15M",
    ("CycleFrequency", "30"): "PT30M",
    ("CycleFrequency", "60"): "PT1H",
}


def upgrade() -> None:
    lookups = sa.table(
        "lookups",
        sa.column("name", sa.String),
        sa.column("key", sa.String),
        sa.column("value", sa.String),
        sa.column("updated_by", sa.String),
    )
    for (name, key), value in OLD_DEFAULTS.items():
        op.execute(
            lookups.delete().where(
                lookups.c.name == name,
                lookups.c.key == key,
                lookups.c.value == value,
                lookups.c.updated_by == "derlink",
            )
        )
