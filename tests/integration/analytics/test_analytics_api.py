"""analytics as a part: its API with scopes (the outcome routes' too), its intake loop, and
``derlink analytics intake``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from intake_world import extract, row
from outcome_world import outcome, outcome_file
from part_world import API, build, headers, put
from tests.support.servers import serve
from typer.testing import CliRunner

from derlink.analytics.app import AnalyticsPart
from derlink.cli.main import app as cli

NAME = "ENROLL_SYNC_INITIAL_20261130T230000Z_API.csv"
OUTCOMES = "OUTCOME_20260718T010000Z_000007.csv"


def test_the_intake_runs_on_demand_and_its_results_can_be_read(
    part: AnalyticsPart, http: TestClient
):
    put(part, NAME, extract(row(1), row(2, status="Pending", version=3), row(3, version="x")))
    answer = http.post(f"{API}/enrollment-files/intake", headers=headers(part))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "files": [
            {"name": NAME, "state": "Acked", "rows": 3, "accepted": 2, "rejected": 1,
             "ackFile": f"ENROLL_ACK_{NAME}", "renamedTo": f"Acked-{NAME}", "error": None}
        ]
    }  # fmt: skip
    again = http.post(f"{API}/enrollment-files/intake", headers=headers(part))
    assert again.json() == {"files": []}

    listed = http.get(f"{API}/enrollment-files", headers=headers(part, "viewer")).json()
    assert [(f["name"], f["state"], f["rows"], f["attempts"]) for f in listed] == [
        (NAME, "Acked", 3, 1)
    ]
    assert len(listed[0]["checksum"]) == 64 and listed[0]["receivedAt"]

    one = http.get(f"{API}/subscriptions/SUB2", headers=headers(part, "viewer"))
    assert one.status_code == 200
    assert one.json() | {"updatedAt": None} == {
        "subscriptionId": "SUB2", "syncRequestId": "SR2", "programId": "PRG1",
        "programCode": "BYOT", "cisAccountId": "A2", "cisPersonId": "P2",
        "servicePointId": "SPT2", "cisServicePointId": "SP2", "cisPremiseId": "PR2",
        "division": "CA", "subscriptionType": "DR", "status": "Pending",
        "startDateTimeISO": "2026-06-01T07:00:00.000Z", "endDateTimeISO": None, "version": 3,
        "updatedAt": None, "sourceFile": NAME,
    }  # fmt: skip

    missing = http.get(f"{API}/subscriptions/SUB3", headers=headers(part))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "SUB3" in missing.json()["detail"]

    counts = http.get(f"{API}/subscriptions/counts", headers=headers(part)).json()
    assert counts == {"Active": 1, "Inactive": 0, "Pending": 1}


@pytest.mark.parametrize(
    ("route", "entry", "source"),
    [
        ("/enrollment-files/intake", "ENROLL_SYNC_LINK.csv", "OUAI-ENR"),
        ("/outcome-files/intake", "OUTCOME_LINK.csv", "EVT-OUTCOME-OUAI"),
    ],
)
def test_an_entry_the_intake_cannot_take_is_mailed_once_to_the_intake_recipients(
    tmp_path: Path, database_url: str, route: str, entry: str, source: str
):
    part = build(tmp_path, database_url, intake_notify_to=("data-ops@utility.example",))
    try:
        root = Path(part.storage.location.removeprefix("file://"))
        (root / entry).symlink_to(tmp_path / "credentials.json")
        with TestClient(part.app) as http:
            for _ in range(2):
                answer = http.post(f"{API}{route}", headers=headers(part))
                assert answer.json() == {"files": []}
    finally:
        asyncio.run(part.stop())
    (mail,) = sorted((tmp_path / "outbox").glob("*.eml"))
    text = mail.read_text()
    assert "To: data-ops@utility.example" in text and source in text
    assert entry in text and f"Error-{entry}" in text
    assert '"secret"' not in text


def test_subscriptions_come_in_keyset_pages(part: AnalyticsPart, http: TestClient):
    put(part, NAME, extract(*(row(n) for n in range(10, 15))))
    http.post(f"{API}/enrollment-files/intake", headers=headers(part))
    seen, after = [], None
    while True:
        params = {"limit": 2, **({"after": after} if after else {})}
        page = http.get(f"{API}/subscriptions", params=params, headers=headers(part)).json()
        seen.append([s["subscriptionId"] for s in page["items"]])
        after = page["next"]
        if after is None:
            break
    assert seen == [["SUB10", "SUB11"], ["SUB12", "SUB13"], ["SUB14"]]
    bad = http.get(f"{API}/subscriptions", params={"limit": 0}, headers=headers(part))
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "client", "status"),
    [
        ("POST", "/enrollment-files/intake", None, 401),
        ("POST", "/enrollment-files/intake", "viewer", 403),
        ("GET", "/enrollment-files", "cpm", 403),
        ("GET", "/subscriptions", "derms", 403),
        ("GET", "/subscriptions/counts", "cpm", 403),
        ("GET", "/subscriptions/SUB1", None, 401),
        ("POST", "/enrollment-files/intake", "hub", 200),
        ("POST", "/outcome-files/intake", None, 401),
        ("POST", "/outcome-files/intake", "viewer", 403),
        ("POST", "/outcome-files/intake", "hub", 200),
        ("GET", "/outcome-files", "cpm", 403),
        ("GET", "/outcome-files", "viewer", 200),
        ("GET", "/event-outcomes", "derms", 403),
        ("GET", "/event-outcomes", None, 401),
        ("GET", "/event-outcomes", "viewer", 200),
    ],
)
def test_each_route_asks_for_its_scope(
    part: AnalyticsPart, http: TestClient, method: str, path: str, client: str | None, status: int
):
    answer = http.request(method, API + path, headers=headers(part, client) if client else {})
    assert answer.status_code == status, answer.text
    if status >= 400:
        assert answer.headers["content-type"] == "application/problem+json"


async def test_the_loop_takes_enrollment_and_outcome_files_and_outlives_a_failed_turn(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
):
    part = build(tmp_path, database_url, intake_interval_s=0.05)
    storage = Path(part.storage.location.removeprefix("file://"))
    storage.rmdir()  # the object storage is not there: both intakes fail
    await part.start()
    try:
        deadline = time.monotonic() + 10
        while "file intake run failed" not in caplog.text:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        storage.mkdir()
        put(part, NAME, extract(row(1)))
        put(part, OUTCOMES, outcome_file(outcome(1)))
        while not all((storage / f"Acked-{n}").exists() for n in (NAME, OUTCOMES)):
            assert time.monotonic() < deadline, "the loop did not take both files"
            await asyncio.sleep(0.02)
    finally:
        await part.stop()
    assert part._task is None


def test_the_cli_runs_the_intake_of_a_running_analytics(tmp_path: Path, database_url: str):
    part = build(tmp_path, database_url)
    put(part, NAME, extract(row(1), row(2, version="0")))
    try:
        with serve(part.app) as base:
            result = CliRunner().invoke(
                cli,
                ["analytics", "intake", "--url", base, "--home", str(tmp_path)],
                env={"COLUMNS": "60"},  # a narrow terminal: the file names stay whole
            )
    finally:
        asyncio.run(part.stop())
    assert result.exit_code == 0, result.output
    assert NAME in result.output and "Acked" in result.output
    assert "1 enrollment file(s) taken" in result.output
