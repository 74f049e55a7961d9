"""derms's tables (SQLAlchemy Core) and migrations; docs/contracts/derms-data.md explains them.

Timestamps are ISO-8601 text with an offset, the same on SQLite and PostgreSQL, never naive.
"""

from __future__ import annotations

import sqlalchemy as sa

from derlink.platform.database import Migration, create_all
from derlink.platform.outbox import outbox_table

metadata = sa.MetaData()

EXT = 80  # identifiers that come from outside (subscription, message, device and NIC ids)
CODE = 40
TS = 40


def _text(name: str, length: int = EXT) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=False, default="")


#: The head-end systems derms serves: a device on one of them is registered (D1RE).
head_end_systems = sa.Table(
    "head_end_systems",
    metadata,
    sa.Column("code", sa.String(EXT), primary_key=True),
    _text("name", 200),
)

#: The registry: one entry per subscription, at the newest version derms has applied.
registry_subscriptions = sa.Table(
    "registry_subscriptions",
    metadata,
    sa.Column("subscription_id", sa.String(EXT), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    _text("program_code"),
    _text("program_id"),
    _text("cis_account_id"),
    _text("cis_service_point_id"),
    _text("service_point_id"),
    _text("division", CODE),
    sa.Column("starts_at", sa.String(TS), nullable=True),
    sa.Column("ends_at", sa.String(TS), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    _text("last_dacs_message_id"),
    sa.Column("updated_at", sa.String(TS), nullable=False),
)

#: The registry's devices, keyed (headEndSystem, nicId): one subscription holds a device at a time.
#: The key's index leads with nic_id, so that a batch finds its devices with one plain IN on
#: NIC ids (a row-value IN is several times slower on both databases).
registry_devices = sa.Table(
    "registry_devices",
    metadata,
    sa.Column("nic_id", sa.String(EXT), primary_key=True),
    sa.Column("head_end_system", sa.String(EXT), primary_key=True),
    sa.Column("device_id", sa.String(EXT), nullable=False),
    sa.Column("subscription_id", sa.String(EXT), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("registration", sa.String(8), nullable=False),
    _text("device_type", CODE),
    _text("specification"),
    sa.Column("updated_at", sa.String(TS), nullable=False),
    sa.Index("ix_registry_devices_subscription", "subscription_id"),
)

#: Every enrollment sync derms has taken, so a redelivered one has no second effect.
enroll_inbox = sa.Table(
    "enroll_inbox",
    metadata,
    sa.Column("dacs_message_id", sa.String(EXT), primary_key=True),
    sa.Column("batch_id", sa.String(120), nullable=False),
    sa.Column("subscription_id", sa.String(EXT), nullable=False),
    sa.Column("received_at", sa.String(TS), nullable=False),
    sa.Column("ack_type", sa.String(10), nullable=False),
    sa.Column("response_code", sa.String(CODE), nullable=True),
)

#: Enrollment requests derms originates (ENR-REQ): Pending → Sent → Accepted | Rejected.
origination = sa.Table(
    "origination",
    metadata,
    sa.Column("message_id", sa.String(EXT), primary_key=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("enrollment_id", sa.String(EXT), nullable=True),
    sa.Column("response_code", sa.String(CODE), nullable=True),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("created_at", sa.String(TS), nullable=False),
    sa.Column("updated_at", sa.String(TS), nullable=False),
    sa.Index("ix_origination_status", "status"),
)

#: Device status checks derms has answered (DEV-STATUS), one per dacsMessageId.
status_checks = sa.Table(
    "status_checks",
    metadata,
    sa.Column("dacs_message_id", sa.String(EXT), primary_key=True),
    sa.Column("batch_id", sa.String(120), nullable=False),
    sa.Column("head_end_system", sa.String(EXT), nullable=False),
    sa.Column("nic_id", sa.String(EXT), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("received_at", sa.String(TS), nullable=False),
)

outbox = outbox_table(metadata)

MIGRATIONS = [Migration(1, "derms enrollment registry", create_all(metadata))]
