"""The registry's tables: head-end systems, the enrolled-device registry (subscriptions and
devices), the enrollment syncs taken, originated enrollment requests and answered status checks.

docs/contracts/derms-data.md explains them.
"""

from __future__ import annotations

import sqlalchemy as sa

from derlink.derms.db import CODE, EXT, TS, metadata, text_column

#: The head-end systems derms serves: a device on one of them is registered (D1RE).
head_end_systems = sa.Table(
    "head_end_systems",
    metadata,
    sa.Column("code", sa.String(EXT), primary_key=True),
    text_column("name", 200),
)

#: The registry: one entry per subscription, at the newest version derms has applied.
registry_subscriptions = sa.Table(
    "registry_subscriptions",
    metadata,
    sa.Column("subscription_id", sa.String(EXT), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    text_column("program_code"),
    text_column("program_id"),
    text_column("cis_account_id"),
    text_column("cis_service_point_id"),
    text_column("service_point_id"),
    text_column("division", CODE),
    sa.Column("starts_at", sa.String(TS), nullable=True),
    sa.Column("ends_at", sa.String(TS), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    text_column("last_dacs_message_id"),
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
    text_column("device_type", CODE),
    text_column("specification"),
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
