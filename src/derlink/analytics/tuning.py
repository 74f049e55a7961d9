"""Process-level memory settings for utility-scale runs (called by entry points, never on import).

A streamed run decodes and frees hundreds of megabytes per batch. With arrow's default
allocator that memory goes back to the kernel after each batch and is faulted in again for the
next; on the bench machine the kernel time this cost was more than the decoding itself
(docs/benchmarks-analytics.md). jemalloc with a second of decay keeps it for the next
batch while a run streams, and still returns it when the run is over. (Keeping glibc's freed
memory too cut little more and let the peak grow past the 4 GB budget, so it is left alone.)
"""

from __future__ import annotations

import pyarrow as pa


def keep_freed_memory(decay_ms: int = 1000) -> list[str]:
    """Let arrow reuse freed memory for ``decay_ms``; returns what was changed."""
    changed: list[str] = []
    try:
        pool = pa.jemalloc_memory_pool()
        pa.set_memory_pool(pool)
        pa.jemalloc_set_decay_ms(decay_ms)
        changed.append(f"arrow: jemalloc, {decay_ms} ms decay")
    except (NotImplementedError, pa.ArrowException):
        pass
    return changed
