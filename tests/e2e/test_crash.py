"""A crash mid-journey: SIGKILL of ``derlink up`` while enrollments flow through every part.
After a restart on the same data, every accepted message completes exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from derlink.cli.server import ServerProcess

from .journey_load import prepare, send_everything, settle_and_check, wait_until_busy
from .support import client

CUSTOMERS = 400


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_after_a_sigkill_mid_journey_every_accepted_message_completes_exactly_once(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
):
    url = None if database == "sqlite" else str(request.getfixturevalue("postgres_url"))
    server = ServerProcess(tmp_path / "home", database_url=url)
    server.start()
    api = client(server)
    try:
        plan = prepare(api, CUSTOMERS)

        async def crash_mid_journey() -> None:
            sender = asyncio.create_task(
                send_everything(server.base_url, server.operator_secret(), plan.phase1, 60)
            )
            await wait_until_busy(api, 3)
            server.kill()
            await sender

        asyncio.run(crash_mid_journey())
        server.start()
        # A client whose calls were cut off sends them again; idempotency absorbs the repeats.
        asyncio.run(send_everything(server.base_url, server.operator_secret(), plan.phase1, 600))
        settle_and_check(api, plan, after="the restart")
    finally:
        api.close()
        server.stop()
