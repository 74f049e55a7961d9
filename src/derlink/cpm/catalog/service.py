"""The catalog's services: programs, aggregators, and the master data loaded from the CIS.

Enrollment needs its master data to exist already (account, premise, service point); the CIS
load puts it here in bulk, set-based: one upsert statement per kind, up to
``MAX_MASTER_DATA_RECORDS`` records a call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
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
    programs,
    service_points,
)
from derlink.cpm.errors import CpmBusinessError
from derlink.platform.database import Database

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
) -> ProgramView:
    """Create a program; its code is its identity and may not be taken twice."""
    values = {
        "id": new_id("PG-"),
        "code": code,
        "name": name,
        "program_type": program_type,
        "status": status.value,
        "eligible_specifications": orjson.dumps(sorted(set(eligible_specifications))).decode(),
        "settlement_method": settlement_method.value,
        "created_at": clock.now().isoformat(),
    }
    try:
        with db.begin() as conn:
            if conn.execute(sa.select(programs.c.id).where(programs.c.code == code)).first():
                raise _program_exists(code)
            conn.execute(programs.insert().values(values))
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
    )


# -- aggregators ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AggregatorView:
    aggregator_id: str
    code: str
    name: str
    status: m.AggregatorStatus
    created_at: str


def create_aggregator(
    *, db: Database, clock: Clock, code: str, name: str, status: m.AggregatorStatus
) -> AggregatorView:
    """Create an aggregator; its code may not be taken twice."""
    view = AggregatorView(new_id("AG-"), code, name, status, clock.now().isoformat())
    exists = Conflict(f"an aggregator with code {code!r} exists already", code=m.AGGREGATOR_EXISTS)
    try:
        with db.begin() as conn:
            if conn.execute(sa.select(aggregators.c.id).where(aggregators.c.code == code)).first():
                raise exists
            conn.execute(
                aggregators.insert().values(
                    id=view.aggregator_id,
                    code=code,
                    name=name,
                    status=status.value,
                    created_at=view.created_at,
                )
            )
    except IntegrityError:
        raise exists from None
    return view


def list_aggregators(*, db: Database) -> list[AggregatorView]:
    """Every aggregator, by code."""
    with db.read() as conn:
        rows = conn.execute(sa.select(aggregators).order_by(aggregators.c.code)).all()
    return [
        AggregatorView(r.id, r.code, r.name, m.AggregatorStatus(r.status), r.created_at)
        for r in rows
    ]


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
