"""DERMS's network model over HTTP, on SQLite and PostgreSQL: model exports taken in row by row,
reloads, changes closing the old version, the tree and its counts, an operator's edit, the
NET-LOC export, the scopes, and the revision that brings the tables."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from derlink.common.clock import FixedClock
from derlink.contracts.network_files import ACK_HEADER, MODEL_HEADER, NETLOC_HEADER
from derlink.derms.app import DermsPart
from derlink.derms.migrations import SCHEMA
from derlink.derms.network.tables import file_claims, network_nodes, service_point_locations
from derlink.platform.database import make_engine
from derlink.platform.migrations import upgrade
from derlink.platform.settings import Settings
from tests.support.schemas import at_revision

from .support import Headers

NETWORK = "/api/v1/network"

#: Two substations, a feeder each, two transformers under the first feeder, three service points.
MODEL = [
    ("SUBSTATION", "S1", "", "North", "2026-01-01"),
    ("SUBSTATION", "S2", "", "South", "2026-01-01"),
    ("FEEDER", "F1", "S1", "Feeder 1", "2026-01-01"),
    ("FEEDER", "F2", "S2", "Feeder 2", "2026-01-01"),
    ("TRANSFORMER", "T1", "F1", "Pole 1", "2026-01-01"),
    ("TRANSFORMER", "T2", "F1", "Pole 2", "2026-01-01"),
    ("TRANSFORMER", "T3", "F2", "Pole 3", "2026-01-01"),
    ("SERVICE_POINT", "SP1", "T1", "", "2026-01-01"),
    ("SERVICE_POINT", "SP2", "T1", "", "2026-01-01"),
    ("SERVICE_POINT", "SP3", "T2", "", "2026-01-01"),
]


def model_file(*rows: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MODEL_HEADER)
    writer.writerows(rows)
    return out.getvalue().encode()


def folder(settings: Settings, store: str) -> Path:
    path = settings.home / "files" / store
    path.mkdir(parents=True, exist_ok=True)
    return path


def load(
    client: TestClient, settings: Settings, operator: Headers, name: str, data: bytes
) -> list[list[str]]:
    """Put a model export in DERMS's model store, take it in; its ack file's rows."""
    (folder(settings, "derms-model") / name).write_bytes(data)
    answer = client.post(f"{NETWORK}/model-files/intake", headers=operator)
    assert answer.status_code == 200, answer.text
    (summary,) = answer.json()["files"]
    ack = (folder(settings, "derms-content") / summary["ackFile"]).read_text()
    rows = list(csv.reader(io.StringIO(ack)))
    assert tuple(rows[0]) == ACK_HEADER
    return rows[1:]


def history(client: TestClient, viewer: Headers, sp: str) -> list[tuple[str, str, str | None]]:
    answer = client.get(f"{NETWORK}/service-points/{sp}/locations", headers=viewer)
    assert answer.status_code == 200, answer.text
    return [
        (v["transformerId"], v["effectiveFrom"], v["effectiveTo"])
        for v in answer.json()["versions"]
    ]


def test_a_model_export_is_taken_row_by_row_and_renamed_acked(
    client: TestClient, settings: Settings, operator: Headers, viewer: Headers
):
    rows = load(client, settings, operator, "NETMODEL_1.csv", model_file(*MODEL))
    assert [r[2] for r in rows] == ["ACCEPTED"] * len(MODEL)
    assert [r[0] for r in rows] == [str(n) for n in range(2, len(MODEL) + 2)]
    assert sorted(p.name for p in folder(settings, "derms-model").iterdir()) == [
        "Acked-NETMODEL_1.csv"
    ]
    assert history(client, viewer, "SP1") == [("T1", "2026-01-01", None)]


def test_unknown_parents_and_contradictions_are_rejected_with_their_row(
    client: TestClient, settings: Settings, operator: Headers
):
    rows = load(
        client,
        settings,
        operator,
        "NETMODEL_2.csv",
        model_file(
            *MODEL,
            ("SERVICE_POINT", "SP4", "T9", "", "2026-01-01"),  # unknown transformer
            ("SERVICE_POINT", "SP5", "F1", "", "2026-01-01"),  # a feeder, not a transformer
            ("SERVICE_POINT", "SP1", "T2", "", "2026-01-01"),  # contradicts row 9
            ("FEEDER", "T1", "S1", "x", "2026-01-01"),  # T1 is a transformer
            ("TRANSFORMER", "T4", "", "x", "2026-01-01"),  # no parent
            ("BRANCH", "B1", "S1", "x", "2026-01-01"),
            ("SERVICE_POINT", "SP6", "T1", "", "2026-13-01"),
            ("SERVICE_POINT", "SP7", "T1", ""),
        ),
    )
    rejected = {r[0]: (r[1], r[3]) for r in rows if r[2] == "REJECTED"}
    assert rejected == {
        "12": ("SP4", "NET-PARENT"),
        "13": ("SP5", "NET-PARENT"),
        "14": ("SP1", "NET-CONFLICT"),
        "15": ("T1", "NET-KIND"),
        "16": ("T4", "NET-MISSING"),
        "17": ("B1", "NET-VALUE"),
        "18": ("SP6", "NET-DATE"),
        "19": ("SP7", "NET-COLUMNS"),
    }
    reasons = {r[0]: r[4] for r in rows}
    assert reasons["12"] == "ParentId T9 is not in the network model, not a TRANSFORMER"
    assert "SP1 holds another value from 2026-01-01 (T1)" in reasons["14"]
    assert len([r for r in rows if r[2] == "ACCEPTED"]) == len(MODEL)


def test_a_reload_changes_nothing_and_a_change_closes_the_old_version(
    client: TestClient, settings: Settings, operator: Headers, viewer: Headers
):
    load(client, settings, operator, "NETMODEL_1.csv", model_file(*MODEL))
    # The same model stated again from a later day (another content): nothing changes.
    later = [(*r[:4], "2026-03-01") for r in MODEL]
    rows = load(client, settings, operator, "NETMODEL_2.csv", model_file(*later))
    assert {r[4] for r in rows} == {"unchanged"}
    assert history(client, viewer, "SP1") == [("T1", "2026-01-01", None)]
    # SP1 moves to T3 from June; a back-dated move before it is late.
    moves = model_file(
        ("SERVICE_POINT", "SP1", "T3", "", "2026-06-01"),
        ("SERVICE_POINT", "SP1", "T2", "", "2026-05-01"),
    )
    rows = load(client, settings, operator, "NETMODEL_3.csv", moves)
    assert [(r[2], r[3]) for r in rows] == [("ACCEPTED", ""), ("REJECTED", "NET-LATE")]
    assert history(client, viewer, "SP1") == [
        ("T1", "2026-01-01", "2026-06-01"),
        ("T3", "2026-06-01", None),
    ]
    # The same content again, under another name: a duplicate, no second effect.
    (folder(settings, "derms-model") / "NETMODEL_4.csv").write_bytes(moves)
    (summary,) = client.post(f"{NETWORK}/model-files/intake", headers=operator).json()["files"]
    assert (summary["state"], summary["renamedTo"]) == ("Duplicate", "Duplicate-NETMODEL_4.csv")


def test_the_tree_counts_the_service_points_under_each_node(
    client: TestClient, settings: Settings, operator: Headers, viewer: Headers
):
    load(client, settings, operator, "NETMODEL_1.csv", model_file(*MODEL))
    answer = client.get(f"{NETWORK}/tree", params={"on": "2026-02-01"}, headers=viewer).json()
    counts = {
        s["id"]: (
            s["servicePoints"],
            {
                f["id"]: (f["servicePoints"], {t["id"]: t["servicePoints"] for t in f["children"]})
                for f in s["children"]
            },
        )
        for s in answer["substations"]
    }
    assert counts == {
        "S1": (3, {"F1": (3, {"T1": 2, "T2": 1})}),
        "S2": (0, {"F2": (0, {"T3": 0})}),
    }
    # Before the model's day, nothing is in force.
    before = client.get(f"{NETWORK}/tree", params={"on": "2025-12-31"}, headers=viewer).json()
    assert before["substations"] == []
    node = client.get(f"{NETWORK}/nodes/T1", params={"on": "2026-02-01"}, headers=viewer).json()
    assert (node["kind"], node["inForce"]["servicePoints"]) == ("TRANSFORMER", 2)
    assert node["versions"] == [
        {"parentId": "F1", "name": "Pole 1", "effectiveFrom": "2026-01-01", "effectiveTo": None}
    ]


def test_an_operator_moves_a_service_point_and_the_scopes_hold(
    client: TestClient, settings: Settings, operator: Headers, viewer: Headers
):
    load(client, settings, operator, "NETMODEL_1.csv", model_file(*MODEL))
    path = f"{NETWORK}/service-points/SP2/location"
    body = {"transformerId": "T3", "effectiveFrom": "2026-07-01"}
    assert client.put(path, json=body, headers=viewer).status_code == 403
    assert client.put(path, json=body).status_code == 401
    moved = client.put(path, json=body, headers=operator)
    assert moved.status_code == 200, moved.text
    assert moved.json()["outcome"] == "inserted"
    assert client.put(path, json=body, headers=operator).json()["outcome"] == "unchanged"
    assert history(client, viewer, "SP2") == [
        ("T1", "2026-01-01", "2026-07-01"),
        ("T3", "2026-07-01", None),
    ]
    refused = client.put(path, json={**body, "transformerId": "T2"}, headers=operator)
    assert (refused.status_code, refused.json()["code"]) == (422, "NET-CONFLICT")
    unknown = client.put(
        path, json={"transformerId": "T9", "effectiveFrom": "2026-08-01"}, headers=operator
    )
    assert (unknown.status_code, unknown.json()["code"]) == (422, "NET-PARENT")
    missing = client.get(f"{NETWORK}/service-points/SP9/locations", headers=viewer)
    assert missing.status_code == 404
    assert client.get(f"{NETWORK}/nodes/X9", headers=viewer).status_code == 404
    assert client.post(f"{NETWORK}/exports", headers=viewer).status_code == 403
    assert client.post(f"{NETWORK}/model-files/intake", headers=viewer).status_code == 403


def test_the_netloc_export_holds_every_location_in_force_with_its_feeder_and_substation(
    client: TestClient, settings: Settings, operator: Headers, part: DermsPart, clock: FixedClock
):
    load(client, settings, operator, "NETMODEL_1.csv", model_file(*MODEL))
    # T2 moves to feeder F2 (substation S2) from May; SP3, under T2, follows it.
    load(
        client,
        settings,
        operator,
        "NETMODEL_2.csv",
        model_file(("TRANSFORMER", "T2", "F2", "Pole 2", "2026-05-01")),
    )
    answer = client.post(f"{NETWORK}/exports", headers=operator)
    assert answer.status_code == 200, answer.text
    done = answer.json()
    assert (done["rows"], done["on"]) == (3, clock.now().date().isoformat())
    text = (folder(settings, "derms-content") / done["fileName"]).read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == NETLOC_HEADER
    assert rows[1:] == [
        ["SP1", "T1", "F1", "S1", "2026-01-01", ""],
        ["SP2", "T1", "F1", "S1", "2026-01-01", ""],
        ["SP3", "T2", "F2", "S2", "2026-05-01", ""],
    ]


def test_a_database_at_revision_0002_gains_the_network_tables(database_url: str) -> None:
    sqlite = database_url.startswith("sqlite")
    engine = make_engine(database_url, schema=None if sqlite else "derms")
    tables = (network_nodes, service_point_locations, file_claims)
    try:
        at_revision(engine, SCHEMA, "0002")
        with engine.begin() as conn:  # as revision 0002 left it
            for table in tables:
                table.drop(conn)
        assert upgrade(engine, SCHEMA, "0003").ran == ("0003",)
        assert {t.name for t in tables} <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_model_export_with_another_header_is_refused_whole_and_renamed_error(
    client: TestClient, settings: Settings, operator: Headers, viewer: Headers
):
    (folder(settings, "derms-model") / "NETMODEL_bad.csv").write_text(
        "Kind,Id,Parent,Name,EffectiveFrom\nSUBSTATION,S1,,North,2026-01-01\n"
    )
    (summary,) = client.post(f"{NETWORK}/model-files/intake", headers=operator).json()["files"]
    assert (summary["state"], summary["renamedTo"]) == ("Refused", "Error-NETMODEL_bad.csv")
    ack = (folder(settings, "derms-content") / summary["ackFile"]).read_text().splitlines()
    assert ack[1].startswith("1,,REJECTED,NET-HEADER,")
    assert "column 3 is not ParentId" in ack[1]
    assert client.get(f"{NETWORK}/tree", headers=viewer).json()["substations"] == []
