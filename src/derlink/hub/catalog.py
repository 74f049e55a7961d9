"""The hub's flow catalog as data: one row per flow the hub runs.

A row says what the flow is (code, name, who sends, who receives), what starts it (a message
from its source, or one of the hub's schedules), the intake schema of its batches, how many of
its instances one worker runs at once, and for a file flow where it lists and what it takes.
The flow modules (``hub/flows/``) hold only the behaviour and point at their row; the service,
the API and the console read the row.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from derlink.contracts.enrollment_files import ACK_PREFIX, EXTRACT_PREFIX
from derlink.contracts.event_files import OUTCOME_PREFIX, RESERVATION_PREFIX
from derlink.contracts.input_files import FORECAST_PREFIX, SCORE_PREFIX
from derlink.contracts.network_files import NETLOC_PREFIX
from derlink.hub.schemas import (
    AggregatorBatch,
    EnrollAckBatch,
    EnrollmentRequestBatch,
    EnrollSyncBatch,
    EventStatusBatch,
    FileBatch,
    OptOutBatch,
    OutcomeBatch,
    ProgramRulesBatch,
    ReservationBatch,
    ScheduledBatch,
    StatusAnswerBatch,
    StatusCheckBatch,
    UnavailabilityBatch,
)
from derlink.hub.scopes import PUBLISHERS

#: "message": a party sends it to the intake; "schedule": the hub starts it on a schedule.
Trigger = Literal["message", "schedule"]
#: Which of the hub's schedules starts a scheduled flow; its cron is a setting
#: (``reconcile_cron``, ``file_cron``) given to ``hub.app.create_part``.
Schedule = Literal["reconcile", "files"]


@dataclass(frozen=True)
class FileExchange:
    """Where a file flow lists and what it takes: stores by name (the parts' ``stores``,
    platform/settings.py)."""

    #: The store listed for files.
    source_store: str
    #: The file-name prefix of the files the flow takes.
    prefix: str
    #: The store a copy flow writes to; None for a flow that delivers records.
    target_store: str | None = None


@dataclass(frozen=True)
class FlowSpec:
    """One row of the catalog."""

    code: str
    name: str
    trigger: Trigger
    source: str
    target: str
    #: The schedule that starts a scheduled flow; None for a message flow.
    schedule: Schedule | None
    #: The intake schema: ``batchId`` and one list of records.
    batch: type[BaseModel]
    #: Instances of this flow one worker runs at once.
    concurrency: int
    #: A file flow's stores and prefix; None for every other flow.
    files: FileExchange | None = None
    #: The list field of the batch that carries the records (derived from ``batch``).
    field: str = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        lists = [
            name
            for name, info in self.batch.model_fields.items()
            if name != "batchId" and typing.get_origin(info.annotation) is list
        ]
        if len(lists) != 1:
            raise ValueError(f"{self.batch.__name__} must have one list of records, has {lists}")
        object.__setattr__(self, "field", lists[0])
        if (self.trigger == "schedule") != (self.schedule is not None):
            raise ValueError(f"{self.code}: a schedule is what starts a scheduled flow, only")


CATALOG: tuple[FlowSpec, ...] = (
    FlowSpec(
        code="ENR-REQ",
        name="Enrollment Request",
        trigger="message",
        source="derms",
        target="cpm",
        schedule=None,
        batch=EnrollmentRequestBatch,
        concurrency=4,
    ),
    FlowSpec(
        code="ENR-SYNC",
        name="Enrollment Synchronization",
        trigger="message",
        source="cpm",
        target="derms",
        schedule=None,
        batch=EnrollSyncBatch,
        concurrency=4,
    ),
    FlowSpec(
        code="ENR-ACK",
        name="Enrollment Acknowledgement",
        trigger="message",
        source="derms",
        target="cpm",
        schedule=None,
        batch=EnrollAckBatch,
        concurrency=4,
    ),
    FlowSpec(
        code="DEV-STATUS",
        name="Device Status Check",
        trigger="message",
        source="cpm",
        target="derms",
        schedule=None,
        batch=StatusCheckBatch,
        concurrency=2,
    ),
    FlowSpec(
        code="DEV-STATUS-ACK",
        name="Device Status Check Acknowledgement",
        trigger="message",
        source="derms",
        target="cpm",
        schedule=None,
        batch=StatusAnswerBatch,
        concurrency=2,
    ),
    # Master data for DERMS (docs/contracts/master-data.md): one program's rules, or one
    # aggregator, a record; delivered in collections, each record acknowledged to cpm.
    FlowSpec(
        code="PROG-RULE",
        name="Program Rules",
        trigger="message",
        source="cpm",
        target="derms",
        schedule=None,
        batch=ProgramRulesBatch,
        concurrency=2,
    ),
    FlowSpec(
        code="AGGREGATOR",
        name="Aggregator Synchronization",
        trigger="message",
        source="cpm",
        target="derms",
        schedule=None,
        batch=AggregatorBatch,
        concurrency=2,
    ),
    # Event participation (docs/contracts/event-status.md): each stage transition to cpm's
    # program events, in order (one instance at a time per worker), acknowledged to DERMS.
    FlowSpec(
        code="EVT-STATUS",
        name="Program Event Status Update",
        trigger="message",
        source="derms",
        target="cpm",
        schedule=None,
        batch=EventStatusBatch,
        concurrency=1,
    ),
    # A stage's reservation file (docs/contracts/event-reservations.md): a message names it on
    # DERMS's content server; the hub streams its rows to cpm's reserve-device service.
    FlowSpec(
        code="EVT-RESERVE",
        name="Event Device Reservation",
        trigger="message",
        source="derms",
        target="cpm",
        schedule=None,
        batch=ReservationBatch,
        concurrency=1,
        files=FileExchange(source_store="derms-content", prefix=RESERVATION_PREFIX),
    ),
    # A participation's opt-out (docs/contracts/opt-outs.md), versioned: delivered to DERMS in
    # collections, each record acknowledged to cpm.
    FlowSpec(
        code="OPT-OUT",
        name="Customer Event Opt-Out Update",
        trigger="message",
        source="cpm",
        target="derms",
        schedule=None,
        batch=OptOutBatch,
        concurrency=2,
    ),
    # A device's unavailability period (docs/contracts/unavailability.md), versioned: delivered
    # to DERMS in collections, each record acknowledged to cpm.
    FlowSpec(
        code="UNAVAIL",
        name="Customer Unavailability Update",
        trigger="message",
        source="cpm",
        target="derms",
        schedule=None,
        batch=UnavailabilityBatch,
        concurrency=2,
    ),
    # The devices' outcomes (docs/contracts/event-outcomes.md): a message names DERMS's outcome
    # file; the hub copies it to analytics' object storage (EVT-OUTCOME-OUAI) and posts its
    # rows to cpm's post-event-outcome service.
    FlowSpec(
        code="EVT-OUTCOME",
        name="Event Outcome",
        trigger="message",
        source="derms",
        target="cpm+analytics",
        schedule=None,
        batch=OutcomeBatch,
        concurrency=1,
        files=FileExchange(
            source_store="derms-content", prefix=OUTCOME_PREFIX, target_store="analytics-storage"
        ),
    ),
    # Not one of the integration's message flows but the hub's own check that the enrollment
    # flows did their job: cpm's subscriptions against the DERMS registry.
    FlowSpec(
        code="RECONCILE",
        name="Enrollment Reconciliation",
        trigger="schedule",
        source="cpm+derms",
        target="hub",
        schedule="reconcile",
        batch=ScheduledBatch,
        concurrency=1,
    ),
    # One file at a time per file flow and worker: a file is already many batches.
    FlowSpec(
        code="OUAI-ENR",
        name="Enrollment sync to analytics",
        trigger="schedule",
        source="cpm",
        target="analytics",
        schedule="files",
        batch=FileBatch,
        concurrency=1,
        files=FileExchange(
            source_store="cpm-content", prefix=EXTRACT_PREFIX, target_store="analytics-storage"
        ),
    ),
    FlowSpec(
        code="OUAI-ENR-ACK",
        name="Analytics enrollment acknowledgement",
        trigger="schedule",
        source="analytics",
        target="cpm",
        schedule="files",
        batch=FileBatch,
        concurrency=1,
        files=FileExchange(source_store="analytics-content", prefix=ACK_PREFIX),
    ),
    # The network location of every service point (docs/contracts/network.md): DERMS's export
    # copied to cpm's object storage, where cpm takes it in.
    FlowSpec(
        code="NET-LOC",
        name="Network location to cpm",
        trigger="schedule",
        source="derms",
        target="cpm",
        schedule="files",
        batch=FileBatch,
        concurrency=1,
        files=FileExchange(
            source_store="derms-content", prefix=NETLOC_PREFIX, target_store="cpm-storage"
        ),
    ),
    # DERMS's inputs (docs/contracts/derms-inputs.md): each row delivered, the latest kept.
    FlowSpec(
        code="DEV-SCORE",
        name="Device scores",
        trigger="schedule",
        source="cpm",
        target="derms",
        schedule="files",
        batch=FileBatch,
        concurrency=1,
        files=FileExchange(source_store="cpm-content", prefix=SCORE_PREFIX),
    ),
    FlowSpec(
        code="LRF",
        name="Load-reduction forecasts",
        trigger="schedule",
        source="analytics",
        target="derms",
        schedule="files",
        batch=FileBatch,
        concurrency=1,
        files=FileExchange(source_store="analytics-content", prefix=FORECAST_PREFIX),
    ),
)

#: The catalog by flow code.
FLOWS: Mapping[str, FlowSpec] = {spec.code: spec for spec in CATALOG}


def publishing_refusal(spec: FlowSpec, client_id: str) -> str | None:
    """Why the client ``client_id`` may not publish into the flow of ``spec``; None when it may.

    A client publishes only into the message flows whose source is the part it speaks for
    (``hub.scopes.PUBLISHERS``); a scheduled flow is started by the hub, never by a message.
    """
    if spec.trigger != "message":
        return (
            f"{spec.code} is started by the hub's {spec.schedule} schedule, not by messages: "
            "no client publishes into it"
        )
    part = PUBLISHERS.get(client_id)
    speaks = f"publishes for {part}" if part else "publishes for no part"
    if part != spec.source:
        return (
            f"client {client_id!r} {speaks}; {spec.code} ({spec.name}) takes messages from "
            f"{spec.source} only"
        )
    return None
