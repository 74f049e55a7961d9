"""The scheduled forecast (LRF's source), on SQLite and PostgreSQL: every service point of an
Active subscription analytics holds, forecast for the coming day from the newest measurement
file in its object storage, written as an LRF file to its content server."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from intake_world import T0, StillClock, extract, row
from tests.support.servers import serve
from typer.testing import CliRunner

from derlink.analytics.app import AnalyticsPart, create_part
from derlink.analytics.settings import AnalyticsSettings
from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.cli.main import app as cli
from derlink.common.errors import ConfigurationError
from derlink.contracts.input_files import FORECAST_HEADER
from derlink.platform.auth import CredentialStore
from derlink.platform.settings import Settings

RUNS = "/api/v1/forecast-runs"


def build(home: Path, database_url: str, **own: object) -> AnalyticsPart:
    settings = Settings(
        home=home, part_database_urls={"analytics": database_url}, time_zone="America/Los_Angeles"
    ).with_part(AnalyticsSettings(**{"intake_interval_s": 0.0, **own}))  # type: ignore[arg-type]
    return create_part(
        settings=settings,
        credentials=CredentialStore.load_or_create(home / "credentials.json", DEFAULT_CLIENTS),
        clock=StillClock(),
    )


@pytest.fixture
def part(tmp_path: Path, database_url: str) -> Iterator[AnalyticsPart]:
    built = build(tmp_path, database_url, forecast_window="16:00-20:00")
    try:
        yield built
    finally:
        asyncio.run(built.stop())


@pytest.fixture
def http(part: AnalyticsPart) -> Iterator[TestClient]:
    with TestClient(part.app) as client:
        client.headers.update(
            CredentialStore.load(part.settings.home / "credentials.json")
            .client("operator")
            .header()
        )
        yield client


def folder(store_location: str) -> Path:
    return Path(store_location.removeprefix("file://"))


def hold_subscriptions(part: AnalyticsPart, http: TestClient) -> None:
    """SP1 and SP2 Active, SP3 Inactive, all of program BYOT."""
    name = "ENROLL_SYNC_INITIAL_20261130T230000Z_F.csv"
    body = extract(row(1), row(2), row(3, status="Inactive"))
    (folder(part.storage.location) / name).write_bytes(body)
    assert http.post("/api/v1/enrollment-files/intake").status_code == 200


def measurements(part: AnalyticsPart, name: str, points: dict[str, float]) -> None:
    """Hourly readings of the 40 days before T0: ``points`` gives each service point's kWh."""
    start = T0 - timedelta(days=40)
    out = io.StringIO()
    out.write("sp_id,start,kwh\n")
    for sp, kwh in points.items():
        for hour in range(40 * 24):
            at = start + timedelta(hours=hour)
            out.write(f"{sp},{at.isoformat()},{kwh}\n")
    (folder(part.storage.location) / name).write_text(out.getvalue())


def test_every_active_service_point_is_forecast_for_the_coming_day(
    part: AnalyticsPart, http: TestClient
) -> None:
    hold_subscriptions(part, http)
    measurements(part, "MEASUREMENTS_2026-10.csv", {"SP1": 9.0})  # older: not read
    measurements(part, "MEASUREMENTS_2026-11.csv", {"SP1": 2.0, "SP2": 1.0, "SP3": 1.0, "SP9": 1.0})
    answer = http.post(RUNS)
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert (run["programs"], run["servicePoints"], run["forecast"]) == (1, 2, 2)
    assert run["measurements"] == "MEASUREMENTS_2026-11.csv"
    # T0 is 2026-11-30 22:00 in Los Angeles: the coming day is December 1st.
    assert (run["windowStart"], run["windowEnd"]) == (
        "2026-12-01T16:00:00-08:00",
        "2026-12-01T20:00:00-08:00",
    )
    assert run["fileName"] == "LRF_20261201T060000Z.csv" and run["note"] is None
    text = (folder(part.content.location) / run["fileName"]).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == FORECAST_HEADER
    assert [r["SPId"] for r in rows] == ["SP1", "SP2"]
    for r in rows:
        assert r["ProgramId"] == "BYOT" and r["IntervalSize(Seconds)"] == "3600"
        assert len(r["P50Kw"].split(";")) == 4
        p10, p50, p90 = (
            [float(v) for v in r[band].split(";")] for band in ("P10Kw", "P50Kw", "P90Kw")
        )
        assert all(lo <= mid <= hi for lo, mid, hi in zip(p10, p50, p90, strict=True))


def test_a_run_with_nothing_to_forecast_writes_no_file_and_says_why(
    part: AnalyticsPart, http: TestClient
) -> None:
    nobody = http.post(RUNS).json()
    assert nobody["fileName"] is None
    assert "no Active subscription" in nobody["note"]
    hold_subscriptions(part, http)
    unmeasured = http.post(RUNS).json()
    assert unmeasured["fileName"] is None and unmeasured["servicePoints"] == 2
    assert "no MEASUREMENTS_* file" in unmeasured["note"]
    assert [p.name for p in folder(part.content.location).glob("LRF_*")] == []


def test_an_unknown_forecast_method_stops_analytics_from_starting(
    tmp_path: Path, database_url: str
) -> None:
    with pytest.raises(ConfigurationError, match="DERLINK_FORECAST_METHOD"):
        build(tmp_path, database_url, forecast_method="guess")


def test_the_cli_runs_the_forecast_now_and_says_when_nothing_was_forecast(
    tmp_path: Path, database_url: str
) -> None:
    part = build(tmp_path, database_url)
    try:
        with serve(part.app) as base:
            args = ["analytics", "forecast-now", "--url", base, "--home", str(tmp_path)]
            nothing = CliRunner().invoke(cli, args, env={"COLUMNS": "250"})
            with TestClient(part.app) as http:
                http.headers.update(
                    CredentialStore.load(tmp_path / "credentials.json").client("operator").header()
                )
                hold_subscriptions(part, http)
            measurements(part, "MEASUREMENTS_1.csv", {"SP1": 1.0})
            done = CliRunner().invoke(cli, args, env={"COLUMNS": "250"})
    finally:
        asyncio.run(part.stop())
    assert nothing.exit_code == 1
    assert "nothing forecast: analytics holds no Active subscription" in nothing.output
    assert done.exit_code == 0, done.output
    assert "forecast 1 of 2 service point(s) of 1 program(s)" in done.output
    assert "LRF_20261201T060000Z.csv" in done.output


def test_the_schedule_forecasts_until_analytics_stops(tmp_path: Path, database_url: str) -> None:
    part = build(tmp_path, database_url, forecast_interval_s=0.05)
    with TestClient(part.app) as http:
        http.headers.update(
            CredentialStore.load(tmp_path / "credentials.json").client("operator").header()
        )
        hold_subscriptions(part, http)
    measurements(part, "MEASUREMENTS_1.csv", {"SP1": 1.0, "SP2": 2.0})
    written = folder(part.content.location) / "LRF_20261201T060000Z.csv"

    async def run() -> None:
        await part.start()
        try:
            for _ in range(600):
                if written.exists():
                    return
                await asyncio.sleep(0.05)
            raise AssertionError("the schedule wrote no forecast")
        finally:
            await part.stop()

    asyncio.run(run())
    assert part._forecasts is None
    rows = list(csv.DictReader(io.StringIO(written.read_text())))
    assert [r["SPId"] for r in rows] == ["SP1", "SP2"]
