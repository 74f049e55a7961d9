"""A crash mid-journey: SIGKILL of ``derlink up`` while enrollments flow through every part.
After a restart on the same data, every accepted message completes exactly once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from derlink.cli import sample
from derlink.cli.demo import DERMS_BATCH, make_plan
from derlink.cli.server import ServerProcess

from .support import client, wait_for

CUSTOMERS = 400


async def _send_everything(
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
                assert response.status_code in (201, 409, 422), response.text
                sent += 1

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


@pytest.mark.slow
def test_after_a_sigkill_mid_journey_every_accepted_message_completes_exactly_once(tmp_path: Path):
    home = tmp_path / "home"
    server = ServerProcess(home)
    server.start()
    api = client(server)
    try:
        for program in sample.PROGRAMS:
            api.post("/cpm/api/v1/programs", json=program).raise_for_status()
        api.post(
            "/derms/api/v1/head-end-systems", json={"codes": sample.HEAD_ENDS}
        ).raise_for_status()
        api.post(
            "/cpm/api/v1/master-data", json=sample.master_data(list(sample.customers(CUSTOMERS)))
        ).raise_for_status()
        plan = make_plan(CUSTOMERS)
        valid = plan.valid

        async def crash_mid_journey() -> None:
            sender = asyncio.create_task(
                _send_everything(server.base_url, server.operator_secret(), plan.phase1, 60)
            )
            # Kill once work is flowing through the hub, not before.
            for _ in range(200):
                stats = api.get("/hub/api/v1/stats").json()
                if sum(stats["byStatus"].values()) >= 3:
                    break
                await asyncio.sleep(0.05)
            server.kill()
            await sender

        asyncio.run(crash_mid_journey())
        server.start()
        # A client whose calls were cut off sends them again; idempotency absorbs the repeats.
        asyncio.run(_send_everything(server.base_url, server.operator_secret(), plan.phase1, 600))

        def settled() -> bool:
            sync = api.get("/cpm/api/v1/sync-requests/counts").json()
            origination = api.get("/derms/api/v1/enrollment-requests/counts").json()
            stats = api.get("/hub/api/v1/stats").json()
            return (
                sync["Synchronized"] == len(valid)
                and sync["Pending"] == 0
                and sync["Awaiting Acknowledgement"] == 0
                and origination.get("Pending", 0) == 0
                and origination.get("Sent", 0) == 0
                and stats["activeRuns"] == 0
            )

        wait_for(settled, timeout_s=240, what="the journey to settle after the restart")
        sync = api.get("/cpm/api/v1/sync-requests/counts").json()
        assert sum(sync.values()) == len(valid)  # one sync request per enrollment: no double effect
        assert sync["Error"] == 0
        registry, after = [], ""
        while True:
            page = api.get(
                "/derms/api/v1/registry", params={"after": after, "limit": "1000"}
            ).json()
            registry += page["items"]
            after = page.get("next") or ""
            if not after:
                break
        assert len(registry) == len(valid)
        assert all(item["status"] == "ACTIVE" for item in registry)
        assert api.get("/hub/api/v1/stats").json()["hospital"] == 0
        assert api.get("/hub/api/v1/reconciliation").json()["differences"] == 0
    finally:
        api.close()
        server.stop()
