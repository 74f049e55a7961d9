"""Program events' tables: one program event per DERMS stage, and the history of its
transitions. docs/contracts/cpm-data.md explains them.

Times are ISO-8601 text in UTC (``model.utc_text``), so that a window's text order is its time
order.
"""

from __future__ import annotations

import sqlalchemy as sa

from derlink.cpm.db import EXT, ID, TS, id_column, metadata
from derlink.cpm.events.model import MAX_CANCEL_REASON, MAX_IDENTIFIER

program_events = sa.Table(
    "program_events",
    metadata,
    #: cpm's id (``PE-…``).
    id_column(),
    #: The DERMS stage's id: one program event per stage.
    sa.Column("external_identifier", sa.String(MAX_IDENTIFIER), nullable=False, unique=True),
    #: The DERMS event's id.
    sa.Column("event_external_identifier", sa.String(MAX_IDENTIFIER), nullable=False, index=True),
    sa.Column(
        "program_code", sa.String(EXT), sa.ForeignKey("programs.code"), nullable=False, index=True
    ),
    #: The program as DERMS named it (a program's external id, or its code).
    sa.Column("program_external_identifier", sa.String(MAX_IDENTIFIER), nullable=False),
    #: X1DT | X1EC | X1EM | X1RE.
    sa.Column("category", sa.String(8), nullable=False),
    sa.Column("start_at", sa.String(TS), nullable=False),
    sa.Column("end_at", sa.String(TS), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    #: F1CN's reason; "" until canceled.
    sa.Column("cancel_reason", sa.String(MAX_CANCEL_REASON), nullable=False, default=""),
    sa.Column("created_at", sa.String(TS), nullable=False),
    sa.Column("updated_at", sa.String(TS), nullable=False),
    # The list's order: the latest start first.
    sa.Index("ix_program_events_start", "start_at", "id"),
)

#: Every transition of a program event, oldest first (by ``id``).
program_event_history = sa.Table(
    "program_event_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "program_event_id",
        sa.String(ID),
        sa.ForeignKey("program_events.id"),
        nullable=False,
        index=True,
    ),
    sa.Column("at", sa.String(TS), nullable=False),
    #: CREATE, or the lifecycle action (X1SD, X1IP, F1CO, F1CN).
    sa.Column("action", sa.String(8), nullable=False),
    #: Null on the first line (the event's creation).
    sa.Column("from_state", sa.String(20), nullable=True),
    sa.Column("to_state", sa.String(20), nullable=False),
    #: F1CN's cancel reason; "" otherwise.
    sa.Column("detail", sa.String(MAX_CANCEL_REASON), nullable=False, default=""),
)
