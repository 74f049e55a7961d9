"""A crash mid-journey: SIGKILL of ``derlink up`` while enrollments flow through every part.
After a restart on the same data, every accepted message completes exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from derlink.cli.server import ServerProcess

from .journey_load import prepare, send_through, settle_and_check
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

        async def crash() -> None:
            server.kill()

        # The restarted server takes the calls that were cut off, sent again.
        send_through(
            server.base_url,
            server.operator_secret(),
            api,
            plan,
            busy=3,
            disrupt=crash,
            recover=server.start,
            deadline_s=60,
        )
        settle_and_check(api, plan, after="the restart")
    finally:
        api.close()
        server.stop()
