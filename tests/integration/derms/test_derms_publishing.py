"""What derms sends the hub: acks, originated requests and status answers reach a fake hub on
loopback, in the hub's intake shape ``{"batchId", <field>: [...]}``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from derlink.common.clock import FixedClock
from derlink.common.errors import RemoteFault
from derlink.derms.app import DermsPart, create_part
from derlink.derms.registry.tables import origination
from derlink.platform.auth import CredentialStore
from derlink.platform.http import Connection, HttpClient
from derlink.platform.outbox import Publisher, Route
from derlink.platform.settings import Settings
from tests.support.servers import free_port

from .support import FakeHub, enroll_sync, enrollment_request, status_check, thermostat


def hub_connection(base_url: str, credentials: CredentialStore) -> HttpClient:
    derms = credentials.client("derms")
    return HttpClient(
        Connection(name="hub", base_url=base_url, username=derms.client_id, secret=derms.secret)
    )


@pytest.fixture
async def hub(fake_hub: FakeHub, credentials: CredentialStore) -> AsyncIterator[HttpClient]:
    client = hub_connection(fake_hub.base_url, credentials)
    yield client
    await client.close()


@pytest.fixture
def linked(
    settings: Settings, credentials: CredentialStore, clock: FixedClock, hub: HttpClient
) -> Iterator[DermsPart]:
    """derms with a publisher that posts to the fake hub (not started: tests drive it)."""
    derms = create_part(settings=settings, credentials=credentials, clock=clock, hub=hub)
    yield derms
    derms.db.dispose()


@pytest.fixture
async def api(linked: DermsPart) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=linked.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://derms") as client:
        yield client


def publisher(part: DermsPart) -> Publisher:
    assert part.publisher is not None
    return part.publisher


def route(part: DermsPart, flow: str) -> Route:
    return next(r for r in publisher(part).routes if r.flow == flow)


async def post(
    api: httpx.AsyncClient, path: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    response = await api.post(f"/api/v1{path}", json=body, headers=headers)
    assert response.status_code in (200, 202), response.text
    result: dict[str, Any] = response.json()
    return result


async def counts(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, int]:
    response = await api.get("/api/v1/enrollment-requests/counts", headers=headers)
    result: dict[str, int] = response.json()
    return result


async def test_the_publisher_delivers_each_record_s_ack_to_the_hub(
    linked: DermsPart,
    api: httpx.AsyncClient,
    fake_hub: FakeHub,
    credentials: CredentialStore,
    hub_headers: dict[str, str],
) -> None:
    batch = [enroll_sync("SR-1", "E-1", thermostat("NIC-1")), enroll_sync("SR-2", "E-2")]
    await post(api, "/enrollments", {"batchId": "B-1", "messages": batch}, hub_headers)

    delivered = await publisher(linked).publish_once(route(linked, "ENR-ACK"))

    assert delivered == 2
    [(code, body, headers)] = fake_hub.received
    assert code == "ENR-ACK"
    assert set(body) == {"batchId", "acks"}
    assert [a["dacsMessageId"] for a in body["acks"]] == ["SR-1", "SR-2"]
    assert body["acks"][0]["responses"][0]["id"] == "D-NIC-1"
    assert headers["idempotency-key"] == body["batchId"]
    assert headers["authorization"] == f"Bearer {credentials.client('derms').bearer()}"
    assert publisher(linked).pending() == 0


async def test_an_originated_request_reaches_the_hub_and_its_ack_settles_it(
    linked: DermsPart,
    api: httpx.AsyncClient,
    fake_hub: FakeHub,
    operator: dict[str, str],
    hub_headers: dict[str, str],
) -> None:
    requests = [enrollment_request("REQ-1"), enrollment_request("REQ-2", nic="NIC-2")]
    receipt = await post(api, "/enrollment-requests/originate", {"requests": requests}, operator)
    again = await post(api, "/enrollment-requests/originate", {"requests": requests}, operator)
    assert (receipt, again) == ({"accepted": 2, "duplicates": 0}, {"accepted": 0, "duplicates": 2})
    assert (await counts(api, operator))["Pending"] == 2

    await publisher(linked).publish_once(route(linked, "ENR-REQ"))

    [sent] = fake_hub.batches("ENR-REQ")
    assert set(sent) == {"batchId", "requests"}
    assert sent["requests"] == requests
    assert (await counts(api, operator)) == {"Pending": 0, "Sent": 2, "Accepted": 0, "Rejected": 0}

    ack = {
        "ackType": "ERROR",
        "whenISO": "2026-06-01T12:00:01.000Z",
        "responses": [
            {
                "id": "REQ-1",
                "dacsMessageId": "REQ-1",
                "value": "E-77",
                "responseCode": "SUCCESS",
                "responseTimeISO": "2026-06-01T12:00:01.000Z",
            },
            {
                "id": "REQ-2",
                "dacsMessageId": "REQ-2",
                "value": LONG_REASON,  # a refusal's reason is longer than an id
                "responseCode": "CPM-PROGRAM-UNKNOWN",
                "responseTimeISO": "2026-06-01T12:00:01.000Z",
            },
            {"id": "REQ-404", "responseCode": "SUCCESS", "value": "E-78"},
        ],
    }
    settled = await post(api, "/acks/enrollment-requests", ack, hub_headers)
    redelivered = await post(api, "/acks/enrollment-requests", ack, hub_headers)

    assert [r["outcome"] for r in settled["results"]] == ["Accepted", "Rejected", "Unknown"]
    assert [r["outcome"] for r in redelivered["results"]] == ["Duplicate", "Duplicate", "Unknown"]
    assert (await counts(api, operator)) == {"Pending": 0, "Sent": 0, "Accepted": 1, "Rejected": 1}
    with linked.db.read() as conn:
        rows = conn.execute(
            sa.select(
                origination.c.message_id,
                origination.c.enrollment_id,
                origination.c.response_code,
                origination.c.message,
            ).order_by(origination.c.message_id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("REQ-1", "E-77", "SUCCESS", None),
        ("REQ-2", None, "CPM-PROGRAM-UNKNOWN", LONG_REASON),
    ]
    # An accepted request's value is its enrollment id: no longer than an id.
    too_long = {"ackType": "SUCCESS", "responses": [
        {"id": "REQ-9", "responseCode": "SUCCESS", "value": "E-" + "9" * 100}]}  # fmt: skip
    answer = await api.post("/api/v1/acks/enrollment-requests", json=too_long, headers=hub_headers)
    assert answer.status_code == 422 and "at most 80 characters" in answer.text


LONG_REASON = (
    "program BYOT-SUMMER holds no rule for specification ACME-X (it takes ECOBEE-ST, NEST-LT3, "
    "HONEYWELL-T6): the device cannot join"
)


async def test_an_ack_that_overtakes_the_publisher_is_not_undone_when_the_batch_is_sent(
    linked: DermsPart, api: httpx.AsyncClient, operator: dict[str, str], hub_headers: dict[str, str]
) -> None:
    await post(
        api, "/enrollment-requests/originate", {"requests": [enrollment_request("R-1")]}, operator
    )
    ack = {
        "ackType": "SUCCESS",
        "responses": [{"id": "R-1", "value": "E-1", "responseCode": "SUCCESS"}],
    }
    await post(api, "/acks/enrollment-requests", ack, hub_headers)

    await publisher(linked).publish_once(route(linked, "ENR-REQ"))

    assert (await counts(api, operator))["Accepted"] == 1


async def test_status_answers_reach_the_hub(
    linked: DermsPart, api: httpx.AsyncClient, fake_hub: FakeHub, hub_headers: dict[str, str]
) -> None:
    checks = {"batchId": "SC-1", "messages": [status_check("DS-1", "NIC-1")]}
    await post(api, "/device-status-checks", checks, hub_headers)

    await publisher(linked).publish_once(route(linked, "DEV-STATUS-ACK"))

    [sent] = fake_hub.batches("DEV-STATUS-ACK")
    assert set(sent) == {"batchId", "responses"}
    [answer] = sent["responses"]
    assert (answer["transactionId"], answer["status"]) == ("DS-1", "FAILURE")
    assert answer["message"]


async def test_a_started_part_publishes_on_its_own(
    linked: DermsPart, api: httpx.AsyncClient, fake_hub: FakeHub, hub_headers: dict[str, str]
) -> None:
    await linked.start()
    try:
        batch = {"batchId": "B-1", "messages": [enroll_sync("SR-1", "E-1", thermostat("N-1"))]}
        await post(api, "/enrollments", batch, hub_headers)
        for _ in range(500):  # the publisher polls; wait for it, however long the machine takes
            if fake_hub.batches("ENR-ACK"):
                break
            await asyncio.sleep(0.02)
    finally:
        await linked.stop()

    [sent] = fake_hub.batches("ENR-ACK")
    assert [a["dacsMessageId"] for a in sent["acks"]] == ["SR-1"]


async def test_acks_wait_in_the_outbox_while_the_hub_is_unreachable(
    tmp_path: Path, credentials: CredentialStore, clock: FixedClock, hub_headers: dict[str, str]
) -> None:
    nowhere = hub_connection(f"http://127.0.0.1:{free_port()}/hub", credentials)
    derms = create_part(
        settings=Settings(home=tmp_path), credentials=credentials, clock=clock, hub=nowhere
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=derms.app), base_url="http://derms"
        ) as api:
            batch = {"batchId": "B-1", "messages": [enroll_sync("SR-1", "E-1")]}
            await post(api, "/enrollments", batch, hub_headers)

        with pytest.raises(RemoteFault):
            await publisher(derms).publish_once(route(derms, "ENR-ACK"))

        assert publisher(derms).pending() == 1
    finally:
        await nowhere.close()
        derms.db.dispose()
