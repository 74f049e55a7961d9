"""Device scores' tables: the participation history cpm takes in, the score runs, and the
claims of the history files (the file-intake machinery's). docs/contracts/cpm-data.md explains
them."""

from __future__ import annotations

import sqlalchemy as sa

from derlink.cpm.db import EXT, TEXT, TS, id_column, metadata

#: One row per device and event: its outcome, the latest row of the key received.
participation_history = sa.Table(
    "participation_history",
    metadata,
    sa.Column("head_end_system", sa.String(EXT), primary_key=True),
    sa.Column("nic_id", sa.String(EXT), primary_key=True),
    sa.Column("event_id", sa.String(EXT), primary_key=True),
    #: The device id the file gave ("" when none); the score file names cpm's own.
    sa.Column("device_id", sa.String(EXT), nullable=False),
    #: UTC, ``+00:00``.
    sa.Column("event_start", sa.String(TS), nullable=False),
    #: D1SP | D1ND | D1IO | D1ER | D1CN.
    sa.Column("outcome", sa.String(8), nullable=False),
    sa.Column("reduction_kw", sa.Float, nullable=True),
    sa.Column("source_file", sa.String(TEXT), nullable=False),
    sa.Column("updated_at", sa.String(TS), nullable=False),
)

score_runs = sa.Table(
    "score_runs",
    metadata,
    #: ``SC-…``.
    id_column(),
    #: Running → Completed | Failed.
    sa.Column("state", sa.String(20), nullable=False),
    #: The scoring instant: the file's ScoreDateTime.
    sa.Column("as_of", sa.String(TS), nullable=False),
    #: Devices scored (rows of the file).
    sa.Column("rows", sa.Integer, nullable=False, default=0),
    #: Devices of Active subscriptions without participation history (not scored).
    sa.Column("unscored", sa.Integer, nullable=False, default=0),
    #: History files taken in at the start of the run.
    sa.Column("history_files", sa.Integer, nullable=False, default=0),
    #: The file on cpm's content server; null when nothing was scored, or the run failed.
    sa.Column("file_name", sa.String(TEXT), nullable=True),
    sa.Column("started_at", sa.String(TS), nullable=False),
    sa.Column("finished_at", sa.String(TS), nullable=True),
    sa.Column("actor", sa.String(EXT), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index("ix_score_runs_started", "started_at", "id"),
)
# One run at a time, whichever process asks: a second Running row cannot exist.
_RUNNING = score_runs.c.state == "Running"
sa.Index(
    "ux_score_runs_running",
    score_runs.c.state,
    unique=True,
    sqlite_where=_RUNNING,
    postgresql_where=_RUNNING,
)
