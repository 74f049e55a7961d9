"""An in-memory runtime: the same contract as the durable one, minus durability.

Used by unit tests and as the executable documentation of the port. Runs each submitted
instance as an asyncio task, with the retry policy applied by ``asyncio.sleep``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from derlink.common.errors import RemoteFault
from derlink.hub.runtime.patience import patient
from derlink.hub.runtime.port import Handler, RetryPolicy, RunState, Tick

T = TypeVar("T")


class MemoryContext:
    def __init__(self, instance_id: str, retry: RetryPolicy) -> None:
        self.instance_id = instance_id
        self.retry = retry
        self.steps: list[str] = []

    async def step(self, name: str, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        delays = self.retry.delays()
        attempt = 0
        while True:
            attempt += 1
            self.steps.append(name)
            try:
                result = await patient(name, fn, self.retry)(*args)
            except RemoteFault as exc:
                if attempt > len(delays):
                    raise RemoteFault(
                        f"{name} failed after {attempt} attempts: {exc.message}", step=name
                    ) from None
                await asyncio.sleep(delays[attempt - 1])
                continue
            return result


class MemoryRuntime:
    def __init__(self, retry: RetryPolicy | None = None) -> None:
        self.retry = retry or RetryPolicy(max_attempts=3, interval_s=0.01)
        self.handlers: dict[str, Handler] = {}
        #: Schedules are kept, not run: a test fires them with :meth:`tick`.
        self.schedules: dict[str, tuple[str, Tick]] = {}
        self.tasks: dict[str, asyncio.Task[Any]] = {}

    def register(self, flow: str, handler: Handler, *, concurrency: int) -> None:
        self.handlers[flow] = handler

    def register_schedule(self, flow: str, cron: str, tick: Tick) -> None:
        self.schedules[flow] = (cron, tick)

    async def tick(self, flow: str, at: datetime) -> None:
        await self.schedules[flow][1](at)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)

    async def submit(
        self, flow: str, run_id: str, instance_id: str, message: dict[str, Any]
    ) -> None:
        if run_id in self.tasks:
            return
        ctx = MemoryContext(instance_id, self.retry)
        self.tasks[run_id] = asyncio.ensure_future(self.handlers[flow](ctx, instance_id, message))

    async def active_runs(self) -> int:
        return sum(1 for t in self.tasks.values() if not t.done())

    async def run_states(self, run_ids: list[str]) -> dict[str, RunState]:
        def state(run_id: str) -> RunState:
            task = self.tasks.get(run_id)
            if task is None:
                return RunState.UNKNOWN
            return RunState.ENDED if task.done() else RunState.RUNNING

        return {run_id: state(run_id) for run_id in run_ids}

    async def resume(self, run_id: str) -> None:
        """Runs here are never orphaned: a task runs until it ends."""

    async def drain(self) -> None:
        """Wait until every submitted run has finished (tests)."""
        while pending := [t for t in self.tasks.values() if not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)
