"""cpm's migrations: numbered, forward-only changes of the whole part's schema (its features'
tables, on ``db.metadata``). Migration 1 creates the whole current schema on a new database, so
each later step runs only where it is missing.
"""

from __future__ import annotations

# Importing a feature's tables module puts its tables on ``db.metadata``.
from derlink.cpm.catalog import tables as catalog_tables  # noqa: F401
from derlink.cpm.db import metadata
from derlink.cpm.enrollment import tables as enrollment_tables
from derlink.platform.database import Migration, create_all

MIGRATIONS: list[Migration] = [
    Migration(
        1, "cpm: programs, master data, devices, subscriptions, sync requests", create_all(metadata)
    ),
    Migration(
        2,
        "cpm: enrollment extracts, and the version analytics holds of each subscription",
        enrollment_tables.add_enrollment_extracts,
    ),
    Migration(
        3,
        "cpm: the DERMS instance an enrollment request came from",
        enrollment_tables.add_drms_instance_id,
    ),
]
