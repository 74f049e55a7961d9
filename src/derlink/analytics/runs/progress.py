"""How far a run got through its measurement file, told to whoever started it.

A run reads its measurements in batches of whole service points; after each batch it tells a
``Progress`` how many rows it read. The CLI shows a progress bar with it; a caller that shows
nothing passes ``NoProgress``. The display opens before the file's size is asked for, and
closes however the reading ends, so that a run that fails leaves no display open.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from derlink.analytics.kernels.intervals import IntervalBatch
from derlink.analytics.kernels.sufficiency import WarningLog
from derlink.analytics.measurements.batches import iter_batches, rows_in


class Progress(Protocol):
    """What a run reports while it reads its measurement file."""

    def start(self) -> None:
        """The run begins reading."""
        ...

    def expect(self, label: str, total_rows: int | None) -> None:
        """What it reads: ``label``, and ``total_rows`` rows (None when not known ahead)."""
        ...

    def advance(self, rows: int) -> None:
        """``rows`` more rows were read."""
        ...

    def stop(self) -> None:
        """The reading ended (all read, or failed)."""
        ...


class NoProgress:
    """A ``Progress`` that shows nothing."""

    def start(self) -> None:
        return None

    def expect(self, label: str, total_rows: int | None) -> None:
        return None

    def advance(self, rows: int) -> None:
        return None

    def stop(self) -> None:
        return None


def tracked_batches(
    path: Path, batch_size: int, warnings: WarningLog, label: str, progress: Progress
) -> Iterator[IntervalBatch]:
    """The file's batches of ``batch_size`` service points, reporting each to ``progress``."""
    progress.start()
    try:
        progress.expect(label, rows_in(path))
        for batch in iter_batches(path, batch_size, warnings):
            yield batch
            progress.advance(batch.rows)
    finally:
        progress.stop()
