"""derms's schema: every feature's tables on ``db.metadata``, their revisions in ``versions/``."""

from __future__ import annotations

from pathlib import Path

from derlink.derms.db import metadata

# Importing a feature's tables module puts its tables on ``db.metadata``.
from derlink.derms.events import tables as events_tables  # noqa: F401
from derlink.derms.inputs import tables as inputs_tables  # noqa: F401
from derlink.derms.masterdata import tables as masterdata_tables  # noqa: F401
from derlink.derms.network import tables as network_tables  # noqa: F401
from derlink.derms.registry import tables as registry_tables  # noqa: F401
from derlink.platform.migrations import PartSchema

SCHEMA = PartSchema("derms", metadata, Path(__file__).parent)
