"""The garbage collector tuned for a long-running server.

CPython's cyclic collector runs its youngest generation after every 700 net allocations of
container objects, and now and then walks every object the process holds. A server that keeps
a few hundred megabytes of long-lived objects (the parts, their caches, the libraries) and
allocates millions of short-lived ones (the rows of a file) spends a large share of its time
walking the long-lived ones again and again: 40% of the platform's CPU time on an LRF run of
300,000 forecasts (docs/benchmarks.md).

Once the server is up, :func:`tune` moves what it holds by then out of the collector's sight
(``gc.freeze``: those objects are never collected, nor walked) and lets the youngest
generation grow to ``GEN0`` objects before a collection. Cycles still get collected; the
garbage that can wait for one is bounded by ``GEN0`` objects.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

#: Container objects allocated (net) before the youngest generation is collected.
GEN0 = 10_000
#: How many collections of a generation before the next older one is collected too.
GEN1 = 10
GEN2 = 10


@dataclass(frozen=True, slots=True)
class Tuned:
    """What :func:`tune` did: the objects frozen and the thresholds set."""

    frozen: int
    thresholds: tuple[int, int, int]


def tune() -> Tuned:
    """Collect once, freeze what survives, and raise the youngest generation's threshold."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0, GEN1, GEN2)
    return Tuned(frozen=gc.get_freeze_count(), thresholds=gc.get_threshold())
