"""A run DBOS holds as taken by this process while nothing here executes it – the answer to
taking it off the queue was lost with a dropped database connection – is told apart from a
run that executes, and resuming it runs it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from derlink.hub.runtime import dbos_engine
from derlink.hub.runtime.dbos_engine import DbosRuntime, DbosSettings
from derlink.hub.runtime.port import FlowContext, RetryPolicy, RunState
from derlink.platform.database import driver_url


async def wait_until(probe: Any, what: str) -> None:
    deadline = time.monotonic() + 20
    while not await probe():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_an_orphaned_run_is_told_apart_and_resumed(tmp_path: Path, database_url: str):
    runtime = DbosRuntime(
        DbosSettings(system_database_url=driver_url(database_url), polling_interval_s=0.05),
        retry=RetryPolicy(max_attempts=1),
    )
    release = asyncio.Event()
    calls: list[str] = []

    async def handler(ctx: FlowContext, instance_id: str, message: dict[str, Any]) -> str:
        calls.append(instance_id)
        if len(calls) == 1:
            await release.wait()
        return "done"

    runtime.register("ORPHAN-TEST", handler, concurrency=2)
    await runtime.start()
    try:
        await runtime.submit("ORPHAN-TEST", "ORPHAN-TEST:1", "ORPHAN-TEST:1", {})

        async def executing() -> bool:
            return calls == ["ORPHAN-TEST:1"]

        await wait_until(executing, "the run to execute")
        states = await runtime.run_states(["ORPHAN-TEST:1", "ORPHAN-TEST:never"])
        assert states == {"ORPHAN-TEST:1": RunState.RUNNING, "ORPHAN-TEST:never": RunState.UNKNOWN}

        # As when the run's taking was never answered: DBOS holds it, nothing here executes it.
        dbos_engine._EXECUTING.discard("ORPHAN-TEST:1")
        assert (await runtime.run_states(["ORPHAN-TEST:1"]))["ORPHAN-TEST:1"] is RunState.ORPHANED

        await runtime.resume("ORPHAN-TEST:1")

        async def ran_to_its_end() -> bool:
            state = (await runtime.run_states(["ORPHAN-TEST:1"]))["ORPHAN-TEST:1"]
            return len(calls) == 2 and state is RunState.ENDED

        await wait_until(ran_to_its_end, "the resumed run to end")
    finally:
        release.set()
        await runtime.stop()
