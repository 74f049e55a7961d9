"""Events' tables: strategy types, strategies, events, their stages, the stages' transitions and
the audit trail. docs/contracts/derms-data.md explains them. Times are ISO-8601 text in UTC."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from derlink.derms.db import CODE, EXT, TEXT, TS, metadata, text_column

ID = 40
STATE = 20
REASON = 500

strategy_types = sa.Table(
    "strategy_types",
    metadata,
    sa.Column("code", sa.String(CODE), primary_key=True),
    text_column("name", TEXT),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("ba_checked", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.String(TS), nullable=False),
    sa.Column("updated_at", sa.String(TS), nullable=False),
)

strategies = sa.Table(
    "strategies",
    metadata,
    sa.Column("id", sa.String(ID), primary_key=True),
    text_column("name", TEXT),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("control_zone", sa.String(EXT), nullable=False),
    #: JSON list of program codes.
    sa.Column("programs", sa.Text, nullable=False),
    sa.Column("type_code", sa.String(CODE), nullable=False),
    sa.Column("objective", sa.String(CODE), nullable=False),
    sa.Column("max_demand_mw", sa.Float, nullable=True),
    sa.Column("mw_per_hour", sa.Float, nullable=True),
    sa.Column("max_increase_pct", sa.Float, nullable=True),
    sa.Column("override_rules", sa.Boolean, nullable=False),
    sa.Column("per_feeder", sa.Boolean, nullable=False),
    sa.Column("firm", sa.Boolean, nullable=False),
    #: Whether opt-outs that leave a Scheduled stage short are backfilled.
    sa.Column("backfill", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("state", sa.String(STATE), nullable=False),
    sa.Column("created_at", sa.String(TS), nullable=False),
    sa.Column("updated_at", sa.String(TS), nullable=False),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.String(ID), primary_key=True),
    text_column("name", TEXT),
    sa.Column("strategy_id", sa.String(ID), nullable=False, index=True),
    sa.Column("event_type", sa.String(CODE), nullable=False),
    sa.Column("objective", sa.String(CODE), nullable=False),
    sa.Column("max_demand_mw", sa.Float, nullable=True),
    sa.Column("mw_per_hour", sa.Float, nullable=True),
    sa.Column("max_increase_pct", sa.Float, nullable=True),
    #: JSON list of program codes, from the strategy.
    sa.Column("programs", sa.Text, nullable=False),
    sa.Column("window_start", sa.String(TS), nullable=False, index=True),
    sa.Column("window_end", sa.String(TS), nullable=False),
    sa.Column("state", sa.String(STATE), nullable=False, index=True),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("ba_checked", sa.Boolean, nullable=False),
    sa.Column("needs_ba", sa.Boolean, nullable=False, default=False),
    sa.Column("approved_by", sa.String(EXT), nullable=True),
    sa.Column("approved_at", sa.String(TS), nullable=True),
    sa.Column("ba_approved_by", sa.String(EXT), nullable=True),
    sa.Column("ba_approved_at", sa.String(TS), nullable=True),
    sa.Column("reason", sa.String(REASON), nullable=True),
    sa.Column("created_by", sa.String(EXT), nullable=False),
    sa.Column("created_at", sa.String(TS), nullable=False),
    sa.Column("updated_at", sa.String(TS), nullable=False),
)

stages = sa.Table(
    "stages",
    metadata,
    sa.Column("id", sa.String(ID), primary_key=True),
    sa.Column("event_id", sa.String(ID), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("program", sa.String(EXT), nullable=False),
    sa.Column("start_at", sa.String(TS), nullable=False),
    sa.Column("end_at", sa.String(TS), nullable=False),
    sa.Column("state", sa.String(STATE), nullable=False, index=True),
    sa.Column("step_s", sa.Integer, nullable=False),
    #: JSON {"p10": [...], "p50": [...], "p90": [...]}: expected kW per step from start_at.
    sa.Column("expected_kw", sa.Text, nullable=False),
    sa.Column("device_count", sa.Integer, nullable=False),
    #: Set when an opt-out released one of a Scheduled stage's reservations: the stage is to be
    #: checked against its target (and backfilled); cleared when it was.
    sa.Column("review_due_at", sa.String(TS), nullable=True),
    #: When its outcomes were closed (the outcome window after its end passed, or it was
    #: canceled): every live reservation without an outcome became D1ND, and all Closed.
    sa.Column("outcomes_closed_at", sa.String(TS), nullable=True, index=True),
    #: The outcome file that carries its outcomes (0: it had none to carry); null until one does.
    sa.Column("outcome_file_seq", sa.Integer, nullable=True),
    sa.UniqueConstraint("event_id", "seq"),
)

#: Each stage's transitions, once each (the key): what the stage schedule did and when.
stage_transitions = sa.Table(
    "stage_transitions",
    metadata,
    sa.Column("stage_id", sa.String(ID), primary_key=True),
    sa.Column("to_state", sa.String(STATE), primary_key=True),
    sa.Column("event_id", sa.String(ID), nullable=False, index=True),
    sa.Column("from_state", sa.String(STATE), nullable=False),
    #: The stage's own time of the transition (its start or end), or the action's.
    sa.Column("due_at", sa.String(TS), nullable=False),
    #: When derms recorded it: later than due_at when derms was down at due_at.
    sa.Column("recorded_at", sa.String(TS), nullable=False),
    #: Its message to cpm (EVT-STATUS): Pending, Delivered or Failed; null when cpm is not told
    #: (a stage canceled while Planned).
    sa.Column("cpm_status", sa.String(STATE), nullable=True),
    #: cpm's program event id when Delivered, the code and reason when Failed.
    sa.Column("cpm_detail", sa.Text, nullable=True),
    sa.Column("cpm_at", sa.String(TS), nullable=True),
)

event_audit = sa.Table(
    "event_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(ID), nullable=False, index=True),
    sa.Column("stage_id", sa.String(ID), nullable=True),
    sa.Column("at", sa.String(TS), nullable=False),
    sa.Column("actor", sa.String(EXT), nullable=False),
    sa.Column("action", sa.String(CODE), nullable=False),
    sa.Column("from_state", sa.String(STATE), nullable=True),
    sa.Column("to_state", sa.String(STATE), nullable=True),
    sa.Column("detail", sa.Text, nullable=False, default=""),
)


def stage_device_columns() -> tuple[sa.Column[Any], ...]:
    """A device of a stage, keyed by (stage, head-end system, NIC id), with where it is: what
    a planned device and a reservation both are."""
    return (
        sa.Column("stage_id", sa.String(ID), primary_key=True),
        sa.Column("head_end_system", sa.String(EXT), primary_key=True),
        sa.Column("nic_id", sa.String(EXT), primary_key=True),
        sa.Column("event_id", sa.String(ID), nullable=False, index=True),
        sa.Column("device_id", sa.String(EXT), nullable=False),
        sa.Column("sp_id", sa.String(EXT), nullable=False),
        sa.Column("feeder_id", sa.String(EXT), nullable=False, default=""),
        sa.Column("program", sa.String(EXT), nullable=False),
    )


def sent_file_columns() -> tuple[sa.Column[Any], ...]:
    """Where a file DERMS sends stands: Pending (recorded, to be written), Sent (written, its
    message in the outbox), Acknowledged or Failed; what the hub said of it; when."""
    return (
        sa.Column("state", sa.String(STATE), nullable=False, index=True),
        #: What cpm (and analytics) made of it: the counts and the first refusals, or why it
        #: failed.
        sa.Column("detail", sa.Text, nullable=False, default=""),
        sa.Column("created_at", sa.String(TS), nullable=False),
        sa.Column("sent_at", sa.String(TS), nullable=True),
        sa.Column("acked_at", sa.String(TS), nullable=True),
    )


#: The devices of each stage, as planned: one row per device (a device takes at most one stage
#: of an event).
stage_devices = sa.Table(
    "stage_devices",
    metadata,
    *stage_device_columns(),
    sa.Index("ix_stage_devices_device", "nic_id", "head_end_system"),
)

#: The plan each event's stages came from, the latest only: the need it was made for, what it
#: falls short of, and why candidates were left out.
event_plans = sa.Table(
    "event_plans",
    metadata,
    sa.Column("event_id", sa.String(ID), primary_key=True),
    sa.Column("planned_at", sa.String(TS), nullable=False),
    sa.Column("planned_by", sa.String(EXT), nullable=False),
    #: "greedy" or "optimiser".
    sa.Column("planner", sa.String(CODE), nullable=False),
    sa.Column("start_at", sa.String(TS), nullable=False),
    sa.Column("step_s", sa.Integer, nullable=False),
    #: JSON: need_kw, planned_kw, shortfall_kw, snapback_kw (per step from start_at),
    #: exclusions (per rule), notes, and the counts.
    sa.Column("detail", sa.Text, nullable=False),
)

#: The devices reserved for each Scheduled stage (docs/contracts/event-reservations.md): a device
#: holds at most one live (Reserved or Dispatched) reservation at any instant.
reservations = sa.Table(
    "reservations",
    metadata,
    *stage_device_columns(),
    sa.Column("start_at", sa.String(TS), nullable=False),
    sa.Column("end_at", sa.String(TS), nullable=False),
    #: Reserved, Dispatched, Closed (with its outcome) or Released (with its reason).
    sa.Column("state", sa.String(STATE), nullable=False),
    #: Why it was released: OPT_OUT, UNAVAILABLE, STAGE_CANCELED or REPLACED.
    sa.Column("reason", sa.String(CODE), nullable=True),
    #: The device's outcome (D1SP, D1ND, D1IO, D1ER, D1CN); D1CN as soon as it is released
    #: because its stage was canceled or the customer is unavailable; null until known.
    sa.Column("outcome", sa.String(8), nullable=True),
    #: What was reported with the outcome (docs/contracts/event-outcomes.md): the error, when
    #: the device took part, its measured kW; when and from where it came (HEAD_END_FILE, or
    #: DERMS itself: D1ND when the outcome window closed without one, D1CN on a release).
    sa.Column("error_message", sa.String(100), nullable=True),
    sa.Column("participation_start_at", sa.String(TS), nullable=True),
    sa.Column("participation_end_at", sa.String(TS), nullable=True),
    sa.Column("measured_kw", sa.Float, nullable=True),
    sa.Column("outcome_at", sa.String(TS), nullable=True),
    sa.Column("outcome_source", sa.String(CODE), nullable=True),
    #: Its row in its stage's reservation files: the file's seq and the recordId in it.
    sa.Column("file_seq", sa.Integer, nullable=False),
    sa.Column("record_id", sa.Integer, nullable=False),
    sa.Column("created_at", sa.String(TS), nullable=False),
    sa.Column("updated_at", sa.String(TS), nullable=False),
    sa.Index("ix_reservations_device", "nic_id", "head_end_system", "state"),
    sa.Index("ix_reservations_file", "stage_id", "file_seq", "record_id"),
)

#: Each stage's reservation files: the first (seq 0) when the stage is Scheduled. Written to
#: the content server, then sent (EVT-RESERVE) and acknowledged.
reservation_files = sa.Table(
    "reservation_files",
    metadata,
    sa.Column("stage_id", sa.String(ID), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("event_id", sa.String(ID), nullable=False, index=True),
    sa.Column("file_name", sa.String(EXT + 2 * ID), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    *sent_file_columns(),
)

#: The opt-outs cpm sent (OPT-OUT, docs/contracts/opt-outs.md): one per cpm event
#: participation, at the newest version received.
opt_outs = sa.Table(
    "opt_outs",
    metadata,
    #: cpm's event participation: the opt-out's key.
    sa.Column("participation_id", sa.String(EXT), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("message_id", sa.String(EXT), nullable=False),
    sa.Column("event_id", sa.String(ID), nullable=False),
    sa.Column("stage_id", sa.String(ID), nullable=False),
    sa.Column("head_end_system", sa.String(EXT), nullable=False),
    sa.Column("nic_id", sa.String(EXT), nullable=False),
    #: CUSTOMER or CSR.
    sa.Column("channel", sa.String(CODE), nullable=False),
    #: When the customer opted out (cpm's time), and when DERMS heard of it.
    sa.Column("opted_out_at", sa.String(TS), nullable=False),
    sa.Column("received_at", sa.String(TS), nullable=False),
    #: What it did to the reservation: Released, or the state it found it in (Released with
    #: another reason, Closed).
    sa.Column("effect", sa.String(STATE), nullable=False),
    # The event's opt-outs, per device: what a backfill leaves out.
    sa.Index("ix_opt_outs_event", "event_id", "head_end_system", "nic_id"),
)

#: Customer unavailability periods (UNAVAIL, docs/contracts/unavailability.md): one per cpm
#: unavailability, at the newest version received. Stage generation leaves a device out of a
#: stage its Active period overlaps (from the program's minimum rest before it).
unavailabilities = sa.Table(
    "unavailabilities",
    metadata,
    #: cpm's id: the period's key.
    sa.Column("unavailability_id", sa.String(EXT), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("message_id", sa.String(EXT), nullable=False),
    sa.Column("head_end_system", sa.String(EXT), nullable=False),
    sa.Column("nic_id", sa.String(EXT), nullable=False),
    sa.Column("start_at", sa.String(TS), nullable=False),
    sa.Column("end_at", sa.String(TS), nullable=False),
    #: ACTIVE or CANCELED.
    sa.Column("status", sa.String(STATE), nullable=False),
    sa.Column("reason", sa.String(REASON), nullable=False, default=""),
    sa.Column("received_at", sa.String(TS), nullable=False),
    #: How many live reservations this version released (UNAVAILABLE, outcome D1CN).
    sa.Column("released", sa.Integer, nullable=False, default=0),
    sa.Index("ix_unavailabilities_device", "nic_id", "head_end_system", "start_at"),
    sa.Index("ix_unavailabilities_end", "end_at"),
)

#: DERMS's outcome files (EVT-OUTCOME, docs/contracts/event-outcomes.md): each carries the
#: outcomes of the stages closed since the one before, to cpm and (a copy) to analytics.
outcome_files = sa.Table(
    "outcome_files",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("file_name", sa.String(EXT), nullable=False, unique=True),
    #: JSON list of the stage ids it carries.
    sa.Column("stages", sa.Text, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    *sent_file_columns(),
)
