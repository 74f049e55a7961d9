"""Hospital actions racing each other on one instance, on SQLite and on PostgreSQL: of two
operators (or an operator and a file listing) acting at once, exactly one wins (resubmitting
restarts the instance once; discarding removes it and records who did it)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from derlink.common.errors import BusinessError, RemoteFault
from derlink.hub.model import InstanceStatus
from derlink.hub.runtime.memory import MemoryRuntime
from derlink.hub.runtime.port import RetryPolicy

from .test_file_flows import FileHarness, ack_file, put
from .test_hub_flows import Harness, sync_record

INSTANCES = 6


class CountingRuntime(MemoryRuntime):
    """The in-memory runtime, remembering every run it was asked to start."""

    def __init__(self) -> None:
        super().__init__(RetryPolicy(max_attempts=2, interval_s=0.001))
        self.submitted: list[str] = []

    async def submit(
        self, flow: str, run_id: str, instance_id: str, message: dict[str, Any]
    ) -> None:
        self.submitted.append(instance_id)
        await super().submit(flow, run_id, instance_id, message)


@pytest.fixture
def harness(tmp_path: Path, database_url: str) -> Iterator[Harness]:
    harness = Harness(tmp_path, database_url, runtime=CountingRuntime())
    yield harness
    harness.part.db.dispose()


async def faulted_instances(harness: Harness) -> list[str]:
    """INSTANCES ENR-SYNC instances in the hospital (DERMS was down), then DERMS back up."""

    async def down(path: str, body: Any) -> Any:
        raise RemoteFault("derms unreachable")

    harness.derms.handler = down
    ids = [
        await harness.send("ENR-SYNC", {"batchId": f"R{n}", "messages": [sync_record(f"SR{n}")]})
        for n in range(INSTANCES)
    ]
    assert all(harness.hub.store.status(i) is InstanceStatus.FAULTED for i in ids)
    harness.derms.handler = harness.derms.accept
    return ids


def refused_as_not_in_hospital(outcome: object) -> bool:
    return isinstance(outcome, BusinessError) and outcome.code == "HUB-NOT-IN-HOSPITAL"


async def test_two_resubmits_of_one_faulted_instance_run_it_again_exactly_once(
    harness: Harness,
):
    ids = await faulted_instances(harness)
    runtime: CountingRuntime = harness.runtime  # type: ignore[assignment]
    before = list(runtime.submitted)

    outcomes = await asyncio.gather(
        *(harness.hub.resubmit([i], f"operator-{n}") for i in ids for n in (1, 2)),
        return_exceptions=True,
    )
    await harness.runtime.drain()

    for index, instance in enumerate(ids):
        pair = outcomes[2 * index : 2 * index + 2]
        assert sum(1 for o in pair if o == [instance]) == 1, pair
        assert sum(1 for o in pair if refused_as_not_in_hospital(o)) == 1, pair
        detail = harness.hub.store.detail(instance)
        assert detail["runs"] == 2
        assert detail["status"] == InstanceStatus.COMPLETED
        assert [a["action"] for a in detail["actions"]] == ["resubmit"]
        assert runtime.submitted[len(before) :].count(instance) == 1


async def test_a_discard_racing_a_resubmit_does_not_both_happen(harness: Harness):
    ids = await faulted_instances(harness)

    outcomes = await asyncio.gather(
        *(
            action([i], "operator")
            for i in ids
            for action in (harness.hub.resubmit, harness.hub.discard)
        ),
        return_exceptions=True,
    )
    await harness.runtime.drain()

    for index, instance in enumerate(ids):
        resubmitted, discarded = outcomes[2 * index : 2 * index + 2]
        detail = harness.hub.store.detail(instance)
        actions = [a["action"] for a in detail["actions"]]
        if resubmitted == [instance]:
            assert refused_as_not_in_hospital(discarded), discarded
            assert (detail["status"], detail["runs"], actions) == (
                InstanceStatus.COMPLETED,
                2,
                ["resubmit"],
            )
        else:
            assert refused_as_not_in_hospital(resubmitted), resubmitted
            assert discarded == [instance]
            assert (detail["status"], detail["runs"], actions) == (
                InstanceStatus.DISCARDED,
                1,
                ["discard"],
            )


async def test_two_listings_at_once_take_a_waiting_file_up_again_once(
    tmp_path: Path, database_url: str
):
    files = FileHarness(tmp_path, database_url=database_url)
    try:
        files.known["SR1"] = "Awaiting Acknowledgement"
        put(files, "analytics-content", "ENROLL_ACK_R.csv", ack_file("2,SR1,S1,ACCEPTED,,"))
        files.cpm_down = True
        (instance,) = await files.run("OUAI-ENR-ACK")
        assert files.detail(instance)["fault_category"] == "remote"
        files.cpm_down = False

        first, second = await asyncio.gather(
            files.hub.run_now("OUAI-ENR-ACK", "operator"),
            files.hub.run_now("OUAI-ENR-ACK", "schedule"),
        )
        await files.runtime.drain()

        assert [r.instance_id for r in first + second] == [instance, instance]
        detail = files.detail(instance)
        assert (detail["status"], detail["runs"]) == (InstanceStatus.COMPLETED, 2)
        assert [a["action"] for a in detail["actions"]] == ["resubmit"]
        assert files.names("analytics-content") == ["Sent-ENROLL_ACK_R.csv"]
    finally:
        files.part.db.dispose()
