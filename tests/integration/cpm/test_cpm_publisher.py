"""cpm's outbox reaches a hub on loopback; with the hub down, nothing is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from cpm_harness import Cpm
from fastapi import FastAPI, Request
from test_cpm_participations import device, enroll, reservation, reserve, stage
from tests.support.servers import free_port, serve

from derlink.common.errors import RemoteFault
from derlink.cpm.app import outbox_routes
from derlink.cpm.db import outbox
from derlink.cpm.enrollment.tables import device_status_checks
from derlink.platform.http import Connection, HttpClient
from derlink.platform.outbox import Publisher


def fake_hub() -> tuple[FastAPI, list[dict[str, Any]]]:
    """A hub intake that records every batch it gets and answers 202."""
    app = FastAPI()
    received: list[dict[str, Any]] = []

    @app.post("/hub/api/v1/flows/{code}/messages", status_code=202)
    async def intake(code: str, request: Request) -> dict[str, int]:
        body = await request.json()
        headers = request.headers
        received.append({"flow": code, "authorization": headers.get("authorization"),
                         "idempotencyKey": headers.get("idempotency-key"), **body})  # fmt: skip
        records = next(v for k, v in body.items() if k != "batchId")
        return {"accepted": len(records)}

    return app, received


def hub_client(base_url: str) -> HttpClient:
    return HttpClient(
        Connection(name="hub", base_url=f"{base_url}/hub", username="cpm", secret="s3cret")
    )


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition never held")


@contextmanager
def publishing(
    part_with_hub: Callable[[HttpClient], Cpm],
) -> Iterator[tuple[Cpm, HttpClient, list[dict[str, Any]]]]:
    """A seeded cpm part whose outbox goes to a fake hub on loopback: the part, its client of
    the hub, and what the hub receives."""
    app, received = fake_hub()
    with serve(app) as url:
        hub = hub_client(url)
        yield part_with_hub(hub), hub, received


async def publish_until(cpm: Cpm, hub: HttpClient, condition: Callable[[], bool]) -> None:
    """Run the part (its publisher) until ``condition`` holds; then stop it and close its
    client of the hub."""
    await cpm.part.start()
    try:
        await _until(condition)
    finally:
        await cpm.part.stop()
        await hub.close()


async def test_the_publisher_posts_batches_and_the_requests_await_acknowledgement(
    part_with_hub: Callable[[HttpClient], Cpm],
) -> None:
    with publishing(part_with_hub) as (cpm, hub, received):
        first = cpm.active_enrollment("REQ-1")
        second = cpm.enroll("REQ-2", account="A2", service_point="SP2",
                            assets=[cpm.asset("NIC-2")])  # fmt: skip
        device_id = cpm.enrollment(first["enrollmentId"])["devices"][0]["deviceId"]
        check_id = cpm.post(f"/devices/{device_id}/status-checks").json()["dacsMessageId"]
        await publish_until(
            cpm,
            hub,
            lambda: {r["flow"] for r in received} == {"ENR-SYNC", "DEV-STATUS", "PROG-RULE"},
        )
    [enr_sync] = [r for r in received if r["flow"] == "ENR-SYNC"]
    assert [m["dacsMessageId"] for m in enr_sync["messages"]] == [
        first["syncRequestId"], second["syncRequestId"],
    ]  # fmt: skip
    assert enr_sync["idempotencyKey"] == enr_sync["batchId"]
    assert enr_sync["authorization"] == "Bearer cpm.s3cret"
    # The harness's program was created Active: its (empty) rule set went to DERMS.
    [prog_rule] = [r for r in received if r["flow"] == "PROG-RULE"]
    assert [(p["program"]["code"], p["version"], p["rules"]) for p in prog_rule["programs"]] == [
        ("BYOT", 1, [])  # OLD is Inactive: not sent
    ]
    [dev_status] = [r for r in received if r["flow"] == "DEV-STATUS"]
    assert dev_status["messages"][0]["dacsMessageId"] == check_id
    # The first was acknowledged before the hub took it: it stays Synchronized.
    assert cpm.sync_state(first["syncRequestId"]) == "Synchronized"
    assert cpm.sync_state(second["syncRequestId"]) == "Awaiting Acknowledgement"
    assert cpm.history(second["syncRequestId"])[-1] == (
        "Pending", "Awaiting Acknowledgement", "cpm",
    )  # fmt: skip
    with cpm.part.db.read() as conn:
        state: str = conn.execute(sa.select(device_status_checks.c.state)).scalar_one()
    assert state == "Sent"


async def test_with_the_hub_down_nothing_is_lost_and_the_same_batch_goes_when_it_returns(
    part_with_hub: Callable[[HttpClient], Cpm],
) -> None:
    port = free_port()
    hub = hub_client(f"http://127.0.0.1:{port}")
    cpm = part_with_hub(hub)
    created = cpm.enroll()
    route = outbox_routes(cpm.clock)[0]
    publisher = Publisher(db=cpm.part.db, table=outbox, hub=hub, routes=[route], clock=cpm.clock)
    try:
        with pytest.raises(RemoteFault):
            await publisher.publish_once(route)
        assert cpm.sync_state(created["syncRequestId"]) == "Pending"
        with cpm.part.db.read() as conn:
            [row] = conn.execute(
                sa.select(outbox.c.batch_id, outbox.c.sent_at).where(outbox.c.flow == route.flow)
            ).all()
        assert row.batch_id is not None and row.sent_at is None

        app, received = fake_hub()
        with serve(app, port):
            assert await publisher.publish_once(route) == 1
            assert await publisher.publish_once(route) == 0
    finally:
        await hub.close()
    [batch] = received
    assert batch["batchId"] == row.batch_id
    assert [m["dacsMessageId"] for m in batch["messages"]] == [created["syncRequestId"]]
    assert cpm.sync_state(created["syncRequestId"]) == "Awaiting Acknowledgement"


async def test_an_opt_out_goes_to_the_hub_s_opt_out_flow(
    part_with_hub: Callable[[HttpClient], Cpm],
) -> None:
    with publishing(part_with_hub) as (cpm, hub, received):
        assert cpm.post("/program-events", stage(), client="hub").status_code == 200
        enroll(cpm, "REQ-1", ["NIC-1"])
        (reserved,) = reserve(cpm, reservation(device("NIC-1")))
        pid = reserved["participationId"]
        answer = cpm.post(f"/participations/{pid}/opt-out", {"channel": "CUSTOMER"})
        assert answer.status_code == 200, answer.text
        [message] = cpm.outbox_messages("OPT-OUT")
        await publish_until(cpm, hub, lambda: any(r["flow"] == "OPT-OUT" for r in received))
    assert_one_batch(received, "OPT-OUT", "optOuts", [message])
    assert (message["participationId"], message["channel"], message["version"]) == (
        pid, "CUSTOMER", 1)  # fmt: skip


def assert_one_batch(
    received: list[dict[str, Any]], flow: str, field: str, messages: list[dict[str, Any]]
) -> None:
    """The fake hub got one batch of ``flow``: ``messages`` in ``field``, as cpm's client, its
    idempotency key its batch id."""
    [batch] = [r for r in received if r["flow"] == flow]
    assert batch[field] == messages
    assert set(batch) == {"flow", "authorization", "idempotencyKey", "batchId", field}
    assert batch["idempotencyKey"] == batch["batchId"]
    assert batch["authorization"] == "Bearer cpm.s3cret"


async def test_an_unavailability_goes_to_the_hub_s_unavail_flow(
    part_with_hub: Callable[[HttpClient], Cpm],
) -> None:
    with publishing(part_with_hub) as (cpm, hub, received):
        device_id = enroll(cpm, "REQ-1", ["NIC-1"])["devices"]["NIC-1"]
        period = {"start": "2026-07-17T12:00:00-07:00", "end": "2026-07-17T20:00:00-07:00"}
        added = cpm.post(f"/devices/{device_id}/unavailabilities", period)
        assert added.status_code == 201, added.text
        [message] = cpm.outbox_messages("UNAVAIL")
        await publish_until(cpm, hub, lambda: any(r["flow"] == "UNAVAIL" for r in received))
    assert_one_batch(received, "UNAVAIL", "unavailabilities", [message])
    assert (message["unavailabilityId"], message["status"], message["version"]) == (
        added.json()["id"], "ACTIVE", 1)  # fmt: skip
