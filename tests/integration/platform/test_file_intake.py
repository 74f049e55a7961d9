"""The file-intake machinery with a file kind of its own (meter readings), on SQLite and on
PostgreSQL: claims by checksum, rows validated in batches, rejects as data, the output written
atomically, the input renamed, a dead run's file taken over, durable holds."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.common.clock import FixedClock
from derlink.platform.database import Database, make_engine
from derlink.platform.files import LocalFolder
from derlink.platform.intake.claims import FileClaims, FileState, claims_table
from derlink.platform.intake.driver import (
    Accepted,
    FileIntake,
    FileWork,
    IntakeCodes,
    IntakeSpec,
)
from derlink.platform.intake.records import RowReject

metadata = sa.MetaData()
readings = sa.Table(
    "readings",
    metadata,
    sa.Column("meter", sa.String(40), primary_key=True),
    sa.Column("kwh", sa.Integer, nullable=False),
)
claims = claims_table(metadata)

SPEC = IntakeSpec(
    source="READINGS",
    prefix="READ_",
    header=("meter", "kwh"),
    output_prefix="ACK_",
    output_header=("row", "meter", "result", "code", "reason"),
    codes=IntakeCodes(empty="R-EMPTY", header="R-HEADER", size="R-SIZE", columns="R-COLUMNS",
                      encoding="R-UTF8"),
)  # fmt: skip


@dataclass(frozen=True)
class Reading:
    row_number: int
    meter: str
    kwh: int


class ReadingWork:
    """One file of readings: a kWh must be a number."""

    def check(
        self, rows: Sequence[tuple[int, list[str] | RowReject]]
    ) -> list[Accepted | RowReject]:
        out: list[Accepted | RowReject] = []
        for number, fields in rows:
            if isinstance(fields, RowReject):
                out.append(fields)
            elif not fields[1].isdigit():
                out.append(RowReject(number, "R-VALUE", "kwh is not a number", (fields[0],)))
            else:
                out.append(Reading(number, fields[0], int(fields[1])))
        return out

    def store(self, conn: Connection, rows: Sequence[Accepted]) -> Mapping[int, Any]:
        for row in rows:
            assert isinstance(row, Reading)
            conn.execute(readings.delete().where(readings.c.meter == row.meter))
            conn.execute(readings.insert().values(meter=row.meter, kwh=row.kwh))
        return {row.row_number: "stored" for row in rows}

    def output_rows(
        self, rows: Sequence[Accepted | RowReject], notes: Mapping[int, Any]
    ) -> list[Sequence[Any]]:
        out: list[Sequence[Any]] = []
        for row in rows:
            if isinstance(row, RowReject):
                out.append((row.row_number, *row.keys[:1], "REJECTED", row.code, row.reason))
            else:
                assert isinstance(row, Reading)
                out.append((row.row_number, row.meter, "ACCEPTED", "", notes.get(row.row_number)))
        return out


class Readings:
    spec = SPEC

    def new_file(self, name: str) -> FileWork:
        return ReadingWork()

    def refused_row(self, reject: RowReject) -> Sequence[Any]:
        return (reject.row_number, "", "REJECTED", reject.code, reject.reason)

    def keys(self, fields: Sequence[str]) -> tuple[str, ...]:
        return tuple(fields[:1])


@dataclass
class World:
    db: Database
    source: LocalFolder
    output: LocalFolder
    clock: FixedClock

    def intake(self, **options: Any) -> FileIntake:
        return FileIntake(
            Readings(),
            db=self.db,
            claims=FileClaims(self.db, claims, self.clock),
            source=self.source,
            output=self.output,
            max_file_bytes=options.pop("max_file_bytes", 10_000),
            **options,
        )

    def put(self, name: str, text: str) -> None:
        (self.source.root / name).write_text(text)

    def stored(self) -> dict[str, int]:
        with self.db.read() as conn:
            return {r.meter: r.kwh for r in conn.execute(sa.select(readings))}

    def claim_rows(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(claims).order_by(claims.c.id))]


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    sqlite = database_url.startswith("sqlite")
    engine = make_engine(database_url, schema=None if sqlite else "intake")
    metadata.create_all(engine)
    db = Database(engine)
    clock = FixedClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))
    yield World(db, LocalFolder(tmp_path / "in"), LocalFolder(tmp_path / "out"), clock)
    db.dispose()


def output_of(world: World, name: str) -> list[str]:
    return (world.output.root / name).read_text().splitlines()


async def test_a_file_is_stored_row_by_row_with_its_rejects_as_data_and_renamed_acked(
    world: World,
):
    world.put("READ_1.csv", "meter,kwh\nM1,10\nM2,x\nM3\nM4,40\n")
    (summary,) = await world.intake(batch_rows=2, chunk_size=8).run_once()
    assert (summary.state, summary.rows, summary.accepted, summary.rejected) == (
        FileState.ACKED, 4, 2, 2,
    )  # fmt: skip
    assert world.stored() == {"M1": 10, "M4": 40}
    assert output_of(world, "ACK_READ_1.csv") == [
        "row,meter,result,code,reason",
        "2,M1,ACCEPTED,,stored",
        "3,M2,REJECTED,R-VALUE,kwh is not a number",
        '4,M3,REJECTED,R-COLUMNS,"expected 2 columns, found 1"',
        "5,M4,ACCEPTED,,stored",
    ]
    assert sorted(p.name for p in world.source.root.iterdir() if p.is_file()) == [
        "Acked-READ_1.csv"
    ]
    (claim,) = world.claim_rows()
    assert (claim["source"], claim["state"], claim["output"], claim["renamed_to"]) == (
        "READINGS", "Acked", "ACK_READ_1.csv", "Acked-READ_1.csv",
    )  # fmt: skip


async def test_a_redelivered_content_is_a_duplicate_with_no_second_effect(world: World):
    world.put("READ_1.csv", "meter,kwh\nM1,10\n")
    await world.intake().run_once()
    with world.db.begin() as conn:
        conn.execute(readings.update().values(kwh=99))
    world.put("READ_again.csv", "meter,kwh\nM1,10\n")
    (summary,) = await world.intake().run_once()
    assert summary.state is FileState.DUPLICATE
    assert summary.renamed_to == "Duplicate-READ_again.csv"
    assert world.stored() == {"M1": 99}


@pytest.mark.parametrize(
    ("content", "code", "reason"),
    [
        ("", "R-EMPTY", "the file is empty: expected the header meter,kwh"),
        (
            "id,kwh\nM1,10\n",
            "R-HEADER",
            "expected header meter,kwh; in the first row, column 1 is not meter",
        ),
        ("meter,kwh\n" + "M1,10\n" * 20, "R-SIZE", "the file has 130 bytes, over the limit of 100"),
    ],
)
async def test_a_file_that_cannot_be_taken_is_refused_whole_with_one_output_row(
    world: World, content: str, code: str, reason: str
):
    world.put("READ_bad.csv", content)
    (summary,) = await world.intake(max_file_bytes=100).run_once()
    assert summary.state is FileState.REFUSED and summary.renamed_to == "Error-READ_bad.csv"
    text = (world.output.root / "ACK_READ_bad.csv").read_text()
    assert list(csv.reader(io.StringIO(text)))[1:] == [["1", "", "REJECTED", code, reason]]
    assert world.stored() == {}


async def test_two_runs_at_once_never_take_the_same_file(world: World):
    for n in range(4):
        world.put(f"READ_{n}.csv", f"meter,kwh\nM{n},{n}\n")
    first, second = await asyncio.gather(world.intake().run_once(), world.intake().run_once())
    taken = sorted(s.name for s in first + second if s.state is FileState.ACKED)
    assert taken == [f"READ_{n}.csv" for n in range(4)]
    assert len(world.claim_rows()) == 4


async def test_the_file_of_a_dead_run_is_taken_over_and_completes_once(world: World):
    world.put("READ_1.csv", "meter,kwh\nM1,10\nM2,20\n")
    dead = f"{os.uname().nodename[:60]}/999999999/deadbeef"  # no such process
    with world.db.begin() as conn:
        conn.execute(
            claims.insert().values(
                source="READINGS", name="READ_1.csv",
                checksum=hashlib.sha256(b"meter,kwh\nM1,10\nM2,20\n").hexdigest(),
                size=24, state="Processing", rows=0, accepted=0, rejected=0,
                received_at="2026-12-01T11:00:00+00:00", holder=dead,
                heartbeat_at="2026-12-01T11:59:00+00:00", attempts=1,
            )
        )  # fmt: skip
    (summary,) = await world.intake().run_once()
    assert summary.state is FileState.ACKED and summary.rows == 2
    (claim,) = world.claim_rows()
    assert claim["attempts"] == 2 and claim["holder"] is None
    assert world.stored() == {"M1": 10, "M2": 20}


async def test_a_durable_holder_keeps_its_content_until_it_is_released(world: World):
    store = FileClaims(world.db, claims, world.clock)
    first = store.hold(source="FLOW", checksum="c1", holder="FLOW:a", name="a.csv", size=1)
    again = store.hold(source="FLOW", checksum="c1", holder="FLOW:b", name="b.csv", size=1)
    other = store.hold(source="OTHER", checksum="c1", holder="OTHER:b", name="b.csv", size=1)
    assert (first, again, other) == ("FLOW:a", "FLOW:a", "OTHER:b")
    assert store.release("FLOW:a") == 1
    assert store.hold(source="FLOW", checksum="c1", holder="FLOW:b", name="b", size=1) == "FLOW:b"


async def test_files_without_the_prefix_are_left_alone(world: World):
    world.put("OTHER_1.csv", "meter,kwh\nM1,10\n")
    assert await world.intake().run_once() == []
    assert world.claim_rows() == []
