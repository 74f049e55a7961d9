"""The console's schema: its sessions, and their revisions in ``versions/``."""

from __future__ import annotations

from pathlib import Path

from derlink.console.tables import metadata
from derlink.platform.migrations import PartSchema

SCHEMA = PartSchema("console", metadata, Path(__file__).parent)
