"""Master data's tables: programs with every version of their rules, and aggregators.

docs/contracts/derms-data.md explains them. Dates are ISO text (``YYYY-MM-DD``), local times
``HH:MM``.
"""

from __future__ import annotations

import sqlalchemy as sa

from derlink.derms.db import CODE, EXT, TEXT, TS, metadata, text_column

#: The sizes of a few contract fields, shared with the wire schemas.
STATUS = 20
DATE = 10
HHMM = 5

#: One row per program: the rule version derms holds and the program as that version said.
programs = sa.Table(
    "programs",
    metadata,
    sa.Column("code", sa.String(EXT), primary_key=True),
    text_column("external_id"),
    text_column("program_type", TEXT),
    sa.Column("status", sa.String(STATUS), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("received_at", sa.String(TS), nullable=False),
    text_column("dacs_message_id"),
)

#: Every rule version derms received of a program, one row each (a version with no rules too).
program_versions = sa.Table(
    "program_versions",
    metadata,
    sa.Column("program_code", sa.String(EXT), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("received_at", sa.String(TS), nullable=False),
    text_column("dacs_message_id"),
)

#: The rules of each version: one row per (program, version, rule).
program_rule_versions = sa.Table(
    "program_rule_versions",
    metadata,
    sa.Column("program_code", sa.String(EXT), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("rule_id", sa.String(EXT), primary_key=True),
    sa.Column("effective_from", sa.String(DATE), nullable=False),
    sa.Column("effective_to", sa.String(DATE), nullable=True),
    #: JSON list of day kinds: WEEKDAY, WEEKEND, HOLIDAY.
    sa.Column("allow_event_days", sa.Text, nullable=False),
    sa.Column("window_start", sa.String(HHMM), nullable=False),
    sa.Column("window_end", sa.String(HHMM), nullable=False),
    sa.Column("min_event_duration_min", sa.Integer, nullable=False),
    sa.Column("max_event_duration_min", sa.Integer, nullable=False),
    sa.Column("max_events_per_cycle", sa.Integer, nullable=False),
    sa.Column("cycle_frequency", sa.String(CODE), nullable=False),
    sa.Column("max_overrides_per_cycle", sa.Integer, nullable=False),
    sa.Column("opt_out_cutoff_min", sa.Integer, nullable=False),
    sa.Column("min_rest_min", sa.Integer, nullable=False),
    sa.Column("overridable", sa.Boolean, nullable=False),
    sa.Column("received_at", sa.String(TS), nullable=False),
)

#: One row per aggregator, at the newest version derms holds; never deleted (Inactive stays).
aggregators = sa.Table(
    "aggregators",
    metadata,
    sa.Column("code", sa.String(EXT), primary_key=True),
    text_column("name", TEXT),
    sa.Column("status", sa.String(STATUS), nullable=False),
    sa.Column("start_date", sa.String(DATE), nullable=True),
    sa.Column("end_date", sa.String(DATE), nullable=True),
    text_column("contact_name", TEXT),
    text_column("contact_email", TEXT),
    text_column("contact_phone", TEXT),
    text_column("external_reference_id"),
    text_column("external_system"),
    #: JSON list of the codes of the programs it serves.
    sa.Column("programs", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("received_at", sa.String(TS), nullable=False),
    text_column("dacs_message_id"),
)
