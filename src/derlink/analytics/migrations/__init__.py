"""analytics' schema: every feature's tables on ``db.metadata``, their revisions in
``versions/``."""

from __future__ import annotations

from pathlib import Path

from derlink.analytics.db import metadata

# Importing a feature's tables module puts its tables on ``db.metadata``.
from derlink.analytics.enrollments import tables as enrollment_tables  # noqa: F401
from derlink.analytics.outcomes import tables as outcome_tables  # noqa: F401
from derlink.platform.migrations import PartSchema

SCHEMA = PartSchema("analytics", metadata, Path(__file__).parent)
