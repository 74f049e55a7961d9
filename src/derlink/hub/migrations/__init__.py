"""The hub's schema: its tables on ``tables.metadata`` and their revisions in ``versions/``."""

from __future__ import annotations

from pathlib import Path

from derlink.hub.tables import metadata
from derlink.platform.migrations import PartSchema

SCHEMA = PartSchema("hub", metadata, Path(__file__).parent)
