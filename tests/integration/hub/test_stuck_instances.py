"""Accepted work that no run would finish, on SQLite and on PostgreSQL: a database that cannot
serve is waited for, a timeline write never fails a step, and the sweep finds instances whose
run ended without finishing them (or that were never queued) and sees that a run does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from derlink.common.errors import RemoteFault
from derlink.hub.model import InstanceStatus
from derlink.hub.runtime.memory import MemoryRuntime
from derlink.hub.runtime.port import RetryPolicy
from derlink.platform.database import DATABASE_UNAVAILABLE

from .test_hub_flows import Harness, sync_record


@pytest.fixture
def harness(tmp_path: Path, database_url: str) -> Iterator[Harness]:
    runtime = MemoryRuntime(RetryPolicy(max_attempts=2, interval_s=0.001, database_patience_s=5))
    harness = Harness(tmp_path, database_url, runtime=runtime)
    harness.hub.sweep_grace_s = -1  # every unfinished instance is a candidate at once
    yield harness
    harness.part.db.dispose()


def connection_refused() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("INSERT …", {}, ConnectionRefusedError("connection refused"))


def sync(n: int) -> dict[str, Any]:
    return {"batchId": f"B{n}", "messages": [sync_record(f"SR{n}")]}


async def test_a_step_waits_while_a_parts_database_cannot_serve(harness: Harness):
    # DERMS answers 503 DL-DATABASE-UNAVAILABLE four times: more than the retry policy's two
    # attempts, which an outage of the database does not spend.
    answers = iter([RemoteFault("503", code=DATABASE_UNAVAILABLE)] * 4)

    async def recovering(path: str, body: Any) -> Any:
        if (refusal := next(answers, None)) is not None:
            raise refusal
        return {"accepted": 1}

    harness.derms.handler = recovering
    instance = await harness.send("ENR-SYNC", sync(1))
    assert harness.hub.store.status(instance) is InstanceStatus.COMPLETED
    assert len(harness.derms.calls) == 5


async def test_a_remote_fault_still_spends_the_retry_policy(harness: Harness):
    async def down(path: str, body: Any) -> Any:
        raise RemoteFault("derms unreachable")

    harness.derms.handler = down
    instance = await harness.send("ENR-SYNC", sync(1))
    assert harness.hub.store.status(instance) is InstanceStatus.FAULTED
    assert len(harness.derms.calls) == 2


async def test_a_timeline_write_that_fails_never_fails_the_step(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    def refused(*args: Any, **kwargs: Any) -> None:
        raise connection_refused()

    monkeypatch.setattr(harness.hub.store, "event", refused)
    instance = await harness.send("ENR-SYNC", sync(1))
    assert harness.hub.store.status(instance) is InstanceStatus.COMPLETED
    assert len(harness.derms.calls) == 1


async def test_an_unforeseen_error_in_a_flow_puts_the_instance_in_the_hospital(harness: Harness):
    async def broken(path: str, body: Any) -> Any:
        raise RuntimeError("something nobody foresaw")

    harness.derms.handler = broken
    instance = await harness.send("ENR-SYNC", sync(1))
    detail = harness.hub.store.detail(instance)
    assert detail["status"] == InstanceStatus.FAULTED.value
    assert detail["fault_category"] == "technical"
    assert "RuntimeError: something nobody foresaw" in detail["fault_message"]


def stored_not_queued(harness: Harness) -> Any:
    """ENR-SYNC:B1 as the intake stores it before it queues it: a crash or an outage in
    between left it so. Its batch."""
    batch = harness.hub.flow("ENR-SYNC").spec.batch.model_validate(sync(1))
    received = harness.hub.store.receive(
        flow="ENR-SYNC",
        instance_id="ENR-SYNC:B1",
        batch_id="B1",
        sender="cpm",
        payload=batch.model_dump(mode="json"),
        records=1,
        keys=[[]],
        held=False,
    )
    assert received.status is InstanceStatus.RECEIVED
    return batch


async def test_the_sweep_queues_an_instance_stored_but_never_queued(harness: Harness):
    stored_not_queued(harness)
    assert await harness.hub.sweep() == {"queued": 1, "resumed": 0, "requeued": 0, "faulted": 0}
    await harness.runtime.drain()
    assert harness.hub.store.status("ENR-SYNC:B1") is InstanceStatus.COMPLETED
    assert await harness.hub.sweep() == {"queued": 0, "resumed": 0, "requeued": 0, "faulted": 0}


async def test_a_message_sent_again_queues_its_instance_when_the_first_was_not(
    harness: Harness,
):
    batch = stored_not_queued(harness)
    # The sender got an error for its first delivery and sends the batch again.
    received = await harness.hub.accept("ENR-SYNC", batch, "cpm")
    await harness.runtime.drain()
    assert received.duplicate
    assert harness.hub.store.status("ENR-SYNC:B1") is InstanceStatus.COMPLETED
    assert len(harness.derms.calls) == 1


def fail_bookkeeping(harness: Harness, monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    """The step that marks an instance completed fails ``times`` times on something that is
    not the database being away: the run ends with the instance left Running."""
    real = harness.hub.store.completed
    left = [times]

    def completed(*args: Any, **kwargs: Any) -> None:
        if left[0] > 0:
            left[0] -= 1
            raise sa.exc.ProgrammingError("UPDATE instances …", {}, Exception("broken"))
        real(*args, **kwargs)

    monkeypatch.setattr(harness.hub.store, "completed", completed)


async def test_the_sweep_runs_again_an_instance_whose_run_ended_unfinished(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    fail_bookkeeping(harness, monkeypatch, times=1)
    instance = await harness.send("ENR-SYNC", sync(1))
    assert harness.hub.store.status(instance) is InstanceStatus.RUNNING  # its run has ended
    assert harness.hub.hospital_ids(flow=None, category=None) == []

    assert await harness.hub.sweep() == {"queued": 0, "resumed": 0, "requeued": 1, "faulted": 0}
    await harness.runtime.drain()
    assert harness.hub.store.status(instance) is InstanceStatus.COMPLETED
    actions = harness.hub.store.detail(instance)["actions"]
    assert [(a["action"], a["actor"]) for a in actions] == [("requeue", "sweep")]


async def test_the_sweep_gives_up_after_three_new_runs_and_tells_the_technical_recipients(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    fail_bookkeeping(harness, monkeypatch, times=4)
    instance = await harness.send("ENR-SYNC", sync(1))
    for _ in range(3):
        assert (await harness.hub.sweep())["requeued"] == 1
        await harness.runtime.drain()
    assert await harness.hub.sweep() == {"queued": 0, "resumed": 0, "requeued": 0, "faulted": 1}
    detail = harness.hub.store.detail(instance)
    assert detail["status"] == InstanceStatus.FAULTED.value
    assert detail["fault_step"] == "sweep"
    assert "after 3 new run(s)" in detail["fault_message"]
    assert any(instance in str(mail["body"]) for mail in harness.mailer.sent)
    # In the hospital like any fault: a resubmit runs it, and now it completes.
    assert await harness.hub.resubmit([instance], "operator") == [instance]
    await harness.runtime.drain()
    assert harness.hub.store.status(instance) is InstanceStatus.COMPLETED


async def test_resubmit_accepts_an_instance_left_running_by_an_ended_run(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    fail_bookkeeping(harness, monkeypatch, times=1)
    instance = await harness.send("ENR-SYNC", sync(1))
    assert harness.hub.store.status(instance) is InstanceStatus.RUNNING
    assert await harness.hub.resubmit([instance], "operator", "stuck") == [instance]
    await harness.runtime.drain()
    assert harness.hub.store.status(instance) is InstanceStatus.COMPLETED
