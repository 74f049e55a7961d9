"""How far a run got through its measurement file, told to whoever started it.

A run reads its measurements in batches of whole service points; after each batch it tells a
``Progress`` how many rows it read. The CLI shows a progress bar with it; a caller that shows
nothing passes ``NoProgress``. The display opens before the file is opened, and closes however
the reading ends, so that a run that fails leaves no display open. The total is known for every
format (a CSV or XML file is read whole before its first batch), and a batch larger than a tenth
of the file is reported in pieces, so that the bar of a small file moves more than once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from derlink.analytics.kernels.intervals import IntervalBatch
from derlink.analytics.kernels.sufficiency import WarningLog
from derlink.analytics.measurements.batches import in_pieces, open_measurements


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


#: How many steps at least a file's progress moves in (when it has that many service points).
STEPS = 10


def tracked_batches(
    path: Path,
    batch_size: int,
    warnings: WarningLog,
    label: str,
    progress: Progress,
    naive_zone: str | None = None,
) -> Iterator[IntervalBatch]:
    """The file's batches of at most ``batch_size`` service points, reporting each to
    ``progress``; timestamps without a zone are in ``naive_zone``."""
    progress.start()
    try:
        opened = open_measurements(path, batch_size, warnings, naive_zone)
        progress.expect(label, opened.total_rows)
        step = max(1, -(-opened.total_rows // STEPS))
        for batch in opened.batches:
            for piece in in_pieces(batch, step):
                yield piece
                progress.advance(piece.rows)
    finally:
        progress.stop()
