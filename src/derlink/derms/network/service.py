"""The network model's services: the model-export intake, the NET-LOC export, the reads the API
answers with and an operator's edit of a service point's location.

:class:`ModelFiles` is the model export as a file kind of the platform's file-intake machinery
(``NETMODEL_`` in DERMS's model store, ``NETMODEL_ACK_<name>`` on its content server). Per file,
a :class:`ModelFileWork` checks the rows (model.check_row) and stores each batch against the
model held: a node's Id keeps its kind, a parent must be a node of the parent's kind (held, or
stated earlier in the file), and each statement is placed among the versions held
(common/effective.py), so that a reload changes nothing and a changed location closes the old
version. :func:`write_netloc_export` streams every location in force on a day, with its
transformer's feeder and substation, to ``NETLOC_<time>.csv`` on the content server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.common.clock import Clock
from derlink.common.effective import Placed, Timeline, Version
from derlink.common.errors import BusinessError, NotFound
from derlink.contracts.network_files import (
    ACK_HEADER,
    MODEL_ACK_PREFIX,
    MODEL_PREFIX,
    NETLOC_HEADER,
    NETLOC_PREFIX,
)
from derlink.derms.db import one_writer
from derlink.derms.network import model as nm
from derlink.derms.network.tables import file_claims, network_nodes, service_point_locations
from derlink.platform.database import Database
from derlink.platform.files import FileStore
from derlink.platform.intake.claims import FileClaims
from derlink.platform.intake.driver import (
    Accepted,
    FileIntake,
    FileWork,
    IntakeCodes,
    IntakeSpec,
    output_rows,
)
from derlink.platform.intake.records import RowReject, csv_text
from derlink.platform.intake.refusals import RefusalReport
from derlink.platform.versions import VersionedTable, VersionWrites, pairs

#: The claims' source of the model exports.
SOURCE = "NET-MODEL"
#: The advisory lock of the network model's writes on PostgreSQL (derms.db.one_writer).
_LOCK = 0x4E45544D  # "NETM"
#: Locations per page of the export.
EXPORT_PAGE = 50_000

SPEC = IntakeSpec(
    source=SOURCE,
    prefix=MODEL_PREFIX,
    header=nm.HEADER,
    output_prefix=MODEL_ACK_PREFIX,
    output_header=ACK_HEADER,
    codes=IntakeCodes.named("NET"),
)


class NetworkSql:
    """The network model's two versioned tables, and the nodes' kinds."""

    def __init__(self, paramstyle: str) -> None:
        self.mark = "?" if paramstyle == "qmark" else "%s"
        self.nodes = VersionedTable(
            paramstyle,
            "network_nodes",
            "node_id",
            ("parent_id", "name"),
            ("kind", "updated_at", "source"),
        )
        self.locations = VersionedTable(
            paramstyle,
            "service_point_locations",
            "sp_id",
            ("transformer_id",),
            ("updated_at", "source"),
        )

    def kinds(self, conn: Connection, ids: set[str]) -> dict[str, str]:
        """The kind of each of ``ids`` that is a node held."""
        return pairs(
            conn,
            self.mark,
            "SELECT DISTINCT node_id, kind FROM network_nodes WHERE node_id IN ({marks})",
            ids,
        )


@dataclass
class _Batch:
    """One batch's statements: the timelines they are placed on and what they write."""

    nodes: dict[str, Timeline]
    locations: dict[str, Timeline]
    node_writes: VersionWrites
    location_writes: VersionWrites


class ModelFiles:
    """The network model export as a file kind of the intake machinery."""

    spec = SPEC

    def __init__(self, db: Database, clock: Clock) -> None:
        self.clock = clock
        self.sql = NetworkSql(db.engine.dialect.paramstyle)

    def new_file(self, name: str) -> FileWork:
        return ModelFileWork(self, name)

    def refused_row(self, reject: RowReject) -> Sequence[Any]:
        return nm.rejected_row(reject)

    def keys(self, fields: Sequence[str]) -> tuple[str, ...]:
        return nm.row_keys(fields)


class ModelFileWork:
    """One model export: its rows checked, then stored batch by batch against the model held."""

    def __init__(self, kind: ModelFiles, name: str) -> None:
        self.kind = kind
        self.name = name
        #: The kinds of the nodes met so far: held, or stated earlier in the file.
        self.kinds: dict[str, str] = {}

    def check(
        self, rows: Sequence[tuple[int, list[str] | RowReject]]
    ) -> list[Accepted | RowReject]:
        return [f if isinstance(f, RowReject) else nm.check_row(n, f) for n, f in rows]

    def store(self, conn: Connection, rows: Sequence[Accepted]) -> Mapping[int, Any]:
        """Place each row's statement in file order; its outcome, or why it was refused."""
        model_rows = cast(Sequence[nm.ModelRow], rows)
        sql = self.kind.sql
        one_writer(conn, _LOCK)
        named = {r.id for r in model_rows if r.kind != nm.SERVICE_POINT}
        named |= {r.parent_id for r in model_rows if r.parent_id}
        self.kinds.update(sql.kinds(conn, named - self.kinds.keys()))
        batch = _Batch(
            nodes=sql.nodes.timelines(
                conn, (r.id for r in model_rows if r.kind != nm.SERVICE_POINT)
            ),
            locations=sql.locations.timelines(
                conn, (r.id for r in model_rows if r.kind == nm.SERVICE_POINT)
            ),
            node_writes=VersionWrites(),
            location_writes=VersionWrites(),
        )
        now = self.kind.clock.now().isoformat()
        notes = {r.row_number: self._place(r, batch, now) for r in model_rows}
        sql.nodes.write(conn, batch.node_writes)
        sql.locations.write(conn, batch.location_writes)
        return notes

    def _place(self, row: nm.ModelRow, batch: _Batch, now: str) -> Placed | RowReject:
        parent = self.kinds.get(row.parent_id) if row.parent_id else None
        problem = nm.parent_problem(row, parent)
        extra: tuple[str, ...]
        if row.kind == nm.SERVICE_POINT:
            if problem is not None:
                return problem
            placement = batch.locations[row.id].place(row.effective_from, None, (row.parent_id,))
            what, writes, extra = f"service point {row.id}", batch.location_writes, (now, self.name)
        else:
            problem = nm.kind_problem(row, self.kinds.get(row.id)) or problem
            if problem is not None:
                return problem
            placement = batch.nodes[row.id].place(
                row.effective_from, None, (row.parent_id, row.name)
            )
            what = f"{row.kind.lower()} {row.id}"
            writes, extra = batch.node_writes, (row.kind, now, self.name)
        refused = nm.placement_problem(row.row_number, what, row.id, placement, row.effective_from)
        if refused is not None:
            return refused
        if row.kind != nm.SERVICE_POINT:
            self.kinds[row.id] = row.kind
        writes.add(row.id, placement, extra)
        return placement.outcome

    def output_rows(
        self, rows: Sequence[Accepted | RowReject], notes: Mapping[int, Any]
    ) -> list[Sequence[Any]]:
        return output_rows(
            rows,
            notes,
            accepted=lambda r, note: nm.accepted_row(r.row_number, r.id, note),
            rejected=nm.rejected_row,
        )


def model_intake(
    db: Database,
    clock: Clock,
    model_store: FileStore,
    content: FileStore,
    max_file_bytes: int,
    *,
    refused: RefusalReport | None = None,
) -> FileIntake:
    """The intake of model exports: from DERMS's model store, acks to its content server,
    claims in DERMS's database; ``refused`` hears of the entries that cannot be taken."""
    return FileIntake(
        ModelFiles(db, clock),
        db=db,
        claims=FileClaims(db, file_claims, clock),
        source=model_store,
        output=content,
        max_file_bytes=max_file_bytes,
        refused=refused,
    )


# -- an operator's edit ----------------------------------------------------------------------------


def set_location(
    *,
    db: Database,
    clock: Clock,
    sp_id: str,
    transformer_id: str,
    effective_from: str,
    actor: str,
) -> Placed:
    """Place the service point under a transformer from a day on; BusinessError (NET-PARENT,
    NET-CONFLICT, NET-LATE) when the model refuses it."""
    sql = NetworkSql(db.engine.dialect.paramstyle)
    row = nm.ModelRow(0, nm.SERVICE_POINT, sp_id, transformer_id, "", effective_from)
    with db.begin() as conn:
        one_writer(conn, _LOCK)
        parent = sql.kinds(conn, {transformer_id}).get(transformer_id)
        problem = nm.parent_problem(row, parent)
        timeline = sql.locations.timelines(conn, [sp_id])[sp_id]
        placement = timeline.place(effective_from, None, (transformer_id,))
        problem = problem or nm.placement_problem(
            0, f"service point {sp_id}", sp_id, placement, effective_from
        )
        if problem is not None:
            raise BusinessError(problem.reason, code=problem.code)
        writes = VersionWrites()
        writes.add(sp_id, placement, (clock.now().isoformat(), f"api:{actor}"))
        sql.locations.write(conn, writes)
    return placement.outcome


# -- reads -----------------------------------------------------------------------------------------


def in_force(table: sa.FromClause, on: str) -> sa.ColumnElement[bool]:
    """The versions of ``table`` in force on the day ``on`` (ISO text): [from, to)."""
    c = table.c
    return sa.and_(c.effective_from <= on, sa.or_(c.effective_to.is_(None), c.effective_to > on))


@dataclass(frozen=True)
class Node:
    node_id: str
    kind: str
    parent_id: str
    name: str
    effective_from: str
    effective_to: str | None


#: A node version's columns, in the order of :class:`Node`.
_NODE = sa.select(
    *(
        network_nodes.c[c]
        for c in ("node_id", "kind", "parent_id", "name", "effective_from", "effective_to")
    )
)


def _node(row: Any) -> Node:
    return Node(*row)


@dataclass(frozen=True)
class TreeNode:
    node: Node
    service_points: int
    children: list[TreeNode]


def tree(*, db: Database, on: str) -> list[TreeNode]:
    """The network in force on ``on``: substations → feeders → transformers, each with the
    number of service points under it."""
    n, loc = network_nodes, service_point_locations
    with db.read() as conn:
        nodes = [_node(r) for r in conn.execute(_NODE.where(in_force(n, on)).order_by(n.c.node_id))]
        counts: dict[str, int] = {
            str(r[0]): int(r[1])
            for r in conn.execute(
                sa.select(loc.c.transformer_id, sa.func.count())
                .where(in_force(loc, on))
                .group_by(loc.c.transformer_id)
            )
        }
    children: dict[str, list[Node]] = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)

    def grow(node: Node) -> TreeNode:
        below = [grow(child) for child in children.get(node.node_id, [])]
        held = counts.get(node.node_id, 0) + sum(b.service_points for b in below)
        return TreeNode(node, held, below)

    return [grow(s) for s in nodes if s.kind == nm.SUBSTATION]


@dataclass(frozen=True)
class NodeView:
    versions: list[Node]
    in_force: TreeNode | None


def node(*, db: Database, node_id: str, on: str) -> NodeView:
    """Every version of one node, and what is under it on ``on``; NotFound if DERMS holds none."""
    n = network_nodes
    with db.read() as conn:
        versions = [
            _node(r)
            for r in conn.execute(_NODE.where(n.c.node_id == node_id).order_by(n.c.effective_from))
        ]
    if not versions:
        raise NotFound(f"the network model holds no node {node_id}")
    found = _find(tree(db=db, on=on), node_id)
    return NodeView(versions, found)


def _find(nodes: list[TreeNode], node_id: str) -> TreeNode | None:
    for t in nodes:
        if t.node.node_id == node_id:
            return t
        found = _find(t.children, node_id)
        if found is not None:
            return found
    return None


def location_history(*, db: Database, sp_id: str) -> list[Version]:
    """Every version of a service point's location, oldest first; NotFound if none."""
    loc = service_point_locations
    with db.read() as conn:
        rows = conn.execute(
            sa.select(loc.c.effective_from, loc.c.effective_to, loc.c.transformer_id)
            .where(loc.c.sp_id == sp_id)
            .order_by(loc.c.effective_from)
        ).all()
    if not rows:
        raise NotFound(f"the network model holds no location of service point {sp_id}")
    return [Version(r[0], r[1], (r[2],)) for r in rows]


# -- the NET-LOC export ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    """An export written: its file and its rows."""

    file_name: str
    rows: int
    on: str


def _export_page(conn: Connection, on: str, after: str, limit: int) -> list[tuple[Any, ...]]:
    """Up to ``limit`` locations in force on ``on`` after service point ``after``, with the
    transformer's feeder and substation in force on that day: SPId, TransformerId, FeederId,
    SubstationId, EffectiveFrom (the latest start of the three versions), EffectiveTo."""
    loc, t, f = (
        service_point_locations,
        network_nodes.alias("t"),
        network_nodes.alias("f"),
    )
    query = (
        sa.select(
            loc.c.sp_id,
            loc.c.transformer_id,
            t.c.parent_id,
            f.c.parent_id,
            loc.c.effective_from,
            t.c.effective_from,
            f.c.effective_from,
            loc.c.effective_to,
        )
        .join(t, sa.and_(t.c.node_id == loc.c.transformer_id, in_force(t, on)))
        .join(f, sa.and_(f.c.node_id == t.c.parent_id, in_force(f, on)))
        .where(in_force(loc, on), loc.c.sp_id > after)
        .order_by(loc.c.sp_id)
        .limit(limit)
    )
    return [
        (r[0], r[1], r[2], r[3], max(r[4], r[5], r[6]), r[7] or "") for r in conn.execute(query)
    ]


async def _export_text(
    db: Database, on: str, counted: list[int], page: int
) -> AsyncIterator[bytes]:
    yield csv_text([], header=NETLOC_HEADER).encode()
    after = ""
    while True:

        def read(after: str = after) -> list[tuple[Any, ...]]:
            with db.read() as conn:
                return _export_page(conn, on, after, page)

        rows = await asyncio.to_thread(read)
        if not rows:
            return
        counted[0] += len(rows)
        after = rows[-1][0]
        yield (await asyncio.to_thread(csv_text, rows)).encode()


async def write_netloc_export(
    *, db: Database, clock: Clock, store: FileStore, page: int = EXPORT_PAGE
) -> Export:
    """Write every service point's location in force today (UTC) to ``NETLOC_<time>.csv`` on
    the content server, page by page; the store publishes it whole, or not at all."""
    now = clock.now()
    on = now.date().isoformat()
    name = f"{NETLOC_PREFIX}{now.strftime('%Y%m%dT%H%M%SZ')}.csv"
    counted = [0]
    await store.write(name, _export_text(db, on, counted, page))
    return Export(name, counted[0], on)
