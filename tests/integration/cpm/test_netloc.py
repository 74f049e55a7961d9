"""NET-LOC in cpm, on SQLite and PostgreSQL: files in cpm's object storage taken in row by row,
effective-dated rows per service point, unknown service points rejected by name, the history
over HTTP and its scopes, and the revision that brings the table."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from cpm_harness import Cpm
from tests.support.schemas import at_revision

from derlink.contracts.network_files import ACK_HEADER, NETLOC_HEADER
from derlink.cpm.db import file_claims
from derlink.cpm.migrations import SCHEMA
from derlink.cpm.network.tables import network_locations
from derlink.platform.database import make_engine
from derlink.platform.migrations import upgrade


def netloc(*rows: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(NETLOC_HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


def folder(cpm: Cpm, store: str) -> Path:
    path = Path((cpm.part.storage if store == "storage" else cpm.part.store).location[7:])
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def cpm_netloc(seeded: Cpm) -> Cpm:
    """The seeded part, its stores emptied (the module's tests share them)."""
    for store in ("storage", "content"):
        for path in folder(seeded, store).iterdir():
            if path.is_file():
                path.unlink()
    return seeded


def take(cpm: Cpm, name: str, data: bytes) -> list[list[str]]:
    """Put a NET-LOC file in cpm's object storage and take it in; its ack file's rows."""
    (folder(cpm, "storage") / name).write_bytes(data)
    answer = cpm.post("/network-locations/intake")
    assert answer.status_code == 200, answer.text
    (summary,) = answer.json()["files"]
    assert summary["renamedTo"] == f"Acked-{name}"
    ack = list(csv.reader(io.StringIO((folder(cpm, "content") / summary["ackFile"]).read_text())))
    assert tuple(ack[0]) == ACK_HEADER
    return ack[1:]


def history(cpm: Cpm, sp: str) -> list[tuple[str | None, ...]]:
    answer = cpm.get(f"/service-points/{sp}/network-locations", client="viewer")
    assert answer.status_code == 200, answer.text
    return [
        (v["transformerId"], v["feederId"], v["substationId"], v["effectiveFrom"], v["effectiveTo"])
        for v in answer.json()["locations"]
    ]


def test_locations_are_kept_as_effective_dated_rows(cpm_netloc: Cpm):
    rows = take(
        cpm_netloc,
        "NETLOC_1.csv",
        netloc(
            ("SP1", "T1", "F1", "S1", "2026-01-01", ""),
            ("SP2", "T2", "F1", "S1", "2026-01-01", ""),
            ("SP9", "T2", "F1", "S1", "2026-01-01", ""),
            ("SP2", "T3", "F1", "S1", "2026-01-01", ""),
            ("SP1", "", "F1", "S1", "2026-01-01", ""),
            ("SP1", "T1", "F1", "S1", "2026-01-01", "2025-01-01"),
        ),
    )
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("2", "SP1", "ACCEPTED", ""),
        ("3", "SP2", "ACCEPTED", ""),
        ("4", "SP9", "REJECTED", "NL-SP-UNKNOWN"),
        ("5", "SP2", "REJECTED", "NL-CONFLICT"),
        ("6", "SP1", "REJECTED", "NL-MISSING"),
        ("7", "SP1", "REJECTED", "NL-DATE"),
    ]
    assert rows[2][4] == "cpm holds no service point SP9"
    # The same locations again from a later day: no new row. SP2 moves: its row closes.
    rows = take(
        cpm_netloc,
        "NETLOC_2.csv",
        netloc(
            ("SP1", "T1", "F1", "S1", "2026-03-01", ""),
            ("SP2", "T5", "F2", "S2", "2026-04-01", ""),
        ),
    )
    assert [(r[2], r[4]) for r in rows] == [("ACCEPTED", "unchanged"), ("ACCEPTED", "")]
    assert history(cpm_netloc, "SP1") == [("T1", "F1", "S1", "2026-01-01", None)]
    assert history(cpm_netloc, "SP2") == [
        ("T2", "F1", "S1", "2026-01-01", "2026-04-01"),
        ("T5", "F2", "S2", "2026-04-01", None),
    ]
    # A back-dated location is late: history is not rewritten.
    rows = take(cpm_netloc, "NETLOC_3.csv", netloc(("SP2", "T6", "F2", "S2", "2026-02-01", "")))
    assert (rows[0][2], rows[0][3]) == ("REJECTED", "NL-LATE")


def test_a_file_taken_again_has_no_second_effect(cpm_netloc: Cpm):
    data = netloc(("SP1", "T1", "F1", "S1", "2026-01-01", ""))
    take(cpm_netloc, "NETLOC_1.csv", data)
    (folder(cpm_netloc, "storage") / "NETLOC_2.csv").write_bytes(data)
    (summary,) = cpm_netloc.post("/network-locations/intake").json()["files"]
    assert (summary["state"], summary["renamedTo"]) == ("Duplicate", "Duplicate-NETLOC_2.csv")
    assert history(cpm_netloc, "SP1") == [("T1", "F1", "S1", "2026-01-01", None)]


def test_the_history_needs_a_known_service_point_and_the_scopes(cpm_netloc: Cpm):
    assert history(cpm_netloc, "SP1") == []
    unknown = cpm_netloc.get("/service-points/SP9/network-locations", client="viewer")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "DL-NOT-FOUND")
    assert cpm_netloc.http.get("/api/v1/service-points/SP1/network-locations").status_code == 401
    assert cpm_netloc.post("/network-locations/intake", client="viewer").status_code == 403


def test_a_database_at_revision_0004_gains_the_network_locations(database_url: str) -> None:
    sqlite = database_url.startswith("sqlite")
    engine = make_engine(database_url, schema=None if sqlite else "cpm")
    tables = (network_locations, file_claims)
    try:
        at_revision(engine, SCHEMA, "0004")
        with engine.begin() as conn:  # as revision 0004 left it
            for table in tables:
                table.drop(conn)
        assert upgrade(engine, SCHEMA, "0005").ran == ("0005",)
        assert {t.name for t in tables} <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
