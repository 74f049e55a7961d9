"""Program events' tables: one program event per DERMS stage, the history of its transitions,
its event participations (one per device), and the devices' unavailability periods.
docs/contracts/cpm-data.md explains them.

Times are ISO-8601 text in UTC (``model.utc_text``), so that a window's text order is its time
order.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from derlink.cpm.db import EXT, ID, TS, id_column, metadata
from derlink.cpm.events.model import MAX_CANCEL_REASON, MAX_IDENTIFIER
from derlink.cpm.events.participation import MAX_HEAD_END_SYSTEM, MAX_NIC_ID, MAX_OPT_OUT_REASON
from derlink.cpm.events.unavailability import MAX_UNAVAILABILITY_REASON

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


def opt_out_columns() -> tuple[sa.Column[Any], ...]:
    """A participation's opt-out (docs/contracts/program-events.md, "Opt-outs"), and what cpm
    knows of DERMS's copy of it: the version cpm sent last, the one DERMS acknowledged, and the
    answer (revision 0009)."""
    return (
        #: When, how and by whom it was opted out; null (the texts "") until then.
        sa.Column("opted_out_at", sa.String(TS), nullable=True),
        sa.Column("opt_out_channel", sa.String(20), nullable=True),
        sa.Column("opt_out_by", sa.String(EXT), nullable=False, server_default=""),
        sa.Column(
            "opt_out_reason", sa.String(MAX_OPT_OUT_REASON), nullable=False, server_default=""
        ),
        #: The version of the opt-out cpm sent last (OPT-OUT); 0: never sent.
        sa.Column("opt_out_version", sa.Integer, nullable=False, server_default="0"),
        *derms_sync_columns(),
    )


def derms_sync_columns() -> tuple[sa.Column[Any], ...]:
    """What cpm knows of DERMS's copy of a record it sends in versions (an opt-out, an
    unavailability period), beside the version it sent last: the version DERMS acknowledged,
    and its answer."""
    return (
        #: The version DERMS acknowledged last.
        sa.Column("derms_version", sa.Integer, nullable=False, server_default="0"),
        #: Null (never sent), Pending, Synchronized or Error.
        sa.Column("derms_sync", sa.String(20), nullable=True),
        #: DERMS's (or the hub's) code and message when it refused the version; "" otherwise.
        sa.Column("derms_detail", sa.Text, nullable=False, server_default=""),
    )


def outcome_columns() -> tuple[sa.Column[Any], ...]:
    """What EVT-OUTCOME brings with a participation's outcome (docs/contracts/event-outcomes.md):
    the device's error, when it took part, its measured kW, when cpm recorded it and the file it
    came in (revision 0010)."""
    return (
        sa.Column("outcome_error", sa.String(100), nullable=False, server_default=""),
        sa.Column("participation_start_at", sa.String(TS), nullable=True),
        sa.Column("participation_end_at", sa.String(TS), nullable=True),
        sa.Column("measured_kw", sa.Float, nullable=True),
        sa.Column("outcome_at", sa.String(TS), nullable=True),
        sa.Column("outcome_file", sa.String(EXT), nullable=False, server_default=""),
    )


#: One device's part in one program event (EVT-RESERVE), one per program event, head-end system
#: and NIC id. The program event's stage, DERMS event and program are read from its row.
event_participations = sa.Table(
    "event_participations",
    metadata,
    #: cpm's id (``EP-…``).
    id_column(),
    sa.Column(
        "program_event_id", sa.String(ID), sa.ForeignKey("program_events.id"), nullable=False
    ),
    sa.Column("head_end_system", sa.String(MAX_HEAD_END_SYSTEM), nullable=False),
    sa.Column("nic_id", sa.String(MAX_NIC_ID), nullable=False),
    #: The device and the Active subscription of the program it was found on when reserved.
    sa.Column("device_id", sa.String(ID), sa.ForeignKey("devices.id"), nullable=False),
    sa.Column("subscription_id", sa.String(ID), sa.ForeignKey("subscriptions.id"), nullable=False),
    sa.Column("reservation_start_at", sa.String(TS), nullable=False),
    sa.Column("reservation_end_at", sa.String(TS), nullable=False),
    #: Reserved → OptedOut | Released | OutcomeRecorded → Settled.
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("reserved", sa.Boolean, nullable=False),
    #: D1SP | D1ND | D1IO | D1ER | D1CN once EVT-OUTCOME names the device; null until then.
    sa.Column("outcome", sa.String(8), nullable=True),
    sa.Column("preemptive_opt_out", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.String(TS), nullable=False),
    sa.Column("updated_at", sa.String(TS), nullable=False),
    *opt_out_columns(),
    *outcome_columns(),
    # One participation per device and program event: a re-delivered or concurrent reservation
    # of the device is refused by it. It also serves the program event's list, in key order.
    sa.UniqueConstraint(
        "program_event_id", "head_end_system", "nic_id", name="uq_event_participations_device"
    ),
    # The program event's counts by state.
    sa.Index("ix_event_participations_state", "program_event_id", "state"),
    # A device's history, the newest reservation first: by device, NIC id or subscription.
    sa.Index("ix_event_participations_device", "device_id", "reservation_start_at"),
    sa.Index("ix_event_participations_nic", "nic_id", "reservation_start_at"),
    sa.Index("ix_event_participations_subscription", "subscription_id", "reservation_start_at"),
)

#: A device's unavailability period (UNAVAIL, docs/contracts/unavailability.md), at its latest
#: version, and what cpm knows of DERMS's copy of it.
customer_unavailabilities = sa.Table(
    "customer_unavailabilities",
    metadata,
    #: cpm's id (``CU-…``): the key of every version sent to DERMS.
    id_column(),
    sa.Column("device_id", sa.String(ID), sa.ForeignKey("devices.id"), nullable=False),
    #: The device's key as cpm held it when the period was added.
    sa.Column("head_end_system", sa.String(EXT), nullable=False),
    sa.Column("nic_id", sa.String(EXT), nullable=False),
    sa.Column("start_at", sa.String(TS), nullable=False),
    sa.Column("end_at", sa.String(TS), nullable=False),
    sa.Column("reason", sa.String(MAX_UNAVAILABILITY_REASON), nullable=False, default=""),
    #: Active | Canceled.
    sa.Column("status", sa.String(20), nullable=False),
    #: 1 when added, +1 at every edit, cancel and resend: the version cpm sent last (UNAVAIL).
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.String(TS), nullable=False),
    #: The clients (their credentials' client ids) that added it and changed it last.
    sa.Column("created_by", sa.String(EXT), nullable=False),
    sa.Column("updated_at", sa.String(TS), nullable=False),
    sa.Column("updated_by", sa.String(EXT), nullable=False),
    *derms_sync_columns(),
    # The lists, the latest start first: every period, a device's, a NIC id's.
    sa.Index("ix_customer_unavailabilities_start", "start_at", "id"),
    sa.Index("ix_customer_unavailabilities_device", "device_id", "start_at"),
    sa.Index("ix_customer_unavailabilities_nic", "nic_id", "start_at"),
)
