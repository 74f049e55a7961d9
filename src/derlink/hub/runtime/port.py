"""The hub's durable-execution port.

A flow instance is a coroutine ``handler(ctx, instance_id, message)``. Inside it, every side
effect goes through ``ctx.step(name, fn, *args)``: the engine runs ``fn`` at most once to
completion per instance (its result is checkpointed and replayed after a crash), retrying it
with exponential backoff while it raises :class:`~derlink.common.errors.RemoteFault` and
never retrying any other error. Step results and arguments must be plain data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for remote faults: ``interval_s * backoff**n`` between attempts."""

    max_attempts: int = 5
    interval_s: float = 1.0
    backoff: float = 2.0
    #: How long a step waits for a database that cannot serve (the hub's own, or a part's
    #: that answered 503 DL-DATABASE-UNAVAILABLE) before the attempt counts as failed.
    database_patience_s: float = 300.0

    def delays(self) -> list[float]:
        return [self.interval_s * self.backoff**n for n in range(self.max_attempts - 1)]


class RunState(StrEnum):
    """Where the durable run of an instance is, as the engine knows it."""

    QUEUED = "queued"
    RUNNING = "running"
    ENDED = "ended"  # finished, failed or cancelled: it will not run again
    UNKNOWN = "unknown"  # the engine has no such run
    #: Taken off its queue by this process but not executing here: the answer to taking it
    #: was lost (a dropped database connection), so nothing will run it until it is resumed.
    ORPHANED = "orphaned"


class FlowContext(Protocol):
    instance_id: str

    async def step(self, name: str, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn(*args)`` durably, with the retry policy for remote faults."""
        ...


Handler = Callable[[FlowContext, str, dict[str, Any]], Awaitable[Any]]
Tick = Callable[[datetime], Awaitable[None]]
"""Called at each scheduled time; it must be idempotent for a given time (a tick may repeat)."""


class Runtime(Protocol):
    def register(self, flow: str, handler: Handler, *, concurrency: int) -> None:
        """Declare a flow's handler and its queue; before :meth:`start`."""

    def register_schedule(self, flow: str, cron: str, tick: Tick) -> None:
        """Call ``tick`` at each time of ``cron`` (six fields, seconds first, UTC); before start."""

    async def start(self) -> None:
        """Connect, recover the instances a crash interrupted, and start queues and schedules."""

    async def stop(self) -> None: ...

    async def submit(
        self, flow: str, run_id: str, instance_id: str, message: dict[str, Any]
    ) -> None:
        """Queue one run of an instance. Idempotent: the same ``run_id`` runs once."""

    async def active_runs(self) -> int:
        """How many runs are queued or under way (for draining and the demo's settle check)."""
        ...

    async def run_states(self, run_ids: list[str]) -> dict[str, RunState]:
        """The state of each run (UNKNOWN for a run the engine never queued)."""
        ...

    async def resume(self, run_id: str) -> None:
        """Queue an ORPHANED run again; it goes on from its last finished step."""
