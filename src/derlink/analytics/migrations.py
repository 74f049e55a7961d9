"""analytics' migrations: every feature's tables, versioned for ``open_part_database``.

Importing a feature's ``tables`` module declares its tables on ``db.metadata``; migration 1
creates them all. It keeps the version and description it always had: a database records the
versions applied to it (platform/database.py), so existing databases stay valid.
"""

from __future__ import annotations

# Imported for what importing it does: it declares the enrollment tables on ``metadata``.
from derlink.analytics.db import metadata
from derlink.analytics.enrollments import tables as enrollment_tables
from derlink.platform.database import Migration, create_all

MIGRATIONS: list[Migration] = [
    Migration(1, "analytics: subscriptions and enrollment files", create_all(metadata)),
    Migration(
        2,
        "analytics: the enrollment files taken move to the file-intake machinery's claims",
        enrollment_tables.move_enrollment_files,
    ),
]
