"""Master data's use cases (docs/contracts/master-data.md): the hub's batches of program rules and
aggregators applied, and what derms holds of them read back.

A batch is one transaction; its records apply in order, each seeing the earlier ones, and each
gets one result. Writes of master data go one batch at a time (``one_writer``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from derlink.common.clock import Clock
from derlink.common.errors import NotFound
from derlink.derms.db import one_writer
from derlink.derms.masterdata import model
from derlink.derms.masterdata.tables import (
    aggregators,
    program_rule_versions,
    program_versions,
    programs,
)
from derlink.platform.database import Database

# The PostgreSQL advisory-lock key of master-data writes (the registry's are 1 to 3).
_MASTER_DATA_LOCK = 0x6465726D_0004


@dataclass(frozen=True, slots=True)
class Program:
    """A program as derms holds it: the newest version received and that version's rules."""

    code: str
    external_id: str
    program_type: str
    status: str
    version: int
    received_at: str
    dacs_message_id: str
    rules: tuple[model.Rule, ...]


@dataclass(frozen=True, slots=True)
class HeldAggregator:
    """An aggregator at the newest version derms holds, and when that version came."""

    aggregator: model.Aggregator
    received_at: str


# --- Writes ----------------------------------------------------------------------------------


def apply_program_rules(
    *, db: Database, clock: Clock, records: Sequence[model.ProgramRules]
) -> list[model.Result]:
    """Keep each newer version of a program's rules; one result per record, in order."""
    return _apply(db, clock, programs, records, model.program_problem, _store_program)


def apply_aggregators(
    *, db: Database, clock: Clock, records: Sequence[model.Aggregator]
) -> list[model.Result]:
    """Keep each newer version of an aggregator; one result per record, in order."""
    return _apply(db, clock, aggregators, records, model.aggregator_problem, _store_aggregator)


Record = TypeVar("Record", model.ProgramRules, model.Aggregator)


def _apply(
    db: Database,
    clock: Clock,
    table: sa.Table,
    records: Sequence[Record],
    problem: Callable[[Record], model.Rejection | None],
    store: Callable[[Connection, Record, str, bool], None],
) -> list[model.Result]:
    """Judge each record against the version ``table`` holds of its code (and the records
    before it), storing the Applied ones with ``store``; one transaction."""
    with db.begin() as conn:
        one_writer(conn, _MASTER_DATA_LOCK)
        held = _held_versions(conn, table, {r.code for r in records})
        at = clock.now().isoformat()
        results = []
        for record in records:
            result = model.judge(
                record.code, record.version, held=held.get(record.code), problem=problem(record)
            )
            if result.outcome is model.Outcome.APPLIED:
                store(conn, record, at, record.code in held)
                held[record.code] = record.version
            results.append(result)
    return results


def _held_versions(conn: Connection, table: sa.Table, codes: set[str]) -> dict[str, int]:
    """The version derms holds of each of ``codes`` it holds."""
    rows = conn.execute(sa.select(table.c.code, table.c.version).where(table.c.code.in_(codes)))
    return {row.code: row.version for row in rows}


def upsert(
    conn: Connection, table: sa.Table, row: dict[str, Any], *, known: bool, key: str = "code"
) -> None:
    """Write the newest version of a record kept by ``key``: an update of the row held when
    ``known``, else an insert."""
    if known:
        conn.execute(table.update().where(table.c[key] == row[key]).values(row))
    else:
        conn.execute(table.insert().values(row))


def _store_program(conn: Connection, record: model.ProgramRules, at: str, known: bool) -> None:
    program = {
        "code": record.code,
        "external_id": record.external_id,
        "program_type": record.program_type,
        "status": record.status,
        "version": record.version,
        "received_at": at,
        "dacs_message_id": record.dacs_message_id,
    }
    upsert(conn, programs, program, known=known)
    conn.execute(
        program_versions.insert().values(
            program_code=record.code,
            version=record.version,
            received_at=at,
            dacs_message_id=record.dacs_message_id,
        )
    )
    if record.rules:
        conn.execute(
            program_rule_versions.insert(),
            [_rule_row(record.code, record.version, rule, at) for rule in record.rules],
        )


def _rule_row(code: str, version: int, rule: model.Rule, at: str) -> dict[str, Any]:
    return {
        "program_code": code,
        "version": version,
        "rule_id": rule.rule_id,
        "effective_from": rule.effective_from.isoformat(),
        "effective_to": _iso(rule.effective_to),
        "allow_event_days": orjson.dumps(rule.allow_event_days).decode(),
        "window_start": f"{rule.window_start:%H:%M}",
        "window_end": f"{rule.window_end:%H:%M}",
        "min_event_duration_min": rule.min_event_duration_min,
        "max_event_duration_min": rule.max_event_duration_min,
        "max_events_per_cycle": rule.max_events_per_cycle,
        "cycle_frequency": rule.cycle_frequency,
        "max_overrides_per_cycle": rule.max_overrides_per_cycle,
        "opt_out_cutoff_min": rule.opt_out_cutoff_min,
        "min_rest_min": rule.min_rest_min,
        "overridable": rule.overridable,
        "received_at": at,
    }


def _store_aggregator(conn: Connection, record: model.Aggregator, at: str, known: bool) -> None:
    row = {
        "code": record.code,
        "name": record.name,
        "status": record.status.value,
        "start_date": _iso(record.start_date),
        "end_date": _iso(record.end_date),
        "contact_name": record.contact_name,
        "contact_email": record.contact_email,
        "contact_phone": record.contact_phone,
        "external_reference_id": record.external_reference_id,
        "external_system": record.external_system,
        "programs": orjson.dumps(record.programs).decode(),
        "version": record.version,
        "received_at": at,
        "dacs_message_id": record.dacs_message_id,
    }
    upsert(conn, aggregators, row, known=known)


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


# --- Program reads ---------------------------------------------------------------------------


def list_programs(*, db: Database) -> list[Program]:
    """Every program derms holds, by code, with the rules of the version it holds."""
    with db.read() as conn:
        rows = conn.execute(sa.select(programs).order_by(programs.c.code)).all()
        current = sa.and_(
            program_rule_versions.c.program_code == programs.c.code,
            program_rule_versions.c.version == programs.c.version,
        )
        rules = _rules_by_version(conn, sa.select(program_rule_versions).join(programs, current))
    return [_program(row, rules.get((row.code, row.version), ())) for row in rows]


def get_program(*, db: Database, code: str) -> Program:
    """One program, with the rules of the version derms holds."""
    with db.read() as conn:
        row = _program_row(conn, code)
        query = _rules_of(code).where(program_rule_versions.c.version == row.version)
        rules = _rules_by_version(conn, query)
    return _program(row, rules.get((code, row.version), ()))


def rule_versions(*, db: Database, code: str) -> list[model.RuleVersion]:
    """Every version of a program's rules derms received, oldest first."""
    with db.read() as conn:
        return _rule_versions(conn, code)


def rules_in_force(*, db: Database, code: str, planned_at: datetime, day: date) -> model.InForce:
    """The rules a stage of ``code`` planned at ``planned_at`` for ``day`` follows."""
    with db.read() as conn:
        return model.rules_in_force(_rule_versions(conn, code), planned_at, day)


def _rule_versions(conn: Connection, code: str) -> list[model.RuleVersion]:
    _program_row(conn, code)
    rules = _rules_by_version(conn, _rules_of(code))
    pv = program_versions.c
    rows = conn.execute(
        sa.select(pv.version, pv.received_at).where(pv.program_code == code).order_by(pv.version)
    )
    return [
        model.RuleVersion(
            version=row.version,
            received_at=datetime.fromisoformat(row.received_at),
            rules=rules.get((code, row.version), ()),
        )
        for row in rows
    ]


def _program_row(conn: Connection, code: str) -> Row[Any]:
    row = conn.execute(sa.select(programs).where(programs.c.code == code)).first()
    if row is None:
        raise NotFound(f"derms holds no rules of program {code!r}")
    return row


def _rules_of(code: str) -> sa.Select[Any]:
    return sa.select(program_rule_versions).where(program_rule_versions.c.program_code == code)


def _rules_by_version(
    conn: Connection, query: sa.Select[Any]
) -> dict[tuple[str, int], tuple[model.Rule, ...]]:
    """The rules ``query`` finds, by (program code, version), each version's by effectiveFrom."""
    r = program_rule_versions.c
    found: dict[tuple[str, int], list[model.Rule]] = {}
    for row in conn.execute(query.order_by(r.effective_from, r.rule_id)):
        found.setdefault((row.program_code, row.version), []).append(_rule(row))
    return {key: tuple(rules) for key, rules in found.items()}


def _rule(row: Row[Any]) -> model.Rule:
    return model.Rule(
        rule_id=row.rule_id,
        effective_from=date.fromisoformat(row.effective_from),
        effective_to=_day(row.effective_to),
        allow_event_days=tuple(orjson.loads(row.allow_event_days)),
        window_start=time.fromisoformat(row.window_start),
        window_end=time.fromisoformat(row.window_end),
        min_event_duration_min=row.min_event_duration_min,
        max_event_duration_min=row.max_event_duration_min,
        max_events_per_cycle=row.max_events_per_cycle,
        cycle_frequency=row.cycle_frequency,
        max_overrides_per_cycle=row.max_overrides_per_cycle,
        opt_out_cutoff_min=row.opt_out_cutoff_min,
        min_rest_min=row.min_rest_min,
        overridable=row.overridable,
    )


def _program(row: Row[Any], rules: Iterable[model.Rule]) -> Program:
    return Program(
        code=row.code,
        external_id=row.external_id,
        program_type=row.program_type,
        status=row.status,
        version=row.version,
        received_at=row.received_at,
        dacs_message_id=row.dacs_message_id,
        rules=tuple(rules),
    )


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


# --- Aggregator reads ------------------------------------------------------------------------


def list_aggregators(*, db: Database) -> list[HeldAggregator]:
    """Every aggregator derms holds, Inactive ones included, by code."""
    with db.read() as conn:
        rows = conn.execute(sa.select(aggregators).order_by(aggregators.c.code)).all()
    return [_aggregator(row) for row in rows]


def get_aggregator(*, db: Database, code: str) -> HeldAggregator:
    with db.read() as conn:
        row = conn.execute(sa.select(aggregators).where(aggregators.c.code == code)).first()
    if row is None:
        raise NotFound(f"derms holds no aggregator {code!r}")
    return _aggregator(row)


def _aggregator(row: Row[Any]) -> HeldAggregator:
    record = model.Aggregator(
        dacs_message_id=row.dacs_message_id,
        code=row.code,
        name=row.name,
        status=model.AggregatorStatus(row.status),
        start_date=_day(row.start_date),
        end_date=_day(row.end_date),
        contact_name=row.contact_name,
        contact_email=row.contact_email,
        contact_phone=row.contact_phone,
        external_reference_id=row.external_reference_id,
        external_system=row.external_system,
        programs=tuple(orjson.loads(row.programs)),
        version=row.version,
    )
    return HeldAggregator(record, row.received_at)
