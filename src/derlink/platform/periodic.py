"""A part's own background schedule: one job every so many seconds, in the part's event loop.

A failed run is logged and the next one tries again: the loop never dies. ``stop`` lets a run
under way finish for ``grace_s`` seconds, then cancels it (a job must leave nothing half-done
when cancelled).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("derlink")


class Every:
    def __init__(
        self,
        name: str,
        interval_s: float,
        job: Callable[[], Awaitable[object]],
        *,
        at_once: bool = False,
        grace_s: float = 0.0,
    ) -> None:
        self.name = name
        self.interval_s = interval_s
        self.job = job
        #: Run the first time on start rather than after the first interval.
        self.at_once = at_once
        self.grace_s = grace_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        """Start the schedule (nothing if it runs already or its interval is not positive)."""
        if self._task is not None or self.interval_s <= 0:
            return
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def _loop(self) -> None:
        if not self.at_once and await self._wait():
            return
        while True:
            try:
                await self.job()
            except Exception:  # the schedule never dies: the next run tries again
                log.exception("%s run failed", self.name)
            if await self._wait():
                return

    async def _wait(self) -> bool:
        """Sleep one interval; True when stopped meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.interval_s)
        return self._stopping.is_set()

    async def stop(self) -> None:
        if self._task is None:
            return
        task, self._task = self._task, None
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), self.grace_s)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
