"""A Scheduled stage's check against its target after opt-outs (generation.top_up): the alert's
tolerance, and the backfill taking the next devices in the planner's key order, never one the
event holds already or one opted out."""

from __future__ import annotations

import numpy as np
from stage_world import at, candidates, forecasts, request

from derlink.derms.events.generation import Manual, ManualWindow, top_up
from derlink.derms.events.stage_setup import prepare

#: A stage of 14:00–16:00: eight 15-minute intervals.
STAGE = Manual((ManualWindow("BYOT", at(14), at(16)),))


def setup_of(kw: list[float]):  # type: ignore[no-untyped-def]
    devices = candidates(len(kw))
    points = devices.service_point.tolist()
    return prepare(request(STAGE, devices, forecasts(points, kw), start=at(14), end=at(16)))


def rows(*indices: int) -> np.ndarray:
    return np.array(indices, np.intp)


def marked(n: int, *indices: int) -> np.ndarray:
    mask = np.zeros(n, bool)
    mask[list(indices)] = True
    return mask


def test_a_short_stage_takes_the_next_devices_but_not_the_excluded_nor_its_own() -> None:
    setup = setup_of([1.0] * 10)
    done = top_up(setup, held=rows(0, 1, 2), excluded=marked(10, 3), target=np.full(8, 5.0),
                  tolerance=0.05, backfill=True)  # fmt: skip
    assert done.short
    assert np.allclose(done.expected_kw, 3.0)
    assert done.added.tolist() == [4, 5]  # 3 is opted out; 0–2 hold the stage already
    assert np.allclose(done.after_kw, 5.0) and done.note == ""


def test_the_larger_device_is_taken_first_and_a_short_pool_says_so() -> None:
    setup = setup_of([1.0, 1.0, 1.0, 3.0, 1.0])
    done = top_up(setup, held=rows(0), excluded=marked(5), target=np.full(8, 3.5),
                  tolerance=0.05, backfill=True)  # fmt: skip
    assert done.added.tolist() == [3]  # 3 kW covers the 2.5 kW gap alone
    short = top_up(setup, held=rows(0), excluded=marked(5, 1, 2, 3, 4), target=np.full(8, 3.5),
                   tolerance=0.05, backfill=True)  # fmt: skip
    assert short.added.tolist() == [] and short.note == "no eligible device is left to add"


def test_within_the_tolerance_or_without_backfill_nothing_is_added() -> None:
    setup = setup_of([1.0] * 6)
    target = np.full(8, 4.2)
    within = top_up(setup, held=rows(0, 1, 2, 3), excluded=marked(6), target=target,
                    tolerance=0.05, backfill=True)  # fmt: skip
    assert not within.short and within.added.size == 0  # 4.0 ≥ 4.2 × 0.95 = 3.99
    beyond = top_up(setup, held=rows(0, 1, 2, 3), excluded=marked(6), target=target,
                    tolerance=0.04, backfill=False)  # fmt: skip
    assert beyond.short and beyond.added.size == 0 and np.allclose(beyond.after_kw, 4.0)
