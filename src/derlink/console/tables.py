"""The console's own database: its sessions (``console.sqlite`` in the data directory, or a
``console`` schema on PostgreSQL), so that signing out revokes a session everywhere."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

sessions = sa.Table(
    "console_sessions",
    metadata,
    #: The SHA-256 of the session's token; the token itself is only in the browser's cookie.
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("client_id", sa.String(80), nullable=False),
    #: A digest of the client's secret when the session opened (a rotation voids the session).
    sa.Column("fingerprint", sa.String(16), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    #: Seconds since the epoch, UTC.
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Index("ix_console_sessions_expires", "expires_at"),
)
