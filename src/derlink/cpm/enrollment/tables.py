"""The enrollment feature's tables: devices, subscriptions and their devices and locations, sync
requests and their history, device status checks, enrollment extracts.

docs/contracts/cpm-data.md explains them.
"""

from __future__ import annotations

import sqlalchemy as sa

from derlink.cpm.db import EXT, ID, TEXT, TS, id_column, metadata, text_column

devices = sa.Table(
    "devices",
    metadata,
    id_column(),
    sa.Column("head_end_system", sa.String(EXT), nullable=False),
    sa.Column("nic_id", sa.String(EXT), nullable=False),
    text_column("device_type"),
    text_column("specification"),
    text_column("make"),
    text_column("model"),
    text_column("serial_no"),
    text_column("badge_no"),
    text_column("asset_id"),
    text_column("division"),
    #: D1RE | D1NR | D1DR, from the last acknowledgement that named the device.
    sa.Column("head_end_registration", sa.String(8), nullable=True),
    sa.Column("head_end_message", sa.Text, nullable=True),
    sa.Column("last_status_check_id", sa.String(ID), nullable=True),
    sa.Column("last_status", sa.String(20), nullable=True),
    sa.Column("last_status_at", sa.String(TS), nullable=True),
    sa.Column("created_at", sa.String(TS), nullable=False),
    sa.Column("updated_at", sa.String(TS), nullable=False),
    # The device key: one row per head-end system and NIC id.
    sa.UniqueConstraint("head_end_system", "nic_id", name="uq_devices_key"),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    id_column(),
    #: The enrollment request's messageId; unique, so a second delivery answers 10589.
    sa.Column("message_id", sa.String(EXT), nullable=True, unique=True),
    #: The DERMS instance that sent the enrollment request (``drmsInstanceId``), or "".
    sa.Column("drms_instance_id", sa.String(TEXT), nullable=False, default="", server_default=""),
    sa.Column("program_id", sa.String(ID), sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("program_code", sa.String(EXT), nullable=False),
    sa.Column("contact_id", sa.String(ID), nullable=False),
    sa.Column("cis_person_id", sa.String(EXT), nullable=False),
    sa.Column("cis_account_id", sa.String(EXT), nullable=False),
    sa.Column("service_point_id", sa.String(ID), nullable=False),
    sa.Column("cis_service_point_id", sa.String(EXT), nullable=False),
    sa.Column("cis_premise_id", sa.String(EXT), nullable=False),
    text_column("division"),
    sa.Column("subscription_type", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    text_column("installation_method"),
    text_column("asset_ownership"),
    sa.Column("start_at", sa.String(TS), nullable=False),
    sa.Column("end_at", sa.String(TS), nullable=True),
    sa.Column("unenroll_reason", sa.Text, nullable=True),
    #: Incremented on every change; EnrollSync carries it so derms keeps the newest.
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.String(TS), nullable=False),
    sa.Column("updated_at", sa.String(TS), nullable=False),
    #: The version the last enrollment extract sent to analytics; null if never sent.
    sa.Column("analytics_version", sa.Integer, nullable=True),
    # CPM-DUPLICATE-ENROLLMENT looks up open subscriptions by service point and program.
    sa.Index("ix_subscriptions_open", "service_point_id", "program_id", "status"),
    sa.Index("ix_subscriptions_account", "cis_account_id"),
)

#: A subscription analytics does not hold in its current version: the incremental extract's
#: rows. Its partial index holds only these, so an incremental reads what changed, not the table.
ANALYTICS_DUE = sa.or_(
    subscriptions.c.analytics_version.is_(None),
    subscriptions.c.analytics_version != subscriptions.c.version,
)
ix_subscriptions_analytics_due = sa.Index(
    "ix_subscriptions_analytics_due",
    subscriptions.c.id,
    sqlite_where=ANALYTICS_DUE,
    postgresql_where=ANALYTICS_DUE,
)

subscription_devices = sa.Table(
    "subscription_devices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subscription_id", sa.String(ID), sa.ForeignKey("subscriptions.id"), nullable=False),
    sa.Column("device_id", sa.String(ID), sa.ForeignKey("devices.id"), nullable=False),
    #: ACTIVE | REMOVED (the old device of a replacement).
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("added_at", sa.String(TS), nullable=False),
    sa.Column("removed_at", sa.String(TS), nullable=True),
    sa.Index("ix_subscription_devices_subscription", "subscription_id"),
    # CPM-DEVICE-IN-USE looks up a device's active links.
    sa.Index("ix_subscription_devices_device", "device_id", "status"),
)

device_locations = sa.Table(
    "device_locations",
    metadata,
    id_column(),
    sa.Column(
        "subscription_id",
        sa.String(ID),
        sa.ForeignKey("subscriptions.id"),
        nullable=False,
        index=True,
    ),
    text_column("location_id"),
    sa.Column("service_point_id", sa.String(ID), nullable=False),
    sa.Column("cis_service_point_id", sa.String(EXT), nullable=False),
    sa.Column("cis_premise_id", sa.String(EXT), nullable=False),
    text_column("division"),
    text_column("time_zone"),
    text_column("address1"),
    text_column("city"),
    text_column("state"),
    text_column("postal"),
    text_column("country"),
    text_column("county"),
    sa.Column("created_at", sa.String(TS), nullable=False),
)

sync_requests = sa.Table(
    "sync_requests",
    metadata,
    id_column(),
    sa.Column(
        "subscription_id",
        sa.String(ID),
        sa.ForeignKey("subscriptions.id"),
        nullable=False,
        index=True,
    ),
    sa.Column("sync_type", sa.String(20), nullable=False),
    sa.Column("state", sa.String(30), nullable=False),
    #: The subscription version the EnrollSync carried.
    sa.Column("version", sa.Integer, nullable=False),
    #: JSON: the exceptionInfo of an Error acknowledgement.
    sa.Column("error_info", sa.Text, nullable=True),
    sa.Column("created_at", sa.String(TS), nullable=False),
    sa.Column("updated_at", sa.String(TS), nullable=False),
    sa.Column("acknowledged_at", sa.String(TS), nullable=True),
    # Pages by state (GET /sync-requests?state=&after=) and the counts.
    sa.Index("ix_sync_requests_state", "state", "id"),
)

sync_request_history = sa.Table(
    "sync_request_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sync_request_id", sa.String(ID), nullable=False, index=True),
    sa.Column("from_state", sa.String(30), nullable=True),
    sa.Column("to_state", sa.String(30), nullable=False),
    sa.Column("at", sa.String(TS), nullable=False),
    sa.Column("actor", sa.String(EXT), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
)

device_status_checks = sa.Table(
    "device_status_checks",
    metadata,
    #: The dacsMessageId of the DEV-STATUS message; the response's transactionId.
    id_column(),
    sa.Column("device_id", sa.String(ID), sa.ForeignKey("devices.id"), nullable=False, index=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("result", sa.String(10), nullable=True),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("requested_by", sa.String(EXT), nullable=False),
    sa.Column("requested_at", sa.String(TS), nullable=False),
    sa.Column("answered_at", sa.String(TS), nullable=True),
)

enrollment_extracts = sa.Table(
    "enrollment_extracts",
    metadata,
    #: ``EX-…``; its sync requests are ``SR-<the same 26 characters>-<row>``.
    id_column(),
    #: INITIAL | INCREMENTAL.
    sa.Column("kind", sa.String(20), nullable=False),
    #: Running → Completed | Failed.
    sa.Column("state", sa.String(20), nullable=False),
    #: The file on cpm's content server; null for an extract of no rows.
    sa.Column("file_name", sa.String(TEXT), nullable=True),
    sa.Column("rows", sa.Integer, nullable=False, default=0),
    sa.Column("started_at", sa.String(TS), nullable=False),
    sa.Column("finished_at", sa.String(TS), nullable=True),
    sa.Column("actor", sa.String(EXT), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index("ix_enrollment_extracts_started", "started_at", "id"),
)
# One extract at a time, whichever process asks: a second Running row cannot exist.
_RUNNING = enrollment_extracts.c.state == "Running"
sa.Index(
    "ux_enrollment_extracts_running",
    enrollment_extracts.c.state,
    unique=True,
    sqlite_where=_RUNNING,
    postgresql_where=_RUNNING,
)
