"""DEV-SCORE and LRF end to end: files in the content servers' folders, the hub on the in-memory
runtime, the real derms served on loopback on its own database (SQLite, or a schema of
PostgreSQL). Rows that cannot be read are per-row rejects; the good rows reach DERMS, which
keeps the latest per key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.common.clock import FixedClock
from derlink.contracts.input_files import FORECAST_HEADER, SCORE_HEADER
from derlink.derms.app import create_part as create_derms
from derlink.hub.app import HubPart
from derlink.hub.app import create_part as create_hub
from derlink.hub.catalog import CATALOG
from derlink.hub.connections import Targets
from derlink.hub.model import InstanceStatus
from derlink.hub.runtime.memory import MemoryRuntime
from derlink.hub.runtime.port import RetryPolicy
from derlink.platform.auth import CredentialStore
from derlink.platform.database import is_sqlite
from derlink.platform.files import FileStore, LocalFolder
from derlink.platform.http import Connection, HttpClient
from derlink.platform.mail import MemoryMailer
from derlink.platform.settings import Settings
from tests.support.servers import serve

CLOCK = FixedClock(datetime(2026, 7, 16, 6, 30, tzinfo=UTC))


class World:
    def __init__(
        self, tmp: Path, credentials: CredentialStore, hub: HubPart, derms_url: str
    ) -> None:
        self.tmp = tmp
        self.credentials = credentials
        self.hub_part = hub
        self.derms_url = derms_url

    def put(self, store: str, name: str, header: tuple[str, ...], *rows: str) -> None:
        text = ",".join(header) + "\n" + "".join(r + "\n" for r in rows)
        (self.tmp / store / name).write_text(text)

    async def run(self, code: str) -> list[dict[str, Any]]:
        started = await self.hub_part.hub.run_now(code, "operator")
        await self.hub_part.hub.runtime.drain()  # type: ignore[attr-defined]
        return [self.hub_part.hub.store.detail(r.instance_id) for r in started]

    def names(self, store: str) -> list[str]:
        return sorted(p.name for p in (self.tmp / store).iterdir() if not p.name.startswith("."))

    def derms(self, path: str) -> httpx.Response:
        return httpx.get(
            f"{self.derms_url}/api/v1{path}", headers=self.credentials.client("viewer").header()
        )


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[World]:
    credentials = CredentialStore.generate(DEFAULT_CLIENTS)
    settings = Settings(
        home=tmp_path, database_url=None if is_sqlite(database_url) else database_url
    )
    derms = create_derms(settings=settings, credentials=credentials, clock=CLOCK, hub=None)
    hub_client = credentials.client("hub")
    # Every store a file flow of the catalog names: the hub builds all its file flows.
    stores: dict[str, FileStore] = {
        name: LocalFolder(tmp_path / name)
        for spec in CATALOG
        if spec.files is not None
        for name in filter(None, (spec.files.source_store, spec.files.target_store))
    }
    try:
        with serve(derms.app) as derms_url:
            targets = Targets(
                cpm=HttpClient(Connection(name="cpm", base_url="http://127.0.0.1:9")),
                derms=HttpClient(
                    Connection(
                        name="derms",
                        base_url=derms_url,
                        username=hub_client.client_id,
                        secret=hub_client.secret,
                    )
                ),
                stores=stores,
            )
            runtime = MemoryRuntime(RetryPolicy(max_attempts=2, interval_s=0.001))
            hub = create_hub(
                database_url=settings.database_for("hub"),
                credentials=credentials,
                clock=CLOCK,
                targets=targets,
                runtime=runtime,
                mailer=MemoryMailer(),
                max_body_bytes=1 << 20,
            )
            try:
                yield World(tmp_path, credentials, hub, derms_url)
            finally:
                await runtime.stop()
                await targets.close()
                hub.db.dispose()
    finally:
        derms.db.dispose()


def score_row(nic: str, score: int, at: str = "2026-07-16T06:00:00.000Z") -> str:
    return f"D-{nic},ECOBEE-HE,{nic},{score},4,0.9,,2026-07-15T23:00:00.000Z,{at}"


async def test_device_scores_reach_derms_and_an_unreadable_row_is_rejected_alone(world: World):
    world.put(
        "cpm-content",
        "SDCSE_20260716T060000Z.csv",
        SCORE_HEADER,
        score_row("N1", 80),
        score_row("N2", 140),  # row 3: out of range
        score_row("N3", 55, at="2026-07-16T06:00:00"),  # row 4: no offset
        score_row("N4", 12),
    )
    (detail,) = await world.run("DEV-SCORE")
    assert detail["status"] == InstanceStatus.COMPLETED_WITH_ERRORS.value, detail.get(
        "fault_message"
    )
    errors = {(e["key"], e["code"]) for e in detail["outcome"]["errors"]}
    assert errors == {("row 3", "HUB-SCORE-ROW"), ("row 4", "HUB-SCORE-ROW")}
    assert world.names("cpm-content") == ["Sent-SDCSE_20260716T060000Z.csv"]
    held = world.derms("/device-scores/ECOBEE-HE/N4").json()
    assert (held["score"], held["file"], held["performance"]) == (
        12,
        "SDCSE_20260716T060000Z.csv",
        None,
    )
    assert world.derms("/device-scores/ECOBEE-HE/N2").status_code == 404
    # An older file afterwards changes nothing: its rows are counted stale.
    world.put("cpm-content", "SDCSE_20260701T060000Z.csv", SCORE_HEADER,
              score_row("N1", 5, at="2026-07-01T06:00:00.000Z"))  # fmt: skip
    (older,) = await world.run("DEV-SCORE")
    assert older["status"] == InstanceStatus.COMPLETED.value
    assert older["outcome"]["stale"] == 1
    assert world.derms("/device-scores/ECOBEE-HE/N1").json()["score"] == 80


def forecast_row(sp: str, p50: str, p90: str | None = None, p10: str = "0.5;1.0") -> str:
    return (
        f"2026-07-16T06:00:00Z,BYOT,{sp},2026-07-16T23:00:00Z,2026-07-17T01:00:00Z,3600,"
        f"3,0.2,1.5,{p10},{p50},{p90 or p50}"
    )


async def test_forecasts_reach_derms_with_their_band_and_a_bad_row_is_rejected_alone(
    world: World,
):
    world.put(
        "analytics-content",
        "LRF_20260716T060000Z.csv",
        FORECAST_HEADER,
        forecast_row("SP1", "1.0;2.0", "1.5;3.0"),
        forecast_row("SP2", "1.0;2.0", "1.5"),  # row 3: the band is one interval short
        forecast_row("SP3", "1.0;x"),  # row 4: not a number
    )
    (detail,) = await world.run("LRF")
    assert detail["status"] == InstanceStatus.COMPLETED_WITH_ERRORS.value, detail.get(
        "fault_message"
    )
    assert [(e["key"], e["code"]) for e in detail["outcome"]["errors"]] == [
        ("row 3", "HUB-FORECAST-ROW"),
        ("row 4", "HUB-FORECAST-ROW"),
    ]
    assert world.names("analytics-content") == ["Sent-LRF_20260716T060000Z.csv"]
    held = world.derms("/forecasts/SP1").json()
    assert (held["p10Kw"], held["p50Kw"], held["p90Kw"]) == ([0.5, 1.0], [1.0, 2.0], [1.5, 3.0])
    assert world.derms("/forecasts").json()["items"] == [held]


async def test_many_rows_are_delivered_window_by_window_and_each_counted_once(world: World):
    world.hub_part.hub.flows["DEV-SCORE"].window = 2048  # type: ignore[attr-defined]
    rows = [score_row(f"N{i:05d}", i % 101) for i in range(600)]
    world.put("cpm-content", "SDCSE_20260716T060000Z.csv", SCORE_HEADER, *rows)
    (detail,) = await world.run("DEV-SCORE")
    assert detail["status"] == InstanceStatus.COMPLETED.value, detail
    notes = detail["outcome"]
    assert notes["batches"] > 10
    assert (notes["applied"], notes["stale"]) == (600, 0)
    assert detail["outcome"]["processed"] == 600
    page = world.derms("/device-scores?limit=1000").json()
    assert len(page["items"]) == 600


async def test_a_wrong_header_refuses_the_file_whole(world: World):
    world.put("analytics-content", "LRF_X.csv", SCORE_HEADER, score_row("N1", 1))
    (detail,) = await world.run("LRF")
    assert detail["status"] == InstanceStatus.FAULTED.value
    assert world.names("analytics-content") == ["Error-LRF_X.csv"]
