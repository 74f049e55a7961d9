"""The enrollment journey driven as an external system would, for the end-to-end tests that
break something mid-journey (a crash, a database outage) and check that nothing is lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from derlink.cli import sample
from derlink.cli.demo import DERMS_BATCH, Plan, make_plan

from .support import wait_for


def prepare(api: httpx.Client, customers: int) -> Plan:
    """Programs, head-end systems and master data for ``customers``; the journey's plan."""
    for program in sample.PROGRAMS:
        api.post("/cpm/api/v1/programs", json=program).raise_for_status()
    api.post("/derms/api/v1/head-end-systems", json={"codes": sample.HEAD_ENDS}).raise_for_status()
    api.post(
        "/cpm/api/v1/master-data", json=sample.master_data(list(sample.customers(customers)))
    ).raise_for_status()
    return make_plan(customers)


async def send_everything(
    base_url: str, secret: str, plan_requests: list, deadline_s: float
) -> int:
    """Send every request once, through its channel; stop quietly when the platform dies."""
    headers = {"Authorization": f"Bearer operator.{secret}"}
    sent = 0
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as http:
        started = time.monotonic()
        gate = asyncio.Semaphore(16)

        async def cpm(r) -> None:
            nonlocal sent
            async with gate:
                if time.monotonic() - started > deadline_s:
                    return
                try:
                    response = await http.post("/cpm/api/v1/enrollments", json=r.body)
                except httpx.HTTPError:
                    return
                # 201 accepted, 409 already accepted, 422 refused; a 5xx (the platform lost its
                # database) was not accepted and is sent again by the caller's next pass.
                assert response.status_code in (201, 409, 422, 500, 502, 503), response.text
                sent += response.status_code < 500

        derms = [r.body for r in plan_requests if r.channel == "derms"]

        async def originate() -> None:
            nonlocal sent
            for start in range(0, len(derms), DERMS_BATCH // 5):
                try:
                    await http.post(
                        "/derms/api/v1/enrollment-requests/originate",
                        json={"requests": derms[start : start + DERMS_BATCH // 5]},
                    )
                except httpx.HTTPError:
                    return
                sent += 1

        await asyncio.gather(originate(), *(cpm(r) for r in plan_requests if r.channel == "cpm"))
    return sent


async def wait_until_busy(api: httpx.Client, instances: int) -> None:
    """Return once the hub has ``instances`` instances: work is flowing, not before."""
    async with httpx.AsyncClient(
        base_url=str(api.base_url), headers=api.headers, timeout=10
    ) as http:
        for _ in range(400):
            stats = (await http.get("/hub/api/v1/stats")).json()
            if sum(stats["byStatus"].values()) >= instances:
                return
            await asyncio.sleep(0.05)


def send_through(
    base_url: str,
    secret: str,
    api: httpx.Client,
    plan: Plan,
    *,
    busy: int,
    disrupt: Callable[[], Awaitable[None]],
    recover: Callable[[], None] = lambda: None,
    deadline_s: float = 120,
) -> None:
    """Send the journey's first phase and, once the hub holds ``busy`` instances, ``disrupt``
    it; after ``recover``, send everything again, as a client whose calls failed does (the
    idempotency of every call absorbs the repeats of those that had been accepted)."""

    async def disrupted() -> None:
        sender = asyncio.create_task(send_everything(base_url, secret, plan.phase1, deadline_s))
        await wait_until_busy(api, busy)
        await disrupt()
        await sender

    asyncio.run(disrupted())
    recover()
    asyncio.run(send_everything(base_url, secret, plan.phase1, 600))


def settle_and_check(api: httpx.Client, plan: Plan, *, after: str) -> None:
    """Wait until every part has finished the journey, then check that every valid
    enrollment is Synchronized exactly once, in cpm and in DERMS, that reconciliation finds no
    difference and that the hospital is empty."""
    valid = plan.valid
    seen: dict[str, Any] = {}

    def settled() -> bool:
        seen["sync"] = sync = api.get("/cpm/api/v1/sync-requests/counts").json()
        seen["origination"] = origination = api.get(
            "/derms/api/v1/enrollment-requests/counts"
        ).json()
        seen["hub"] = stats = api.get("/hub/api/v1/stats").json()
        return (
            sync["Synchronized"] == len(valid)
            and sync["Pending"] == 0
            and sync["Awaiting Acknowledgement"] == 0
            and origination.get("Pending", 0) == 0
            and origination.get("Sent", 0) == 0
            and stats["activeRuns"] == 0
            and set(stats["byStatus"]) <= {"Completed", "Completed with errors"}
        )

    try:
        wait_for(settled, timeout_s=240, what=f"the journey to settle after {after}")
    except AssertionError as timed_out:
        raise AssertionError(f"{timed_out}; where it stands: {seen}") from None
    sync = api.get("/cpm/api/v1/sync-requests/counts").json()
    assert sum(sync.values()) == len(valid)  # one sync request per enrollment: no double effect
    assert sync["Error"] == 0
    registry = registry_items(api)
    assert len(registry) == len(valid)  # exactly once in DERMS
    assert all(item["status"] == "ACTIVE" for item in registry)
    assert api.get("/hub/api/v1/hospital").json() == []
    assert api.get("/hub/api/v1/reconciliation").json()["differences"] == 0


def registry_items(api: httpx.Client) -> list[dict]:
    """Every subscription in the DERMS registry, page by page."""
    items: list[dict] = []
    after = ""
    while True:
        page = api.get("/derms/api/v1/registry", params={"after": after, "limit": "1000"}).json()
        items += page["items"]
        after = page.get("next") or ""
        if not after:
            return items
