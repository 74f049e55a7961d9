"""Process-level memory settings for utility-scale runs (called by entry points, never on import).

A streamed run decodes and frees hundreds of megabytes per batch. Every page that goes back to
the kernel is faulted in and zeroed again for the next batch, and on the bench machines (virtual
machines, where a page fault is dear) that was the largest single cost of a run
(docs/benchmarks-analytics.md). arrow's jemalloc, as arrow configures it, still handed much of
it back whatever decay was set from Python; mimalloc reuses more of it: a 1,000,000 service
point kWh avoided run took 21 CPU-seconds with it against 24-25 with jemalloc. (Keeping glibc's
freed memory as well made no measurable difference, so numpy's allocations are left alone.)
"""

from __future__ import annotations

import pyarrow as pa


def keep_freed_memory(decay_ms: int = 1000) -> list[str]:
    """Let arrow reuse the memory of one batch for the next; returns what was changed.

    mimalloc when arrow was built with it, else jemalloc with ``decay_ms`` of decay.
    """
    changed: list[str] = []
    try:
        pa.set_memory_pool(pa.mimalloc_memory_pool())
        changed.append("arrow: mimalloc")
        return changed
    except (NotImplementedError, pa.ArrowException):
        pass
    try:
        pool = pa.jemalloc_memory_pool()
        pa.set_memory_pool(pool)
        pa.jemalloc_set_decay_ms(decay_ms)
        changed.append(f"arrow: jemalloc, {decay_ms} ms decay")
    except (NotImplementedError, pa.ArrowException):
        pass
    return changed
