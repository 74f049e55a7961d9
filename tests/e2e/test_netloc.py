"""NET-LOC on a running derlink: the CLI loads a network model and runs NET-LOC now; and a
SIGKILL while cpm takes a large NET-LOC file: after a restart cpm takes the file over and
completes it once (every service point one row, one acknowledgement row per input row)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from bench.netloc import load_service_points, sp_id, write_netloc

from derlink.cli.main import run
from derlink.cli.server import ServerProcess

from .support import client, wait_for

NEVER = "0 0 0 1 1 *"
HOUR = "3600"
MODEL = """Kind,Id,ParentId,Name,EffectiveFrom
SUBSTATION,S1,,North,2026-01-01
FEEDER,F1,S1,Feeder 1,2026-01-01
TRANSFORMER,T1,F1,Pole 1,2026-01-01
SERVICE_POINT,SP-1,T1,,2026-01-01
SERVICE_POINT,SP-9,T9,,2026-01-01
"""


def _server(home: Path) -> ServerProcess:
    """derlink on ``home``: cpm takes NET-LOC files at once; nothing else runs by itself."""
    return ServerProcess(
        home,
        extra_env={
            "DERLINK_FILE_CRON": NEVER,
            "DERLINK_NETWORK_INTAKE_INTERVAL_S": HOUR,
            "DERLINK_NETLOC_INTAKE_INTERVAL_S": "0.2",
        },
    )


def _claim(home: Path) -> dict[str, Any] | None:
    """cpm's claim of the NET-LOC file, read beside the running server."""
    with sqlite3.connect(f"file:{home / 'cpm.sqlite'}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        found = db.execute("SELECT * FROM file_claims WHERE source = 'NET-LOC'").fetchall()
    assert len(found) <= 1
    return dict(found[0]) if found else None


def test_the_cli_loads_a_model_and_netloc_brings_it_to_cpm(tmp_path: Path, capsys: Any):
    home = tmp_path / "home"
    server = _server(home)
    server.start()
    api = client(server)
    try:
        api.post(
            "/cpm/api/v1/master-data",
            json={
                "persons": [{"cisPersonId": "P1"}],
                "accounts": [{"cisAccountId": "A1", "cisPersonId": "P1"}],
                "premises": [{"cisPremiseId": "PR1", "cisAccountId": "A1"}],
                "servicePoints": [{"cisServicePointId": "SP-1", "cisPremiseId": "PR1"}],
            },
        ).raise_for_status()
        model = tmp_path / "model.csv"
        model.write_text(MODEL)
        at = ["--home", str(home)]
        assert run(["derms", "network", "load", str(model), *at]) == 0
        said = capsys.readouterr().out
        assert "NETMODEL_model.csv: Acked, 5 row(s), 4 accepted, 1 rejected" in said
        assert run(["derms", "network", "load", str(tmp_path / "none.csv"), *at]) == 1
        assert capsys.readouterr().err.strip().startswith("error: ")
        assert run(["derms", "network", "export", *at]) == 0
        assert "1 location(s) in force" in capsys.readouterr().out
        assert run(["flows", "run-now", "NET-LOC", *at]) == 0
        located = wait_for(
            lambda: api.get("/cpm/api/v1/service-points/SP-1/network-locations").json()[
                "locations"
            ],
            what="SP-1's location in cpm",
        )
        assert [(x["transformerId"], x["feederId"], x["substationId"]) for x in located] == [
            ("T1", "F1", "S1")
        ]
    finally:
        api.close()
        server.stop()


ROWS = 200_000


@pytest.mark.slow
def test_a_netloc_file_interrupted_by_a_sigkill_is_taken_over_and_completed_once(
    tmp_path: Path,
):
    home = tmp_path / "home"
    server = _server(home)
    server.start()  # creates the databases
    server.stop()
    load_service_points(f"sqlite:///{home / 'cpm.sqlite'}", ROWS)
    storage = home / "files" / "cpm-storage"
    write_netloc(storage / "NETLOC_CRASH.csv", ROWS)

    server.start()
    deadline = time.monotonic() + 120
    while not ((c := _claim(home)) and c["state"] == "Processing" and c["rows"] > 0):
        assert c is None or c["state"] == "Processing", f"the file was done before the kill: {c}"
        assert time.monotonic() < deadline, "cpm never began the file"
        time.sleep(0.02)
    server.kill()
    assert _claim(home)["state"] == "Processing"  # type: ignore[index]
    assert (storage / "NETLOC_CRASH.csv").exists()

    server.start()
    try:
        done = wait_for(
            lambda: (c := _claim(home)) and c["state"] != "Processing" and c,
            timeout_s=180,
            what="cpm to take the file over and finish it",
        )
    finally:
        server.stop()
    assert (done["state"], done["rows"], done["accepted"], done["rejected"]) == (
        "Acked",
        ROWS,
        ROWS,
        0,
    )
    assert done["attempts"] == 2
    assert sorted(p.name for p in storage.iterdir() if p.is_file()) == ["Acked-NETLOC_CRASH.csv"]
    with sqlite3.connect(home / "cpm.sqlite") as db:
        rows, points = db.execute(
            "SELECT count(*), count(DISTINCT cis_service_point_id) FROM network_locations"
        ).fetchone()
        last = db.execute(
            "SELECT transformer_id FROM network_locations WHERE cis_service_point_id = ?",
            (sp_id(ROWS - 1),),
        ).fetchall()
    assert (rows, points) == (ROWS, ROWS)
    assert len(last) == 1
    ack = home / "files" / "cpm-content" / "NETLOC_ACK_NETLOC_CRASH.csv"
    with ack.open() as handle:
        assert sum(1 for _ in handle) == ROWS + 1
