"""How the hub classifies what a target answers over HTTP (platform/http.py): a target that
failed on the message (500) is a technical fault, in the hospital after one attempt; a target
that is unavailable (429, 502, 503, 504, unreachable) is a remote fault, retried. Real HTTP
on loopback, with the hub's own client, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.common.clock import FixedClock
from derlink.hub.app import HubPart, create_part
from derlink.hub.connections import Targets
from derlink.hub.model import InstanceStatus
from derlink.hub.runtime.memory import MemoryRuntime
from derlink.hub.runtime.port import RetryPolicy
from derlink.platform.auth import CredentialStore
from derlink.platform.http import Connection, HttpClient
from derlink.platform.mail import MemoryMailer
from tests.support.servers import free_port, serve

from .test_hub_flows import sync_record

ATTEMPTS = 5


class Target:
    """A target system on loopback: DERMS's enroll answers ``status``; cpm takes the acks."""

    def __init__(self) -> None:
        self.status = 202
        self.enroll_calls = 0

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/derms/api/v1/enrollments")
        async def enroll(_request: Request) -> JSONResponse:
            self.enroll_calls += 1
            if self.status >= 400:
                body = {"status": self.status, "detail": "failed on this message"}
                return JSONResponse(body, status_code=self.status)
            return JSONResponse({"accepted": 1, "duplicates": 0}, status_code=self.status)

        @app.post("/cpm/api/v1/sync-requests/acknowledgements")
        async def acknowledge(request: Request) -> dict[str, Any]:
            acks = (await request.json())["acknowledgements"]
            return {
                "results": [{"syncRequestId": a["syncRequestId"], "outcome": "Error"} for a in acks]
            }

        return app


@pytest.fixture
def target() -> Iterator[tuple[Target, str]]:
    stand_in = Target()
    with serve(stand_in.app()) as url:
        yield stand_in, url


def hub_to(base_url: str, tmp_path: Path, database_url: str) -> HubPart:
    def client(name: str) -> HttpClient:
        return HttpClient(Connection(name=name, base_url=f"{base_url}/{name}", auth="none"))

    return create_part(
        database_url=database_url,
        credentials=CredentialStore.generate(DEFAULT_CLIENTS),
        clock=FixedClock(datetime(2026, 7, 1, 18, 0, tzinfo=UTC)),
        targets=Targets(cpm=client("cpm"), derms=client("derms")),
        runtime=MemoryRuntime(RetryPolicy(max_attempts=ATTEMPTS, interval_s=0.001)),
        mailer=MemoryMailer(),
        max_body_bytes=1024 * 1024,
    )


async def sync_through(part: HubPart) -> dict[str, Any]:
    """Send one ENR-SYNC record through the hub; the instance when its run has ended."""
    batch = part.hub.flow("ENR-SYNC").spec.batch.model_validate(
        {"batchId": "B1", "messages": [sync_record("SR1")]}
    )
    received = await part.hub.accept("ENR-SYNC", batch, "cpm")
    runtime = part.hub.runtime
    assert isinstance(runtime, MemoryRuntime)
    await runtime.drain()
    await part.hub.targets.close()
    detail: dict[str, Any] = part.hub.store.detail(received.instance_id)
    return detail


@pytest.mark.parametrize(
    ("status", "category", "calls"),
    [
        # Failed on the message: the same message would meet the same failure.
        (500, "technical", 1),
        (501, "technical", 1),
        # Unavailable for now: a later attempt may go through.
        (429, "remote", ATTEMPTS),
        (502, "remote", ATTEMPTS),
        (503, "remote", ATTEMPTS),
        (504, "remote", ATTEMPTS),
    ],
)
async def test_what_the_target_answers_decides_the_fault_and_its_retries(
    target: tuple[Target, str],
    tmp_path: Path,
    database_url: str,
    status: int,
    category: str,
    calls: int,
):
    stand_in, url = target
    stand_in.status = status
    detail = await sync_through(hub_to(url, tmp_path, database_url))
    assert detail["status"] == InstanceStatus.FAULTED
    assert detail["fault_category"] == category
    assert stand_in.enroll_calls == calls


async def test_an_unreachable_target_is_a_remote_fault(tmp_path: Path, database_url: str):
    nobody = f"http://127.0.0.1:{free_port()}"
    detail = await sync_through(hub_to(nobody, tmp_path, database_url))
    assert detail["status"] == InstanceStatus.FAULTED
    assert detail["fault_category"] == "remote"


async def test_a_target_that_takes_the_message_completes_it(
    target: tuple[Target, str], tmp_path: Path, database_url: str
):
    stand_in, url = target
    detail = await sync_through(hub_to(url, tmp_path, database_url))
    assert detail["status"] == InstanceStatus.COMPLETED
    assert stand_in.enroll_calls == 1
