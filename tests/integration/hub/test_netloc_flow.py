"""NET-LOC end to end with the real parts, on SQLite and PostgreSQL: DERMS takes a model export
and writes its NET-LOC export; the hub's NET-LOC flow copies it to cpm's object storage and
renames it Sent-; cpm takes it in and keeps effective-dated rows; a changed location closes
the old row, and an unchanged export adds none."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.common.clock import FixedClock
from derlink.common.effective import Version
from derlink.contracts.network_files import MODEL_HEADER
from derlink.cpm.app import CpmPart
from derlink.cpm.app import create_part as create_cpm
from derlink.cpm.network.service import location_history
from derlink.derms.app import DermsPart
from derlink.derms.app import create_part as create_derms
from derlink.derms.network.service import write_netloc_export
from derlink.hub.app import HubPart
from derlink.hub.app import create_part as create_hub
from derlink.hub.connections import Targets
from derlink.hub.model import InstanceStatus
from derlink.hub.runtime.memory import MemoryRuntime
from derlink.hub.runtime.port import RetryPolicy
from derlink.platform.auth import CredentialStore
from derlink.platform.database import is_sqlite
from derlink.platform.files import LocalFolder
from derlink.platform.intake.driver import FileSummary
from derlink.platform.mail import MemoryMailer
from derlink.platform.settings import Settings
from tests.integration.hub.test_hub_flows import FakeTarget


@dataclass
class Parts:
    settings: Settings
    clock: FixedClock
    derms: DermsPart
    cpm: CpmPart
    hub: HubPart
    runtime: MemoryRuntime

    def folder(self, store: str) -> Path:
        path = self.settings.home / "files" / store
        path.mkdir(parents=True, exist_ok=True)
        return path

    def names(self, store: str) -> list[str]:
        return sorted(p.name for p in self.folder(store).iterdir() if p.is_file())

    async def load_model(self, name: str, *rows: tuple[str, ...]) -> None:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([MODEL_HEADER, *rows])
        (self.folder("derms-model") / name).write_text(out.getvalue())
        (summary,) = await self.derms.intake.run_once()
        assert summary.rejected == 0, summary

    async def netloc(self) -> tuple[dict[str, Any], list[FileSummary]]:
        """Export, NET-LOC, cpm's intake: what the hub's instance says, what cpm took."""
        await write_netloc_export(db=self.derms.db, clock=self.clock, store=self.derms.content)
        (started,) = await self.hub.hub.run_now("NET-LOC", "operator")
        await self.runtime.drain()
        taken = await self.cpm.netloc.run_once()
        detail: dict[str, Any] = self.hub.hub.store.detail(started.instance_id)
        return detail, taken

    def history(self, sp: str) -> list[Version]:
        return location_history(db=self.cpm.db, cis_service_point_id=sp)


@pytest.fixture
async def parts(tmp_path: Path, database_url: str) -> AsyncIterator[Parts]:
    credentials = CredentialStore.generate(DEFAULT_CLIENTS)
    settings = Settings(
        home=tmp_path, database_url=None if is_sqlite(database_url) else database_url
    )
    clock = FixedClock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC))
    derms = create_derms(settings=settings, credentials=credentials, clock=clock, hub=None)
    cpm = create_cpm(settings=settings, credentials=credentials, clock=clock, hub=None)
    runtime = MemoryRuntime(RetryPolicy(max_attempts=1, interval_s=0.001))
    stores = {
        name: LocalFolder(Path(settings.store_url(name).removeprefix("file://")))
        for name in ("derms-content", "cpm-storage", "cpm-content", "analytics-storage",
                     "analytics-content")
    }  # fmt: skip
    hub = create_hub(
        database_url=settings.database_for("hub"),
        credentials=credentials,
        clock=clock,
        targets=Targets(cpm=FakeTarget(), derms=FakeTarget(), stores=stores),
        runtime=runtime,
        mailer=MemoryMailer(),
        max_body_bytes=1 << 20,
    )
    with TestClient(cpm.app, base_url="http://cpm") as client:
        answer = client.post(
            "/api/v1/master-data",
            headers=credentials.client("operator").header(),
            json={
                "persons": [{"cisPersonId": "P1"}],
                "accounts": [{"cisAccountId": "A1", "cisPersonId": "P1"}],
                "premises": [{"cisPremiseId": "PR1", "cisAccountId": "A1"}],
                "servicePoints": [
                    {"cisServicePointId": sp, "cisPremiseId": "PR1"} for sp in ("SP1", "SP2")
                ],
            },
        )
        assert answer.status_code == 200, answer.text
    try:
        yield Parts(settings, clock, derms, cpm, hub, runtime)
    finally:
        await runtime.stop()
        for store in stores.values():
            await store.close()
        hub.db.dispose()
        await cpm.stop()
        await derms.stop()


MODEL = (
    ("SUBSTATION", "S1", "", "North", "2026-01-01"),
    ("FEEDER", "F1", "S1", "Feeder 1", "2026-01-01"),
    ("FEEDER", "F2", "S1", "Feeder 2", "2026-01-01"),
    ("TRANSFORMER", "T1", "F1", "Pole 1", "2026-01-01"),
    ("TRANSFORMER", "T2", "F2", "Pole 2", "2026-01-01"),
    ("SERVICE_POINT", "SP1", "T1", "", "2026-01-01"),
    ("SERVICE_POINT", "SP2", "T1", "", "2026-01-01"),
)


async def test_netloc_carries_each_location_to_cpm_as_effective_dated_rows(parts: Parts):
    await parts.load_model("NETMODEL_1.csv", *MODEL)
    detail, (taken,) = await parts.netloc()
    assert detail["status"] == InstanceStatus.COMPLETED.value
    assert (taken.rows, taken.accepted, taken.rejected) == (2, 2, 0)
    sent = [n for n in parts.names("derms-content") if n.startswith("Sent-NETLOC_")]
    assert sent == [f"Sent-{taken.name}"]
    assert parts.names("cpm-storage") == [f"Acked-{taken.name}"]
    assert parts.history("SP1") == [Version("2026-01-01", None, ("T1", "F1", "S1"))]

    # SP2 moves to T2 (feeder F2) from June; the next export carries it, cpm closes the row.
    parts.clock.advance(days=40)
    await parts.load_model("NETMODEL_2.csv", ("SERVICE_POINT", "SP2", "T2", "", "2026-06-01"))
    parts.clock.advance(days=5)
    detail, (taken,) = await parts.netloc()
    assert detail["status"] == InstanceStatus.COMPLETED.value
    assert parts.history("SP2") == [
        Version("2026-01-01", "2026-06-01", ("T1", "F1", "S1")),
        Version("2026-06-01", None, ("T2", "F2", "S1")),
    ]
    # Nothing changed since: the next export is the same content, taken as a duplicate by
    # the hub, and cpm holds the same rows.
    parts.clock.advance(days=1)
    again, taken_again = await parts.netloc()
    assert again["outcome"]["duplicateOf"] == detail["id"] and taken_again == []
    assert len(parts.history("SP2")) == 2
