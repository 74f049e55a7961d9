"""console: sessions.

Revision ID: 0001
Revises: None
"""

from __future__ import annotations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The schema as the first derlink with versioned migrations created it. A new database
    gets the current tables at once and is stamped at the newest revision, and a database made
    at this revision already has these tables: nothing to run."""
