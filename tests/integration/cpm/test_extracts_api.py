"""The enrollment extract over HTTP (POST/GET /enrollment-extracts) and from the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from cpm_harness import Cpm
from extract_support import enroll, file_rows
from tests.support.servers import free_port, serve
from typer.testing import CliRunner

from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.cli.main import app as cli
from derlink.cli.main import run
from derlink.platform.auth import CredentialStore


def test_an_operator_runs_an_extract_and_reads_it_back(seeded: Cpm) -> None:
    first = enroll(seeded, 1)
    answer = seeded.post("/enrollment-extracts", {"kind": "INITIAL"})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body.keys() == {"extractId", "kind", "state", "fileName", "rows", "startedAt",
                           "finishedAt", "error"}  # fmt: skip
    assert (body["kind"], body["state"], body["rows"], body["error"]) == (
        "INITIAL", "Completed", 1, None)  # fmt: skip
    assert body["startedAt"] == seeded.clock.now().isoformat()
    [row] = file_rows(seeded, body["fileName"])
    assert row["subscriptionId"] == first

    seeded.clock.advance(hours=1)
    empty = seeded.post("/enrollment-extracts", {"kind": "INCREMENTAL"}).json()
    assert (empty["state"], empty["rows"], empty["fileName"]) == ("Completed", 0, None)

    listed = seeded.get("/enrollment-extracts", client="viewer")
    assert listed.status_code == 200
    assert [x["extractId"] for x in listed.json()] == [empty["extractId"], body["extractId"]]
    assert [x["extractId"] for x in seeded.get("/enrollment-extracts", limit=1).json()] == [
        empty["extractId"]
    ]
    one = seeded.get(f"/enrollment-extracts/{body['extractId']}", client="viewer")
    assert one.status_code == 200 and one.json() == body


def test_the_sync_requests_of_an_extract_are_listed_like_any_other(seeded: Cpm) -> None:
    enroll(seeded, 1)
    body = seeded.post("/enrollment-extracts", {"kind": "INITIAL"}).json()
    [row] = file_rows(seeded, body["fileName"])
    page = seeded.get("/sync-requests", state="Awaiting Acknowledgement").json()
    [item] = page["items"]
    assert (item["syncRequestId"], item["syncType"]) == (row["syncRequestId"], "ANALYTICS")
    counts = seeded.get("/sync-requests/counts").json()
    assert counts["Awaiting Acknowledgement"] == 1 and counts["Synchronized"] == 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "kind: Field required"),
        ({"kind": "WEEKLY"}, "kind: Input should be 'INITIAL' or 'INCREMENTAL'"),
        ({"kind": "initial"}, "kind: Input should be 'INITIAL' or 'INCREMENTAL'"),
        ({"kind": "INITIAL", "since": "2026-01-01"}, "since: Extra inputs are not permitted"),
    ],
)
def test_a_bad_extract_request_is_refused_with_what_is_wrong(
    seeded: Cpm, body: dict[str, str], detail: str
) -> None:
    answer = seeded.post("/enrollment-extracts", body)
    assert answer.status_code == 422
    assert answer.json()["detail"] == detail
    assert seeded.get("/enrollment-extracts").json() == []


def test_only_an_administrator_runs_an_extract(seeded: Cpm) -> None:
    for client in ("viewer", "hub"):
        answer = seeded.post("/enrollment-extracts", {"kind": "INITIAL"}, client=client)
        assert answer.status_code == 403, answer.text
    anonymous = seeded.http.post("/api/v1/enrollment-extracts", json={"kind": "INITIAL"})
    assert anonymous.status_code == 401
    assert seeded.get("/enrollment-extracts").json() == []


def test_an_unknown_extract_is_not_found(seeded: Cpm) -> None:
    answer = seeded.get("/enrollment-extracts/EX-nothing")
    assert answer.status_code == 404
    assert answer.json()["code"] == "CPM-EXTRACT-UNKNOWN"
    assert seeded.get("/enrollment-extracts", limit=0).status_code == 422


# -- the CLI --------------------------------------------------------------------------------------


def test_the_cli_runs_an_extract_and_says_what_it_wrote(seeded: Cpm, tmp_path: Path) -> None:
    enroll(seeded, 1)
    # The data directory as `derlink up` leaves it: the credentials the CLI calls with.
    home = tmp_path / "home"
    home.mkdir()
    (home / "credentials.json").write_text(seeded.credentials.to_json())
    (home / "credentials.json").chmod(0o600)
    runner = CliRunner()
    env = {"DERLINK_HOME": str(home), "COLUMNS": "250"}
    with serve(seeded.part.app) as url:
        initial = runner.invoke(cli, ["cpm", "extract", "--initial", "--url", url], env=env)
        again = runner.invoke(cli, ["cpm", "extract", "--url", url], env=env)
    assert initial.exit_code == 0, initial.output
    assert "(INITIAL): Completed, 1 row(s) in ENROLL_SYNC_INITIAL_" in initial.output
    assert again.exit_code == 0, again.output
    assert "(INCREMENTAL): Completed, no rows, no file" in again.output
    [latest, first] = seeded.get("/enrollment-extracts").json()
    assert (first["kind"], first["rows"], latest["kind"]) == ("INITIAL", 1, "INCREMENTAL")
    assert first["fileName"] in initial.output


def test_the_cli_says_when_cpm_is_not_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    CredentialStore.load_or_create(tmp_path / "credentials.json", DEFAULT_CLIENTS)
    where = f"http://127.0.0.1:{free_port()}/cpm"
    assert run(["cpm", "extract", "--url", where, "--home", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"error: derlink is not reachable at {where}/api/v1/")
