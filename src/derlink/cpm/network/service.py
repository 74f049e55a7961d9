"""NET-LOC in cpm: DERMS's network location files taken in, each service point's locations
kept as effective-dated rows, and read back.

:class:`NetLocFiles` is the NET-LOC file as a file kind of the platform's file-intake machinery
(``NETLOC_`` in cpm's object storage, where the hub copies it; ``NETLOC_ACK_<name>`` on cpm's
content server). Per file, a :class:`NetLocFileWork` checks the rows (model.check_row) and
stores each batch: a service point cpm does not hold is a rejected row naming it; each
location is placed among the service point's (common/effective.py), so that the same location
again adds no row and a change closes the row before it on the new row's EffectiveFrom. A file
taken again after a crash comes out the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.common.clock import Clock
from derlink.common.effective import REFUSED, Placed, Version
from derlink.common.errors import NotFound
from derlink.contracts.network_files import ACK_HEADER, NETLOC_ACK_PREFIX, NETLOC_PREFIX
from derlink.cpm.catalog.tables import service_points
from derlink.cpm.db import file_claims
from derlink.cpm.network import model as nl
from derlink.cpm.network.tables import network_locations
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
from derlink.platform.intake.records import RowReject
from derlink.platform.intake.refusals import RefusalReport
from derlink.platform.versions import VersionedTable, VersionWrites

#: The claims' source of the NET-LOC files: the flow that brings them.
SOURCE = "NET-LOC"

SPEC = IntakeSpec(
    source=SOURCE,
    prefix=NETLOC_PREFIX,
    header=nl.HEADER,
    output_prefix=NETLOC_ACK_PREFIX,
    output_header=ACK_HEADER,
    codes=IntakeCodes.named("NL"),
)


class NetLocFiles:
    """The NET-LOC file as a file kind of the intake machinery."""

    spec = SPEC

    def __init__(self, db: Database, clock: Clock) -> None:
        self.clock = clock
        paramstyle = db.engine.dialect.paramstyle
        self.locations = VersionedTable(
            paramstyle,
            "network_locations",
            "cis_service_point_id",
            ("transformer_id", "feeder_id", "substation_id"),
            ("service_point_id", "updated_at", "source_file"),
        )

    def new_file(self, name: str) -> FileWork:
        return NetLocFileWork(self, name)

    def refused_row(self, reject: RowReject) -> Sequence[Any]:
        return nl.rejected_row(reject)

    def keys(self, fields: Sequence[str]) -> tuple[str, ...]:
        return nl.row_keys(fields)


class NetLocFileWork:
    """One NET-LOC file: its rows checked, then stored batch by batch."""

    def __init__(self, kind: NetLocFiles, name: str) -> None:
        self.kind = kind
        self.name = name

    def check(
        self, rows: Sequence[tuple[int, list[str] | RowReject]]
    ) -> list[Accepted | RowReject]:
        return [f if isinstance(f, RowReject) else nl.check_row(n, f) for n, f in rows]

    def store(self, conn: Connection, rows: Sequence[Accepted]) -> Mapping[int, Any]:
        """Place each row's location in file order; its outcome, or why it was refused."""
        located = cast(Sequence[nl.LocationRow], rows)
        kind = self.kind
        known, timelines = kind.locations.owned_timelines(
            conn, (r.sp_id for r in located), "service_points", "cis_service_point_id", "id"
        )
        writes = VersionWrites()
        now = kind.clock.now().isoformat()
        notes: dict[int, Placed | RowReject] = {}
        for r in located:
            if r.sp_id not in known:
                notes[r.row_number] = nl.unknown_sp(r)
                continue
            placement = timelines[r.sp_id].place(r.effective_from, r.effective_to, r.location)
            if placement.outcome in REFUSED:
                notes[r.row_number] = nl.placement_problem(r, placement)
                continue
            writes.add(r.sp_id, placement, (known[r.sp_id], now, self.name))
            notes[r.row_number] = placement.outcome
        kind.locations.write(conn, writes)
        return notes

    def output_rows(
        self, rows: Sequence[Accepted | RowReject], notes: Mapping[int, Any]
    ) -> list[Sequence[Any]]:
        return output_rows(
            rows,
            notes,
            accepted=lambda r, note: nl.accepted_row(r, note),
            rejected=nl.rejected_row,
        )


def netloc_intake(
    db: Database,
    clock: Clock,
    storage: FileStore,
    content: FileStore,
    max_file_bytes: int,
    *,
    refused: RefusalReport | None = None,
) -> FileIntake:
    """The intake of NET-LOC files: from cpm's object storage (``storage``), acks to its content
    server (``content``), claims in cpm's database."""
    return FileIntake(
        NetLocFiles(db, clock),
        db=db,
        claims=FileClaims(db, file_claims, clock),
        source=storage,
        output=content,
        max_file_bytes=max_file_bytes,
        refused=refused,
    )


def location_history(*, db: Database, cis_service_point_id: str) -> list[Version]:
    """Every network location of a service point, oldest first (value: transformer, feeder,
    substation); NotFound when cpm holds no such service point."""
    loc, sp = network_locations, service_points
    with db.read() as conn:
        held = conn.execute(
            sa.select(sp.c.id).where(sp.c.cis_service_point_id == cis_service_point_id)
        ).first()
        if held is None:
            raise NotFound(f"cpm holds no service point {cis_service_point_id}")
        rows = conn.execute(
            sa.select(
                loc.c.effective_from,
                loc.c.effective_to,
                loc.c.transformer_id,
                loc.c.feeder_id,
                loc.c.substation_id,
            )
            .where(loc.c.cis_service_point_id == cis_service_point_id)
            .order_by(loc.c.effective_from)
        ).all()
    return [Version(r[0], r[1], (r[2], r[3], r[4])) for r in rows]
