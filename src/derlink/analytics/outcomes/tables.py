"""The outcome intake's tables (SQLAlchemy Core): the same on SQLite and PostgreSQL.

``event_outcomes`` holds the outcome of each device called to a stage, as the newest outcome
file analytics took says it (EVT-OUTCOME-OUAI), one row per (stage, head-end system, NIC);
``outcome_refusals`` the first rows of each file the intake refused, by the file's claim in
``db.file_claims`` (source ``EVT-OUTCOME-OUAI``). Timestamps are ISO-8601 text in UTC, as
everywhere in derlink. They belong to the part's ``db.metadata``; ``migrations.py`` creates
them.
"""

from __future__ import annotations

import sqlalchemy as sa

from derlink.analytics.db import metadata
from derlink.analytics.outcomes.model import ID_MAX
from derlink.contracts.event_files import MAX_ERROR_MESSAGE
from derlink.platform.intake.claims import NAME, TS


def _id(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(ID_MAX), nullable=False)


event_outcomes = sa.Table(
    "event_outcomes",
    metadata,
    #: The order analytics first took the rows in (a file's order: stage, then recordId); the
    #: reads page by it.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    #: DERMS's stage: cpm's program event, the ``EventId`` of analytics' events file.
    _id("stage_id"),
    _id("head_end_system"),
    _id("nic_id"),
    #: The row's recordId in its file.
    _id("record_id"),
    #: DERMS's event, of which the stage is one.
    _id("event_id"),
    _id("program_id"),
    _id("device_id"),
    #: The service point the device serves: who took part in the stage (unless D1CN).
    _id("sp_id"),
    #: D1SP | D1ND | D1IO | D1ER | D1CN.
    sa.Column("outcome", sa.String(4), nullable=False),
    sa.Column("error_message", sa.String(MAX_ERROR_MESSAGE), nullable=False),
    sa.Column("participation_start_at", sa.String(TS), nullable=True),
    sa.Column("participation_end_at", sa.String(TS), nullable=True),
    sa.Column("measured_kw", sa.Float, nullable=True),
    #: The file the row came from, and its seq: a row of a lower seq never replaces it.
    sa.Column("file_name", sa.String(NAME), nullable=False),
    sa.Column("file_seq", sa.Integer, nullable=False),
    sa.Column("received_at", sa.String(TS), nullable=False),
    sa.UniqueConstraint("stage_id", "head_end_system", "nic_id", name="uq_event_outcomes_device"),
    sa.Index("ix_event_outcomes_sp", "sp_id"),
    sa.Index("ix_event_outcomes_file_seq", "file_seq"),
)

#: The first ``model.FIRST_REFUSALS`` rows each outcome file had refused (every refusal is in its
#: acknowledgement).
outcome_refusals = sa.Table(
    "outcome_refusals",
    metadata,
    #: The file's claim (``file_claims.id``).
    sa.Column("file_id", sa.Integer, primary_key=True),
    sa.Column("row_number", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.String(ID_MAX), nullable=False),
    sa.Column("stage_id", sa.String(ID_MAX), nullable=False),
    sa.Column("head_end_system", sa.String(ID_MAX), nullable=False),
    sa.Column("nic_id", sa.String(ID_MAX), nullable=False),
    sa.Column("code", sa.String(40), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)
