"""Event participations' services: reserve a program event's devices (EVT-RESERVE), and read
participations back, a program event's and a device's event history, each with its opt-out and,
while Reserved, its program event's opt-out cut-off (docs/contracts/program-events.md).

A reservation call is set-based, for the flow's collections of 5,000 devices: one read of the
program event, one of the call's devices with the Active subscription of the program each is on,
one of the participations the program event holds for them, and one insert of the new ones.

Safe when the same collection arrives twice at once: a participation is unique by program
event and device key, so of two concurrent calls one inserts and the other, refused by the
constraint, runs again and finds the first's (``Exists``). Each call holds a share lock on its
program event's row (PostgreSQL; SQLite lets one writer in at a time), so a lifecycle action
(which locks it for update) waits for the reservations under way, and a reservation that follows
a cancel sees it. New participations are inserted in key order, so that two calls never wait on
each other's rows in opposite orders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from derlink.common.clock import Clock
from derlink.common.errors import NotFound
from derlink.common.ids import new_id
from derlink.cpm.catalog.model import DermsSync
from derlink.cpm.catalog.tables import program_rules
from derlink.cpm.enrollment.model import DeviceLinkStatus, SubscriptionStatus
from derlink.cpm.enrollment.tables import devices, subscription_devices, subscriptions
from derlink.cpm.events import model as m
from derlink.cpm.events import participation as p
from derlink.cpm.events.tables import event_participations, program_events
from derlink.platform.database import Database

ep, pe = event_participations, program_events

#: How often a reservation call runs again after a concurrent call inserted some of its
#: devices first; each run that fails found rows another call committed, so it makes progress.
ATTEMPTS = 5
_RESERVED, _RESERVED_STATE = p.ReservationOutcome.RESERVED, p.ParticipationState.RESERVED.value


def reserve_devices(
    *,
    db: Database,
    clock: Clock,
    external_identifier: str,
    event_external_identifier: str,
    devices: Sequence[p.RequestedDevice],
) -> list[p.Reservation]:
    """Reserve the devices of a stage's program event: one reservation per device, in order
    (participation.decide_reservations). 404 CPM-PROGRAM-EVENT-UNKNOWN for no program event of
    the stage, 422 CPM-PROGRAM-EVENT-INVALID for another DERMS event, 409
    CPM-PROGRAM-EVENT-STATE for a Complete or Canceled one."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _reserve(db, clock, external_identifier, event_external_identifier, devices)
        except IntegrityError:
            # A concurrent call committed some of these devices between our read and our
            # insert: run again, and find them.
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _reserve(
    db: Database,
    clock: Clock,
    external_identifier: str,
    event_external_identifier: str,
    requested: Sequence[p.RequestedDevice],
) -> list[p.Reservation]:
    with db.begin() as conn:
        event = conn.execute(
            sa.select(pe)
            .where(pe.c.external_identifier == external_identifier)
            .with_for_update(read=True)
        ).first()
        if event is None:
            raise NotFound(
                f"no program event for the stage {external_identifier!r}",
                code=m.PROGRAM_EVENT_UNKNOWN,
            )
        p.check_reservable(
            external_identifier,
            kept=event.event_external_identifier,
            given=event_external_identifier,
            state=m.ProgramEventState(event.state),
        )
        keys = list(dict.fromkeys(d.key for d in requested))
        existing = _existing(conn, event.id, keys)
        # A re-delivered collection's devices exist already: only the others are looked up.
        fresh = [k for k in keys if k not in existing]
        decided = p.decide_reservations(
            requested,
            event=p.Window(
                datetime.fromisoformat(event.start_at), datetime.fromisoformat(event.end_at)
            ),
            held=_held(conn, fresh, event.program_code),
            existing=existing,
            new_id=lambda: new_id("EP-"),
        )
        at = m.utc_text(clock.now())
        rows = [
            {
                "id": r.participation_id, "program_event_id": event.id,
                "head_end_system": r.head_end_system, "nic_id": r.nic_id,
                "device_id": r.device_id, "subscription_id": r.subscription_id,
                "reservation_start_at": r.start, "reservation_end_at": r.end,
                "state": _RESERVED_STATE, "reserved": True, "outcome": None,
                "preemptive_opt_out": False, "created_at": at, "updated_at": at,
            }
            for r in decided
            if r.outcome is _RESERVED
        ]  # fmt: skip
        if rows:
            rows.sort(key=lambda r: (r["head_end_system"], r["nic_id"]))
            conn.execute(ep.insert(), rows)
    return decided


def of_keys(
    head_end_system: sa.ColumnElement[str], nic_id: sa.ColumnElement[str], keys: Iterable[p.Key]
) -> sa.ColumnElement[bool]:
    """The rows of these device keys: by head-end system, each with its NIC ids, so that both
    databases look the keys up in their (head-end system, NIC id) index."""
    nics: dict[str, list[str]] = defaultdict(list)
    for head_end, nic in keys:
        nics[head_end].append(nic)
    return sa.or_(
        *(sa.and_(head_end_system == h, nic_id.in_(listed)) for h, listed in nics.items())
    )


def _held(conn: Connection, keys: list[p.Key], program_code: str) -> dict[p.Key, p.HeldDevice]:
    """The devices of these keys cpm holds, each with the Active subscription of the program it
    is on ("" when none; the first by id should two be)."""
    if not keys:
        return {}
    d, sd, s = devices, subscription_devices, subscriptions
    # Two flat outer joins, each by an index: a device's held links, and of their subscriptions
    # the Active ones of the program (SQLite would materialize a nested join whole).
    rows = conn.execute(
        sa.select(d.c.id, d.c.head_end_system, d.c.nic_id, s.c.id.label("subscription_id"))
        .select_from(
            d.outerjoin(
                sd,
                sa.and_(sd.c.device_id == d.c.id, sd.c.status == DeviceLinkStatus.ACTIVE.value),
            ).outerjoin(
                s,
                sa.and_(
                    s.c.id == sd.c.subscription_id,
                    s.c.status == SubscriptionStatus.ACTIVE.value,
                    s.c.program_code == program_code,
                ),
            )
        )
        .where(of_keys(d.c.head_end_system, d.c.nic_id, keys))
    )
    held: dict[p.Key, p.HeldDevice] = {}
    for row in rows:
        key = (row.head_end_system, row.nic_id)
        found = p.HeldDevice(row.id, row.subscription_id or "")
        before = held.get(key)
        if before is None or _rank(found) < _rank(before):
            held[key] = found
    return held


def _rank(held: p.HeldDevice) -> tuple[bool, str]:
    """A device on a subscription of the program before one on none; then the first by id."""
    return (not held.subscription_id, held.subscription_id)


def _existing(conn: Connection, program_event_id: str, keys: list[p.Key]) -> dict[p.Key, str]:
    """The participations the program event holds for these keys, by key."""
    if not keys:
        return {}
    rows = conn.execute(
        sa.select(ep.c.head_end_system, ep.c.nic_id, ep.c.id).where(
            ep.c.program_event_id == program_event_id,
            of_keys(ep.c.head_end_system, ep.c.nic_id, keys),
        )
    )
    return {(r.head_end_system, r.nic_id): r.id for r in rows}


# -- reads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptOutView:
    """A participation's opt-out, and what DERMS holds of it."""

    at: str
    channel: p.OptOutChannel
    by: str
    reason: str
    #: The version cpm sent last (OPT-OUT).
    version: int
    #: The version DERMS acknowledged last (0: none yet).
    derms_version: int
    #: None when never sent.
    derms_sync: DermsSync | None
    #: DERMS's (or the hub's) code and message when it refused the version; "" otherwise.
    derms_detail: str


@dataclass(frozen=True)
class ParticipationView:
    participation_id: str
    program_event_id: str
    #: The program event's stage, DERMS event, program, state and category.
    external_identifier: str
    event_external_identifier: str
    program_code: str
    program_event_state: m.ProgramEventState
    program_event_category: m.ProgramEventCategory
    device_id: str
    subscription_id: str
    head_end_system: str
    nic_id: str
    reservation_start: str
    reservation_end: str
    state: p.ParticipationState
    reserved: bool
    outcome: p.ParticipationOutcome | None
    preemptive_opt_out: bool
    created_at: str
    updated_at: str
    #: None unless opted out.
    opt_out: OptOutView | None = None
    #: Its program event's opt-out cut-off while Reserved; None otherwise.
    cutoff: p.Cutoff | None = None
    #: What came with its outcome (EVT-OUTCOME); None until one is recorded.
    outcome_detail: OutcomeDetail | None = None


@dataclass(frozen=True)
class OutcomeDetail:
    """What EVT-OUTCOME brought with a participation's outcome."""

    error_message: str
    participation_start: str | None
    participation_end: str | None
    measured_kw: float | None
    recorded_at: str
    file_name: str


@dataclass(frozen=True)
class ParticipationFilter:
    """What a list of participations is narrowed by; "" or None: any."""

    device_id: str = ""
    head_end_system: str = ""
    nic_id: str = ""
    subscription_id: str = ""
    state: p.ParticipationState | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        c = ep.c
        return [
            column == wanted
            for column, wanted in (
                (c.device_id, self.device_id),
                (c.head_end_system, self.head_end_system),
                (c.nic_id, self.nic_id),
                (c.subscription_id, self.subscription_id),
                (c.state, self.state.value if self.state else ""),
            )
            if wanted
        ]

    @property
    def names_a_device(self) -> bool:
        """Whether it names what a device's event history is read for: a device, a NIC id or
        a subscription."""
        return bool(self.device_id or self.nic_id or self.subscription_id)


@dataclass(frozen=True)
class Page:
    items: list[ParticipationView]
    #: Pass as ``after`` to read the next page (the last item's id); None on the last page.
    next: str | None


READ = sa.select(
    ep,
    pe.c.external_identifier,
    pe.c.event_external_identifier,
    pe.c.program_code,
    pe.c.state.label("program_event_state"),
    pe.c.category,
    pe.c.start_at.label("program_event_start_at"),
).select_from(ep.join(pe, pe.c.id == ep.c.program_event_id))


def participations_of_event(
    *,
    db: Database,
    zone: tzinfo,
    program_event_id: str,
    narrowed: ParticipationFilter,
    after: str | None = None,
    limit: int = 100,
) -> Page:
    """A page of a program event's participations in device key order (head-end system, NIC
    id); 404 CPM-PROGRAM-EVENT-UNKNOWN for no such program event. ``zone`` is the utility's,
    whose days the rules of the cut-off are in effect on."""
    order = (ep.c.head_end_system, ep.c.nic_id)
    with db.read() as conn:
        found = conn.execute(sa.select(pe.c.id).where(pe.c.id == program_event_id)).first()
        if found is None:
            raise NotFound(f"no program event {program_event_id!r}", code=m.PROGRAM_EVENT_UNKNOWN)
        query = READ.where(ep.c.program_event_id == program_event_id, *narrowed.conditions())
        return _page(conn, zone, query, order, after, limit, descending=False)


def event_history(
    *,
    db: Database,
    zone: tzinfo,
    narrowed: ParticipationFilter,
    after: str | None = None,
    limit: int = 100,
) -> Page:
    """A page of the participations of a device (by its id, its NIC id, or its subscription),
    the newest reservation first."""
    order = (ep.c.reservation_start_at, ep.c.id)
    with db.read() as conn:
        query = READ.where(*narrowed.conditions())
        return _page(conn, zone, query, order, after, limit, descending=True)


def _page(
    conn: Connection,
    zone: tzinfo,
    query: sa.Select[Any],
    order: tuple[sa.ColumnElement[str], sa.ColumnElement[str]],
    after: str | None,
    limit: int,
    *,
    descending: bool,
) -> Page:
    """One keyset page of ``query`` in ``order`` (the last column unique within the list),
    after the participation ``after`` names; an id that names no participation reads nothing."""
    if after:
        last = conn.execute(sa.select(*order).where(ep.c.id == after)).first()
        if last is None:
            return Page([], None)
        position = sa.tuple_(*order), sa.tuple_(*last)
        query = query.where(position[0] < position[1] if descending else position[0] > position[1])
    ordered = [c.desc() for c in order] if descending else list(order)
    rows = conn.execute(query.order_by(*ordered).limit(limit + 1)).all()
    items = with_cutoffs(conn, zone, rows[:limit])
    return Page(items, items[-1].participation_id if len(rows) > limit else None)


def with_cutoffs(
    conn: Connection, zone: tzinfo, rows: Sequence[Row[Any]]
) -> list[ParticipationView]:
    """The participations of ``rows`` (``READ``'s), each Reserved one with its program event's
    opt-out cut-off: one read of the rules of their programs."""
    rules = rules_of(conn, {r.program_code for r in rows if r.state == _RESERVED_STATE})
    return [
        replace(view(r), cutoff=cutoff_of(r, rules, zone))
        if r.state == _RESERVED_STATE
        else view(r)
        for r in rows
    ]


def cutoff_of(row: Row[Any], rules: Mapping[str, Sequence[p.CutoffRule]], zone: tzinfo) -> p.Cutoff:
    """The opt-out cut-off of a ``READ`` row's program event, by its program's ``rules``."""
    start = datetime.fromisoformat(row.program_event_start_at)
    return p.opt_out_cutoff(start, rules.get(row.program_code, ()), zone)


def rules_of(conn: Connection, program_codes: Iterable[str]) -> Mapping[str, list[p.CutoffRule]]:
    """What the opt-out cut-off reads of the rules linked to these programs, by program."""
    codes = sorted(set(program_codes))
    if not codes:
        return {}
    r = program_rules.c
    found: dict[str, list[p.CutoffRule]] = defaultdict(list)
    for row in conn.execute(
        sa.select(r.program_code, r.effective_from, r.effective_to, r.opt_out_cutoff_min).where(
            r.program_code.in_(codes)
        )
    ):
        found[row.program_code].append(
            p.CutoffRule(
                date.fromisoformat(row.effective_from),
                date.fromisoformat(row.effective_to) if row.effective_to else None,
                row.opt_out_cutoff_min,
            )
        )
    return found


def view(row: Row[Any]) -> ParticipationView:
    """A participation of a ``READ`` row, without its cut-off."""
    return ParticipationView(
        participation_id=row.id,
        program_event_id=row.program_event_id,
        external_identifier=row.external_identifier,
        event_external_identifier=row.event_external_identifier,
        program_code=row.program_code,
        program_event_state=m.ProgramEventState(row.program_event_state),
        program_event_category=m.ProgramEventCategory(row.category),
        device_id=row.device_id,
        subscription_id=row.subscription_id,
        head_end_system=row.head_end_system,
        nic_id=row.nic_id,
        reservation_start=row.reservation_start_at,
        reservation_end=row.reservation_end_at,
        state=p.ParticipationState(row.state),
        reserved=row.reserved,
        outcome=p.ParticipationOutcome(row.outcome) if row.outcome else None,
        preemptive_opt_out=row.preemptive_opt_out,
        created_at=row.created_at,
        updated_at=row.updated_at,
        opt_out=_opt_out(row),
        outcome_detail=(
            OutcomeDetail(row.outcome_error, row.participation_start_at, row.participation_end_at,
                          row.measured_kw, row.outcome_at, row.outcome_file)
            if row.outcome_at is not None
            else None
        ),
    )  # fmt: skip


def _opt_out(row: Row[Any]) -> OptOutView | None:
    if row.opted_out_at is None:
        return None
    return OptOutView(
        at=row.opted_out_at,
        channel=p.OptOutChannel(row.opt_out_channel),
        by=row.opt_out_by,
        reason=row.opt_out_reason,
        version=row.opt_out_version,
        derms_version=row.derms_version,
        derms_sync=DermsSync(row.derms_sync) if row.derms_sync else None,
        derms_detail=row.derms_detail,
    )
