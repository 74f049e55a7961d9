"""A PostgreSQL outage mid-journey: for 20 s every connection to the database is refused and
every open one dropped. Nothing accepted is lost: once the database is back, every enrollment
ends Synchronized exactly once, reconciliation finds no difference and the hospital is empty.

The database is reached through a loopback TCP proxy that the test cuts and restores.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from derlink.cli.server import ServerProcess
from tests.support.proxy import TcpProxy

from .journey_load import prepare, send_through, settle_and_check
from .support import client

CUSTOMERS = 300
OUTAGE_S = 20.0


@pytest.mark.slow
def test_a_database_outage_mid_journey_loses_nothing(tmp_path: Path, postgres_url: str):
    real = urlsplit(postgres_url)
    proxy = TcpProxy(real.hostname or "127.0.0.1", real.port or 5432)
    proxy.start()
    through_proxy = postgres_url.replace(real.netloc, f"{real.username}@127.0.0.1:{proxy.port}")
    server = ServerProcess(
        tmp_path / "home",
        database_url=through_proxy,
        extra_env={"DERLINK_RETRY_INTERVAL_S": "0.5", "DERLINK_SWEEP_INTERVAL_S": "5"},
    )
    server.start()
    api = client(server)
    try:
        plan = prepare(api, CUSTOMERS)

        async def outage() -> None:
            proxy.cut()
            await asyncio.sleep(OUTAGE_S)
            proxy.restore()

        send_through(server.base_url, server.operator_secret(), api, plan, busy=5, disrupt=outage)
        settle_and_check(api, plan, after="the outage")
    finally:
        api.close()
        server.stop()
        proxy.stop()
