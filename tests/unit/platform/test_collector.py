"""The server's garbage-collector tuning (platform/collector.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from derlink.platform import collector


@pytest.fixture
def restored() -> Iterator[None]:
    """The test process's collector as it was, whatever the test did."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored")
def test_tuning_freezes_what_the_process_holds_and_raises_the_youngest_threshold() -> None:
    held = [[i] for i in range(1000)]  # containers alive at the tuning
    tuned = collector.tune()
    assert tuned.thresholds == (collector.GEN0, collector.GEN1, collector.GEN2)
    assert gc.get_threshold() == tuned.thresholds
    # Another thread may free a frozen object after the tuning: the count only falls.
    assert tuned.frozen >= gc.get_freeze_count() >= len(held)


@pytest.mark.usefixtures("restored")
def test_cycles_made_after_the_tuning_are_still_collected() -> None:
    collector.tune()

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    del a, b
    assert gc.collect() >= 2  # the two nodes of the cycle: not frozen, so collected
