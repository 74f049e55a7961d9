"""The hub's own tables: instances and their business keys and timelines, the hospital's
action log, lookups (value maps) and flow state. DBOS keeps its own system tables apart."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.platform.intake.claims import claims_table

metadata = sa.MetaData()

instances = sa.Table(
    "instances",
    metadata,
    sa.Column("id", sa.String(120), primary_key=True),
    sa.Column("flow", sa.String(40), nullable=False),
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("batch_id", sa.String(100), nullable=False),
    sa.Column("sender", sa.String(60), nullable=False),
    sa.Column("received_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("finished_at", sa.String(40), nullable=True),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("succeeded", sa.Integer, nullable=True),
    sa.Column("failed", sa.Integer, nullable=True),
    sa.Column("runs", sa.Integer, nullable=False, default=1),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=True),
    sa.Column("fault_category", sa.String(20), nullable=True),
    sa.Column("fault_step", sa.String(80), nullable=True),
    sa.Column("fault_message", sa.Text, nullable=True),
    sa.Index("ix_instances_flow_status", "flow", "status"),
    sa.Index("ix_instances_status", "status"),
    sa.Index("ix_instances_received", "received_at"),
)

instance_keys = sa.Table(
    "instance_keys",
    metadata,
    sa.Column("instance_id", sa.String(120), nullable=False),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("value", sa.String(200), nullable=False),
    sa.Column("primary_key", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_instance_keys_value", "value"),
    sa.Index("ix_instance_keys_instance", "instance_id"),
)

instance_events = sa.Table(
    "instance_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instance_id", sa.String(120), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("step", sa.String(80), nullable=False),
    #: ``ok``, ``failed:<category>``, or a status ("Completed with errors" is 21 characters).
    sa.Column("outcome", sa.String(40), nullable=False),
    sa.Column("elapsed_ms", sa.Float, nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Index("ix_instance_events_instance", "instance_id"),
)

hospital_actions = sa.Table(
    "hospital_actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("instance_id", sa.String(120), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(80), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Index("ix_hospital_actions_instance", "instance_id"),
)

lookups = sa.Table(
    "lookups",
    metadata,
    sa.Column("name", sa.String(60), primary_key=True),
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("value", sa.String(400), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("updated_by", sa.String(80), nullable=False),
)

lookup_audit = sa.Table(
    "lookup_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("old_value", sa.String(400), nullable=True),
    sa.Column("new_value", sa.String(400), nullable=True),
    sa.Column("actor", sa.String(80), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
)

flow_state = sa.Table(
    "flow_state",
    metadata,
    sa.Column("flow", sa.String(40), primary_key=True),
    sa.Column("paused", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("updated_by", sa.String(80), nullable=False),
)

flow_properties = sa.Table(
    "flow_properties",
    metadata,
    sa.Column("flow", sa.String(40), primary_key=True),
    sa.Column("key", sa.String(80), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("updated_by", sa.String(80), nullable=False),
)


def set_audited(
    conn: Connection,
    table: sa.Table,
    audit: sa.Table,
    where: dict[str, str],
    value: str | None,
    *,
    actor: str,
    at: str,
) -> None:
    """Set (or, with None, remove) one keyed value of ``table`` and write the change to
    ``audit`` (lookups and flow properties: keys, then old and new value, who, when)."""
    match = [table.c[k] == v for k, v in where.items()]
    old = conn.execute(sa.select(table.c.value).where(*match)).scalar()
    conn.execute(table.delete().where(*match))
    if value is not None:
        conn.execute(table.insert().values(**where, value=value, updated_at=at, updated_by=actor))
    conn.execute(audit.insert().values(**where, old_value=old, new_value=value, actor=actor, at=at))


#: The files the file flows have taken, by content (platform/intake/claims.py): each held by the
#: instance that took it, so that a re-delivered file (same checksum, any name) has no second
#: effect. Released when its instance is discarded.
file_claims = claims_table(metadata)

#: Who changed which flow property, from what to what (the console's configuration audit).
flow_property_audit = sa.Table(
    "flow_property_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("flow", sa.String(40), nullable=False),
    sa.Column("key", sa.String(80), nullable=False),
    sa.Column("old_value", sa.Text, nullable=True),
    sa.Column("new_value", sa.Text, nullable=True),
    sa.Column("actor", sa.String(80), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
)

#: The console's reads of instances: by status or by flow (and both) newest first, with keyset
#: pagination on (received_at, id); and the counts of a time window, read from the index alone.
console_indexes = (
    sa.Index("ix_instances_status_received", instances.c.status, instances.c.received_at),
    sa.Index("ix_instances_flow_received", instances.c.flow, instances.c.received_at),
    sa.Index(
        "ix_instances_flow_status_received",
        instances.c.flow,
        instances.c.status,
        instances.c.received_at,
    ),
    sa.Index(
        "ix_instances_received_flow_status",
        instances.c.received_at,
        instances.c.flow,
        instances.c.status,
    ),
)
