"""derms's migrations: numbered, forward-only changes of the whole part's schema (its features'
tables, on ``db.metadata``)."""

from __future__ import annotations

from derlink.derms.db import metadata

# Importing a feature's tables module puts its tables on ``db.metadata``.
from derlink.derms.registry import tables as registry_tables  # noqa: F401
from derlink.platform.database import Migration, create_all

MIGRATIONS: list[Migration] = [Migration(1, "derms enrollment registry", create_all(metadata))]
