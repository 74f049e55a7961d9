"""The durable runtime on DBOS Transact (pinned in pyproject).

One generic workflow, ``derlink.hub.run``, executes any flow: its arguments are the flow code,
the instance id and the message, all checkpointed by DBOS. One queue per flow carries the
concurrency limit. Steps are DBOS steps run through ``DBOS.run_step_async`` with DBOS's own
retry loop, told to retry remote faults only. On launch DBOS resumes this executor's
interrupted workflows; completed steps are replayed from their checkpoints, not run again.

The system database is a SQLite file in the data directory (WAL, ``synchronous=NORMAL``:
enqueueing is about 15x faster than DBOS's default SQLite settings on these machines), or
PostgreSQL when the hub's database is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from dbos import DBOS, DBOSConfig
from dbos._error import DBOSMaxStepRetriesExceeded

from derlink.common.errors import RemoteFault
from derlink.hub.runtime.patience import patient
from derlink.hub.runtime.port import Handler, RetryPolicy, RunState, Tick

T = TypeVar("T")

WORKFLOW_NAME = "derlink.hub.run"

# DBOS resolves workflows by name in a process-wide registry; the handlers live beside it.
_HANDLERS: dict[str, Handler] = {}
_TICKS: dict[str, Tick] = {}
_STATE: dict[str, Any] = {"retry": RetryPolicy()}


#: One queue for every flow, partitioned by flow code: each flow gets its own concurrency
#: limit, and an idle hub polls one queue instead of one per flow (each poll of a DBOS queue
#: costs about 4 ms of CPU on these machines, so five idle queues at 5 Hz burnt 10% of a core).
QUEUE = "derlink-hub"


class DbosContext:
    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id

    async def step(self, name: str, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        retry: RetryPolicy = _STATE["retry"]
        options: dict[str, Any] = {
            "name": name,
            "retries_allowed": retry.max_attempts > 1,
            "max_attempts": retry.max_attempts,
            "interval_seconds": retry.interval_s,
            "backoff_rate": retry.backoff,
            "should_retry": lambda exc: isinstance(exc, RemoteFault),
        }
        try:
            result: T = await DBOS.run_step_async(
                cast(Any, options), cast(Any, patient(name, fn, retry)), *args
            )
        except DBOSMaxStepRetriesExceeded as exc:
            last = exc.errors[-1] if exc.errors else None
            detail = last.message if isinstance(last, RemoteFault) else str(last)
            raise RemoteFault(
                f"{name} failed after {retry.max_attempts} attempts: {detail}", step=name
            ) from None
        return result


#: How long a stop waits for the runs under way.
STOP_PATIENCE_S = 5.0

#: The runs executing in this process: a run DBOS holds as taken by this executor but that is
#: not here is orphaned.
_EXECUTING: set[str] = set()


@DBOS.workflow(name=WORKFLOW_NAME)
async def _run(flow: str, instance_id: str, message: dict[str, Any]) -> Any:
    run_id = DBOS.workflow_id or instance_id
    _EXECUTING.add(run_id)
    try:
        return await _HANDLERS[flow](DbosContext(instance_id), instance_id, message)
    finally:
        _EXECUTING.discard(run_id)


@DBOS.workflow(name="derlink.hub.tick")
async def _tick(scheduled_at: datetime, flow: Any) -> None:
    # One workflow per scheduled time (DBOS names it after the schedule and the time). The tick
    # queues the flow's run, which DBOS allows from a workflow but not from a step; it is
    # idempotent for a given time, so a replay after a crash starts nothing twice.
    await _TICKS[str(flow)](scheduled_at)


@dataclass(frozen=True)
class DbosSettings:
    system_database_url: str
    executor_id: str = "local"
    app_name: str = "derlink-hub"
    polling_interval_s: float = 0.2
    #: How soon a new or changed schedule is noticed.
    scheduler_polling_s: float = 5.0


def _sqlite_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, pool_size=20, max_overflow=20)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # DBOS's own SQLite settings, plus WAL and synchronous=NORMAL for throughput.
        dbapi_conn.isolation_level = "IMMEDIATE"
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        dbapi_conn.execute("PRAGMA busy_timeout=30000")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    return engine


class DbosRuntime:
    def __init__(
        self,
        settings: DbosSettings,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.retry = retry or RetryPolicy()
        self.queues: dict[str, int] = {}
        self.schedules: dict[str, str] = {}
        self._launched = False

    def register(self, flow: str, handler: Handler, *, concurrency: int) -> None:
        _HANDLERS[flow] = handler
        self.queues[flow] = concurrency

    def register_schedule(self, flow: str, cron: str, tick: Tick) -> None:
        _TICKS[flow] = tick
        self.schedules[flow] = cron

    async def start(self) -> None:
        _STATE["retry"] = self.retry
        url = self.settings.system_database_url
        config: dict[str, Any] = {
            "name": self.settings.app_name,
            "system_database_url": url,
            "executor_id": self.settings.executor_id,
            "run_admin_server": False,
            "log_level": "WARNING",
            "application_version": "derlink-1",
            "scheduler_polling_interval_sec": self.settings.scheduler_polling_s,
        }
        if url.startswith("sqlite"):
            config["system_database_engine"] = _sqlite_engine(url)
        DBOS(config=cast(DBOSConfig, config))
        # Launched from the server's event loop thread, so that DBOS runs the async
        # workflows on that loop (and recovers interrupted ones there).
        DBOS.launch()
        self._launched = True
        # DBOS takes one limit for every partition: the largest a flow asked for. The worker
        # limit is what all flows together asked for.
        await DBOS.register_queue_async(
            QUEUE,
            worker_concurrency=max(1, sum(self.queues.values())),
            partition_worker_concurrency=max(self.queues.values(), default=1),
            polling_interval_sec=self.settings.polling_interval_s,
            on_conflict="always_update",
        )
        await asyncio.to_thread(
            DBOS.apply_schedules,
            [
                {
                    "schedule_name": f"derlink-{flow}",
                    "workflow_fn": _tick,
                    "schedule": cron,
                    "context": flow,
                }
                for flow, cron in self.schedules.items()
            ],
        )

    async def stop(self) -> None:
        """Stop taking runs: the runs under way get up to ``STOP_PATIENCE_S`` to finish (a run
        cut short is resumed at the next start), then DBOS stops."""
        if self._launched:
            for _ in range(int(STOP_PATIENCE_S / 0.05)):
                if not _EXECUTING:
                    break
                await asyncio.sleep(0.05)
            # DBOS's own wait polls once a second even when nothing runs: waited for above.
            await asyncio.to_thread(DBOS.destroy, workflow_completion_timeout_sec=0)
            self._launched = False

    async def submit(
        self, flow: str, run_id: str, instance_id: str, message: dict[str, Any]
    ) -> None:
        await DBOS.enqueue_workflow_with_options_async(
            {
                "queue_name": QUEUE,
                "workflow_name": WORKFLOW_NAME,
                "workflow_id": run_id,
                "queue_partition_key": flow,
            },
            flow,
            instance_id,
            message,
        )

    async def active_runs(self) -> int:
        runs = await DBOS.list_workflows_async(
            status=["ENQUEUED", "PENDING"], load_input=False, load_output=False, limit=10_000
        )
        return len(runs)

    async def run_states(self, run_ids: list[str]) -> dict[str, RunState]:
        states = dict.fromkeys(run_ids, RunState.UNKNOWN)
        for start in range(0, len(run_ids), 500):
            runs = await DBOS.list_workflows_async(
                workflow_ids=run_ids[start : start + 500], load_input=False, load_output=False
            )
            for run in runs:
                state = _RUN_STATES.get(run.status, RunState.ENDED)
                if (
                    state is RunState.RUNNING
                    and run.executor_id == self.settings.executor_id
                    and run.workflow_id not in _EXECUTING
                ):
                    state = RunState.ORPHANED
                states[run.workflow_id] = state
        return states

    async def resume(self, run_id: str) -> None:
        await DBOS.resume_workflow_async(run_id, queue_name=QUEUE)


#: DBOS's workflow statuses; any other (ERROR, CANCELLED, MAX_RECOVERY_ATTEMPTS_EXCEEDED …)
#: is a run that has ended.
_RUN_STATES = {
    "ENQUEUED": RunState.QUEUED,
    "DELAYED": RunState.QUEUED,
    "PENDING": RunState.RUNNING,
    "SUCCESS": RunState.ENDED,
}
