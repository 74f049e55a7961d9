"""The catalog's services: programs, aggregators, and the master data loaded from the CIS.

Enrollment needs its master data to exist already (account, premise, service point); the CIS
load puts it here in bulk, set-based: one upsert statement per kind, up to
``MAX_MASTER_DATA_RECORDS`` records a call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from derlink.common.clock import Clock
from derlink.common.errors import Conflict, NotFound
from derlink.common.ids import new_id
from derlink.cpm.catalog import model as m
from derlink.cpm.catalog.tables import (
    accounts,
    aggregators,
    persons,
    premises,
    program_rules,
    programs,
    service_points,
)
from derlink.cpm.db import outbox
from derlink.cpm.errors import CpmBusinessError
from derlink.platform.database import Database
from derlink.platform.outbox import enqueue

# -- programs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgramView:
    program_id: str
    code: str
    name: str
    program_type: str
    status: m.ProgramStatus
    eligible_specifications: list[str]
    settlement_method: m.SettlementMethod
    created_at: str
    external_id: str
    sync: SyncView


@dataclass(frozen=True)
class SyncView:
    """What DERMS holds of a program's rules or of an aggregator (docs/contracts/master-data.md)."""

    #: The version cpm sent last (0: never sent).
    version: int
    #: The version DERMS acknowledged last.
    derms_version: int
    state: m.DermsSync
    #: DERMS's (or the hub's) code and message when it refused the version; "" otherwise.
    detail: str


def _sync_view(row: Row[Any]) -> SyncView:
    return SyncView(row.version, row.derms_version, m.DermsSync(row.derms_sync), row.derms_detail)


def create_program(
    *,
    db: Database,
    clock: Clock,
    code: str,
    name: str,
    program_type: str,
    status: m.ProgramStatus,
    eligible_specifications: Sequence[str],
    settlement_method: m.SettlementMethod,
    external_id: str = "",
) -> ProgramView:
    """Create a program; its code is its identity and may not be taken twice. An Active
    program goes to DERMS at once (with no rules yet)."""
    values = {
        "id": new_id("PG-"),
        "code": code,
        "name": name,
        "program_type": program_type,
        "status": status.value,
        "eligible_specifications": orjson.dumps(sorted(set(eligible_specifications))).decode(),
        "settlement_method": settlement_method.value,
        "created_at": clock.now().isoformat(),
        "external_id": external_id,
        "version": 0,
        "derms_version": 0,
        "derms_sync": m.DermsSync.NONE.value,
        "derms_detail": "",
    }
    try:
        with db.begin() as conn:
            if conn.execute(sa.select(programs.c.id).where(programs.c.code == code)).first():
                raise _program_exists(code)
            conn.execute(programs.insert().values(values))
            _send_rules(conn, clock, code)
    except IntegrityError:
        raise _program_exists(code) from None
    return get_program(db=db, code=code)


def _program_exists(code: str) -> Conflict:
    return Conflict(f"a program with code {code!r} exists already", code=m.PROGRAM_EXISTS)


def list_programs(*, db: Database) -> list[ProgramView]:
    """Every program, by code."""
    with db.read() as conn:
        rows = conn.execute(sa.select(programs).order_by(programs.c.code)).all()
    return [_program_view(r) for r in rows]


def get_program(*, db: Database, code: str) -> ProgramView:
    """One program by its code."""
    with db.read() as conn:
        row = conn.execute(sa.select(programs).where(programs.c.code == code)).first()
    if row is None:
        raise NotFound(f"no program with code {code!r}", code=m.PROGRAM_UNKNOWN)
    return _program_view(row)


def _program_view(row: Row[Any]) -> ProgramView:
    return ProgramView(
        program_id=row.id,
        code=row.code,
        name=row.name,
        program_type=row.program_type,
        status=m.ProgramStatus(row.status),
        eligible_specifications=list(orjson.loads(row.eligible_specifications)),
        settlement_method=m.SettlementMethod(row.settlement_method),
        created_at=row.created_at,
        external_id=row.external_id,
        sync=_sync_view(row),
    )


def update_program(
    *,
    db: Database,
    clock: Clock,
    code: str,
    name: str | None = None,
    status: m.ProgramStatus | None = None,
    external_id: str | None = None,
) -> ProgramView:
    """Change a program's name, status or external id. A program that is (or becomes)
    Active sends its rules to DERMS when its status or external id changes; one that stops
    being Active sends that once, so DERMS plans no more events for it."""
    changes = {
        k: v
        for k, v in (("name", name), ("status", status and status.value), ("external_id",
                                                                          external_id))
        if v is not None
    }  # fmt: skip
    with db.begin() as conn:
        row = _program_row(conn, code)
        if not changes:
            return _program_view(row)
        conn.execute(programs.update().where(programs.c.code == code).values(changes))
        if any(getattr(row, k) != v for k, v in changes.items() if k != "name"):
            left_active = (
                row.status == m.ProgramStatus.ACTIVE.value != changes.get("status", row.status)
            )
            _send_rules(conn, clock, code, even_if_not_active=left_active)
    return get_program(db=db, code=code)


def _program_row(conn: Connection, code: str) -> Row[Any]:
    row = conn.execute(sa.select(programs).where(programs.c.code == code)).first()
    if row is None:
        raise NotFound(f"no program with code {code!r}", code=m.PROGRAM_UNKNOWN)
    return row


# -- program rules --------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleView:
    rule_id: str
    program_code: str
    rule: m.ProgramRule
    updated_at: str


def list_rules(*, db: Database, code: str) -> list[RuleView]:
    """The rules linked to a program, by the day they take effect."""
    with db.read() as conn:
        _program_row(conn, code)
        rows = conn.execute(
            sa.select(program_rules)
            .where(program_rules.c.program_code == code)
            .order_by(program_rules.c.effective_from, program_rules.c.id)
        ).all()
    return [_rule_view(r) for r in rows]


def link_rule(*, db: Database, clock: Clock, code: str, rule: m.ProgramRule) -> RuleView:
    """Link a new rule to a program; an Active program sends its rules to DERMS."""
    m.check_rule(rule)
    rule_id = new_id("PR-")
    at = clock.now().isoformat()
    with db.begin() as conn:
        _program_row(conn, code)
        linked = conn.execute(
            sa.select(sa.func.count()).where(program_rules.c.program_code == code)
        ).scalar_one()
        if linked >= m.MAX_RULES_PER_PROGRAM:
            raise CpmBusinessError(
                f"program {code!r} holds {linked} rules, the most a program may hold",
                code=m.RULE_TOO_MANY,
            )
        conn.execute(
            program_rules.insert().values(
                id=rule_id, program_code=code, updated_at=at, **_rule_columns(rule)
            )
        )
        _send_rules(conn, clock, code)
    return RuleView(rule_id, code, rule, at)


def change_rule(
    *, db: Database, clock: Clock, code: str, rule_id: str, rule: m.ProgramRule
) -> RuleView:
    """Replace a linked rule's terms; an Active program sends its rules to DERMS."""
    m.check_rule(rule)
    at = clock.now().isoformat()
    with db.begin() as conn:
        _rule_row(conn, code, rule_id)
        conn.execute(
            program_rules.update()
            .where(program_rules.c.id == rule_id)
            .values(updated_at=at, **_rule_columns(rule))
        )
        _send_rules(conn, clock, code)
    return RuleView(rule_id, code, rule, at)


def unlink_rule(*, db: Database, clock: Clock, code: str, rule_id: str) -> None:
    """Unlink a rule from a program; an Active program sends its rules to DERMS."""
    with db.begin() as conn:
        _rule_row(conn, code, rule_id)
        conn.execute(program_rules.delete().where(program_rules.c.id == rule_id))
        _send_rules(conn, clock, code)


def _rule_row(conn: Connection, code: str, rule_id: str) -> Row[Any]:
    _program_row(conn, code)
    row = conn.execute(
        sa.select(program_rules).where(
            program_rules.c.id == rule_id, program_rules.c.program_code == code
        )
    ).first()
    if row is None:
        raise NotFound(f"program {code!r} has no rule {rule_id!r}", code=m.RULE_UNKNOWN)
    return row


def _rule_columns(rule: m.ProgramRule) -> dict[str, Any]:
    return {
        "effective_from": rule.effective_from.isoformat(),
        "effective_to": rule.effective_to.isoformat() if rule.effective_to else None,
        "allow_event_days": orjson.dumps(list(rule.allow_event_days)).decode(),
        "window_start": rule.window_start,
        "window_end": rule.window_end,
        "min_event_duration_min": rule.min_event_duration_min,
        "max_event_duration_min": rule.max_event_duration_min,
        "max_events_per_cycle": rule.max_events_per_cycle,
        "cycle_frequency": rule.cycle_frequency,
        "max_overrides_per_cycle": rule.max_overrides_per_cycle,
        "opt_out_cutoff_min": rule.opt_out_cutoff_min,
        "min_rest_min": rule.min_rest_min,
        "overridable": rule.overridable,
    }


def _rule_view(row: Row[Any]) -> RuleView:
    rule = m.ProgramRule(
        effective_from=date.fromisoformat(row.effective_from),
        effective_to=date.fromisoformat(row.effective_to) if row.effective_to else None,
        allow_event_days=tuple(orjson.loads(row.allow_event_days)),
        window_start=row.window_start,
        window_end=row.window_end,
        min_event_duration_min=row.min_event_duration_min,
        max_event_duration_min=row.max_event_duration_min,
        max_events_per_cycle=row.max_events_per_cycle,
        cycle_frequency=row.cycle_frequency,
        max_overrides_per_cycle=row.max_overrides_per_cycle,
        opt_out_cutoff_min=row.opt_out_cutoff_min,
        min_rest_min=row.min_rest_min,
        overridable=row.overridable,
    )
    return RuleView(row.id, row.program_code, rule, row.updated_at)


def rule_payload(view: RuleView) -> dict[str, Any]:
    """A rule as PROG-RULE carries it (docs/contracts/master-data.md)."""
    r = view.rule
    return {
        "ruleId": view.rule_id,
        "effectiveFrom": r.effective_from.isoformat(),
        "effectiveTo": r.effective_to.isoformat() if r.effective_to else None,
        "allowEventDays": list(r.allow_event_days),
        "windowStart": r.window_start,
        "windowEnd": r.window_end,
        "minEventDurationMin": r.min_event_duration_min,
        "maxEventDurationMin": r.max_event_duration_min,
        "maxEventsPerCycle": r.max_events_per_cycle,
        "cycleFrequency": r.cycle_frequency,
        "maxOverridesPerCycle": r.max_overrides_per_cycle,
        "optOutCutoffMin": r.opt_out_cutoff_min,
        "minRestMin": r.min_rest_min,
        "overridable": r.overridable,
    }


def _send_rules(
    conn: Connection, clock: Clock, code: str, *, even_if_not_active: bool = False
) -> None:
    """When the program is Active (or has just stopped being): its next rule version, with
    every linked rule, written to the outbox for PROG-RULE in the caller's transaction.
    Otherwise nothing goes."""
    program = _program_row(conn, code)
    if program.status != m.ProgramStatus.ACTIVE.value and not even_if_not_active:
        return
    version = program.version + 1
    rows = conn.execute(
        sa.select(program_rules)
        .where(program_rules.c.program_code == code)
        .order_by(program_rules.c.effective_from, program_rules.c.id)
    ).all()
    message_id = new_id("PRM-")
    payload = {
        "dacsMessageId": message_id,
        "program": {
            "code": code,
            "externalId": program.external_id,
            "type": program.program_type,
            "status": program.status,
        },
        "version": version,
        "rules": [rule_payload(_rule_view(r)) for r in rows],
    }
    _mark_sent(conn, programs, code, version)
    enqueue(conn, outbox, flow=m.PROG_RULE, key=message_id, payload=payload, clock=clock)


def _mark_sent(conn: Connection, table: sa.Table, code: str, version: int) -> None:
    conn.execute(
        table.update()
        .where(table.c.code == code)
        .values(version=version, derms_sync=m.DermsSync.PENDING.value, derms_detail="")
    )


# -- aggregators ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AggregatorView:
    aggregator_id: str
    code: str
    name: str
    status: m.AggregatorStatus
    created_at: str
    details: m.AggregatorDetails
    updated_at: str | None
    sync: SyncView


def create_aggregator(
    *,
    db: Database,
    clock: Clock,
    code: str,
    name: str,
    status: m.AggregatorStatus,
    details: m.AggregatorDetails | None = None,
) -> AggregatorView:
    """Create an aggregator (its code may not be taken twice) and send it to DERMS."""
    details = m.check_aggregator(details or m.AggregatorDetails())
    exists = Conflict(f"an aggregator with code {code!r} exists already", code=m.AGGREGATOR_EXISTS)
    try:
        with db.begin() as conn:
            if conn.execute(sa.select(aggregators.c.id).where(aggregators.c.code == code)).first():
                raise exists
            conn.execute(
                aggregators.insert().values(
                    id=new_id("AG-"),
                    code=code,
                    name=name,
                    status=status.value,
                    created_at=clock.now().isoformat(),
                    **_details_columns(details),
                    version=0,
                    derms_version=0,
                    derms_sync=m.DermsSync.NONE.value,
                    derms_detail="",
                )
            )
            _send_aggregator(conn, clock, code)
    except IntegrityError:
        raise exists from None
    return get_aggregator(db=db, code=code)


def update_aggregator(
    *,
    db: Database,
    clock: Clock,
    code: str,
    name: str | None = None,
    status: m.AggregatorStatus | None = None,
    details: m.AggregatorDetails | None = None,
) -> AggregatorView:
    """Change an aggregator and send it to DERMS. Aggregators are never deleted: one that
    stops serving becomes Inactive."""
    if details is not None:
        m.check_aggregator(details)
    changes: dict[str, Any] = {"updated_at": clock.now().isoformat()}
    if name is not None:
        changes["name"] = name
    if status is not None:
        changes["status"] = status.value
    if details is not None:
        changes.update(_details_columns(details))
    with db.begin() as conn:
        row = _aggregator_row(conn, code)
        if len(changes) == 1:  # nothing but the time: nothing changes, nothing goes
            return _aggregator_view(row)
        conn.execute(aggregators.update().where(aggregators.c.code == code).values(changes))
        _send_aggregator(conn, clock, code)
    return get_aggregator(db=db, code=code)


def list_aggregators(*, db: Database) -> list[AggregatorView]:
    """Every aggregator, by code."""
    with db.read() as conn:
        rows = conn.execute(sa.select(aggregators).order_by(aggregators.c.code)).all()
    return [_aggregator_view(r) for r in rows]


def get_aggregator(*, db: Database, code: str) -> AggregatorView:
    with db.read() as conn:
        return _aggregator_view(_aggregator_row(conn, code))


def _aggregator_row(conn: Connection, code: str) -> Row[Any]:
    row = conn.execute(sa.select(aggregators).where(aggregators.c.code == code)).first()
    if row is None:
        raise NotFound(f"no aggregator with code {code!r}", code=m.AGGREGATOR_UNKNOWN)
    return row


def _details_columns(details: m.AggregatorDetails) -> dict[str, Any]:
    return {
        "start_date": details.start_date.isoformat() if details.start_date else None,
        "end_date": details.end_date.isoformat() if details.end_date else None,
        "contact_name": details.contact_name,
        "contact_email": details.contact_email,
        "contact_phone": details.contact_phone,
        "external_reference_id": details.external_reference_id,
        "external_system": details.external_system,
        "programs": orjson.dumps(sorted(set(details.programs))).decode(),
    }


def _aggregator_view(row: Row[Any]) -> AggregatorView:
    details = m.AggregatorDetails(
        start_date=date.fromisoformat(row.start_date) if row.start_date else None,
        end_date=date.fromisoformat(row.end_date) if row.end_date else None,
        contact_name=row.contact_name,
        contact_email=row.contact_email,
        contact_phone=row.contact_phone,
        external_reference_id=row.external_reference_id,
        external_system=row.external_system,
        programs=tuple(orjson.loads(row.programs)),
    )
    return AggregatorView(
        row.id, row.code, row.name, m.AggregatorStatus(row.status), row.created_at, details,
        row.updated_at, _sync_view(row),
    )  # fmt: skip


def _send_aggregator(conn: Connection, clock: Clock, code: str) -> None:
    """The aggregator's next version written to the outbox for AGGREGATOR, in the caller's
    transaction (docs/contracts/master-data.md)."""
    view = _aggregator_view(_aggregator_row(conn, code))
    d = view.details
    version = view.sync.version + 1
    message_id = new_id("AGM-")
    payload = {
        "dacsMessageId": message_id,
        "code": code,
        "name": view.name,
        "status": view.status.value,
        "startDate": d.start_date.isoformat() if d.start_date else None,
        "endDate": d.end_date.isoformat() if d.end_date else None,
        "contact": {"name": d.contact_name, "email": d.contact_email, "phone": d.contact_phone},
        "externalReferenceId": d.external_reference_id,
        "externalSystem": d.external_system,
        "programs": list(d.programs),
        "version": version,
    }
    _mark_sent(conn, aggregators, code, version)
    enqueue(conn, outbox, flow=m.AGGREGATOR, key=message_id, payload=payload, clock=clock)


def send_again(*, db: Database, clock: Clock, kind: str, code: str) -> SyncView:
    """Send a program's rules (PROG-RULE) or an aggregator (AGGREGATOR) to DERMS again, as the
    next version: after a refusal whose cause is fixed elsewhere (a lookup value, DERMS's
    data). A program that is not Active has nothing to send (CPM-PROGRAM-INACTIVE)."""
    with db.begin() as conn:
        if kind == m.PROG_RULE:
            program = _program_row(conn, code)
            if program.status != m.ProgramStatus.ACTIVE.value:
                raise CpmBusinessError(
                    f"program {code!r} is {program.status}: only an Active program's rules go "
                    "to DERMS",
                    code=m.PROGRAM_INACTIVE,
                )
            _send_rules(conn, clock, code)
            return _sync_view(_program_row(conn, code))
        _aggregator_row(conn, code)
        _send_aggregator(conn, clock, code)
        return _sync_view(_aggregator_row(conn, code))


# -- DERMS's answers ------------------------------------------------------------------------


@dataclass(frozen=True)
class MasterDataAck:
    """DERMS's answer to one version of what cpm sent: a program's rules, an aggregator (by
    its code), an opt-out (by its participation's id)."""

    kind: str
    code: str
    version: int
    ok: bool
    error_code: str = ""
    message: str = ""


@dataclass(frozen=True)
class Versioned:
    """Where cpm keeps what DERMS holds of one kind of record it sends in versions: the table,
    its key column, the column of the version cpm sent last, and how an unknown key is said.
    The table holds ``derms_version``, ``derms_sync`` and ``derms_detail``."""

    table: sa.Table
    key: sa.ColumnElement[str]
    sent: sa.ColumnElement[int]
    #: ``"no program with code {!r}"``: formatted with the key.
    unknown: str


#: The master data cpm sends, by flow.
MASTER_DATA = {
    m.PROG_RULE: Versioned(
        programs, programs.c.code, programs.c.version, "no program with code {!r}"
    ),
    m.AGGREGATOR: Versioned(
        aggregators, aggregators.c.code, aggregators.c.version, "no aggregator with code {!r}"
    ),
}


def acknowledge(*, db: Database, acks: Sequence[MasterDataAck]) -> list[dict[str, Any]]:
    """Record DERMS's answers, one result each, in order (``record_answer``)."""
    with db.begin() as conn:
        return [record_answer(conn, MASTER_DATA[ack.kind], ack) for ack in acks]


def record_answers(
    *, db: Database, kept: Versioned, acks: Sequence[MasterDataAck]
) -> list[dict[str, Any]]:
    """Record DERMS's answers to versions of one kind of record (``kept``: opt-outs,
    unavailability periods), one result each, in order, in one transaction (``record_answer``)."""
    with db.begin() as conn:
        return [record_answer(conn, kept, ack) for ack in acks]


def record_answer(conn: Connection, kept: Versioned, ack: MasterDataAck) -> dict[str, Any]:
    """Record DERMS's answer to one version in the caller's transaction: ``Applied``; ``Stale``
    for a version older than the one cpm sent last (a newer one is on its way: the state stays
    Pending, and a success only raises the version DERMS is known to hold); ``Rejected`` for a
    key cpm does not hold."""
    table = kept.table
    row = conn.execute(sa.select(kept.sent.label("sent")).where(kept.key == ack.code)).first()
    result = {"kind": ack.kind, "code": ack.code, "version": ack.version}
    if row is None:
        return {**result, "outcome": "Rejected", "detail": kept.unknown.format(ack.code)}
    if ack.version < row.sent:
        if ack.ok:  # DERMS holds this older version; the latest is still on its way
            conn.execute(
                table.update()
                .where(kept.key == ack.code, table.c.derms_version < ack.version)
                .values(derms_version=ack.version)
            )
        return {**result, "outcome": "Stale", "detail": ""}
    values: dict[str, Any] = {
        "derms_sync": (m.DermsSync.SYNCHRONIZED if ack.ok else m.DermsSync.ERROR).value,
        "derms_detail": f"{ack.error_code}: {ack.message}" if not ack.ok else "",
    }
    if ack.ok:
        values["derms_version"] = ack.version
    conn.execute(table.update().where(kept.key == ack.code).values(values))
    return {**result, "outcome": "Applied", "detail": ""}


# -- master data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RejectedRecord:
    """A CIS record that was not loaded: its list, its position there, and why."""

    kind: str
    index: int
    cis_id: str
    reason: str


@dataclass(frozen=True)
class MasterDataResult:
    persons: int
    accounts: int
    premises: int
    service_points: int
    rejected: list[RejectedRecord]


def load_master_data(
    *,
    db: Database,
    clock: Clock,
    persons_in: Sequence[m.PersonRecord] = (),
    accounts_in: Sequence[m.AccountRecord] = (),
    premises_in: Sequence[m.PremiseRecord] = (),
    service_points_in: Sequence[m.ServicePointRecord] = (),
) -> MasterDataResult:
    """Upsert CIS persons, accounts, premises and service points by their CIS ids.

    Parents load before children in the same transaction; a record whose parent is known
    neither here nor in the call is rejected with its reason, and the others load.
    """
    total = len(persons_in) + len(accounts_in) + len(premises_in) + len(service_points_in)
    if total > m.MAX_MASTER_DATA_RECORDS:
        raise CpmBusinessError(
            f"{total} records in one call; the limit is {m.MAX_MASTER_DATA_RECORDS}",
            code=m.MASTER_DATA_TOO_LARGE,
        )
    stamp = clock.now().isoformat()
    rejected: list[RejectedRecord] = []
    with db.begin() as conn:
        n_persons = _upsert(conn, persons, "cis_person_id", "C-", persons_in, stamp)
        good_accounts = _with_known_parent(
            conn,
            "accounts",
            accounts_in,
            "cis_account_id",
            "cis_person_id",
            persons.c.cis_person_id,
            rejected,
        )
        n_accounts = _upsert(conn, accounts, "cis_account_id", "AC-", good_accounts, stamp)
        good_premises = _with_known_parent(
            conn,
            "premises",
            premises_in,
            "cis_premise_id",
            "cis_account_id",
            accounts.c.cis_account_id,
            rejected,
        )
        n_premises = _upsert(conn, premises, "cis_premise_id", "PM-", good_premises, stamp)
        good_points = _with_known_parent(
            conn,
            "servicePoints",
            service_points_in,
            "cis_service_point_id",
            "cis_premise_id",
            premises.c.cis_premise_id,
            rejected,
        )
        n_points = _upsert(conn, service_points, "cis_service_point_id", "SPX-", good_points, stamp)
    return MasterDataResult(n_persons, n_accounts, n_premises, n_points, rejected)


#: The wire names of the parent keys, for the reasons of rejected records.
_CIS_NAMES = {
    "cis_person_id": "cisPersonId",
    "cis_account_id": "cisAccountId",
    "cis_premise_id": "cisPremiseId",
}


def _with_known_parent(
    conn: Connection,
    kind: str,
    records: Sequence[Any],
    key: str,
    parent_key: str,
    parent_column: sa.Column[str],
    rejected: list[RejectedRecord],
) -> list[Any]:
    parent_label = _CIS_NAMES[parent_key]
    wanted = {getattr(r, parent_key) for r in records}
    if not wanted:
        return []
    known = set(conn.execute(sa.select(parent_column).where(parent_column.in_(wanted))).scalars())
    good = []
    for index, record in enumerate(records):
        parent = getattr(record, parent_key)
        if parent in known:
            good.append(record)
        else:
            rejected.append(
                RejectedRecord(
                    kind, index, getattr(record, key), f"unknown {parent_label} {parent!r}"
                )
            )
    return good


def _upsert(
    conn: Connection,
    table: sa.Table,
    key: str,
    id_prefix: str,
    records: Iterable[Any],
    stamp: str,
) -> int:
    # The last record of a CIS id wins; ON CONFLICT may not touch a row twice in one statement.
    by_key = {getattr(r, key): {**asdict(r), "updated_at": stamp} for r in records}
    if not by_key:
        return 0
    rows = [{"id": new_id(id_prefix), **values} for values in by_key.values()]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table)
    updated = [c for c in rows[0] if c not in ("id", key)]
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c[key]],
            set_={c: statement.excluded[c] for c in updated},
        ),
        rows,
    )
    return len(rows)
