"""cpm's schema: every feature's tables on ``db.metadata`` and their revisions in ``versions/``."""

from __future__ import annotations

from pathlib import Path

# Importing a feature's tables module puts its tables on ``db.metadata``.
from derlink.cpm.catalog import tables as catalog_tables  # noqa: F401
from derlink.cpm.db import metadata
from derlink.cpm.enrollment import tables as enrollment_tables  # noqa: F401
from derlink.cpm.events import tables as events_tables  # noqa: F401
from derlink.cpm.network import tables as network_tables  # noqa: F401
from derlink.cpm.scores import tables as scores_tables  # noqa: F401
from derlink.platform.migrations import PartSchema

SCHEMA = PartSchema("cpm", metadata, Path(__file__).parent)
