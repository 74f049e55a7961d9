"""DERMS's inputs' tables: the latest score per device and the latest forecast per service
point (docs/contracts/derms-data.md). Times are ISO-8601 text in UTC (``+00:00``), so that
their text order is their time order."""

from __future__ import annotations

import sqlalchemy as sa

from derlink.derms.db import EXT, TS, metadata

#: The longest file name kept with a row.
FILE = 200

#: One row per (head-end system, NIC id): the newest score received.
device_scores = sa.Table(
    "device_scores",
    metadata,
    sa.Column("head_end_system", sa.String(EXT), primary_key=True),
    sa.Column("nic_id", sa.String(EXT), primary_key=True),
    sa.Column("device_id", sa.String(EXT), nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("events", sa.Integer, nullable=False),
    sa.Column("reliability", sa.Float, nullable=False),
    sa.Column("performance", sa.Float, nullable=True),
    sa.Column("last_event_at", sa.String(TS), nullable=True),
    sa.Column("scored_at", sa.String(TS), nullable=False),
    sa.Column("file", sa.String(FILE), nullable=False),
    sa.Column("received_at", sa.String(TS), nullable=False),
)

#: One row per service point: the newest forecast received, its intervals as JSON
#: ``{"p10": [...], "p50": [...], "p90": [...]}`` in window order.
forecasts = sa.Table(
    "forecasts",
    metadata,
    sa.Column("sp_id", sa.String(EXT), primary_key=True),
    sa.Column("program_id", sa.String(EXT), nullable=False),
    sa.Column("window_start", sa.String(TS), nullable=False),
    sa.Column("window_end", sa.String(TS), nullable=False),
    sa.Column("interval_s", sa.Integer, nullable=False),
    sa.Column("forecast_at", sa.String(TS), nullable=False),
    sa.Column("intervals", sa.Text, nullable=False),
    sa.Column("file", sa.String(FILE), nullable=False),
    sa.Column("received_at", sa.String(TS), nullable=False),
)
