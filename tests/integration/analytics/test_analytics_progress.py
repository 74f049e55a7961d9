"""A run's progress: a total for every format, and more than one step for a small file."""

from __future__ import annotations

import polars as pl
import pytest

from derlink.analytics.kernels.sufficiency import WarningLog
from derlink.analytics.kernels.synthetic import PopulationSpec
from derlink.analytics.runs.progress import tracked_batches
from derlink.analytics.runs.synthetic import write_population


class Recorder:
    """A ``Progress`` that keeps what it is told."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.steps: list[int] = []
        self.stopped = False

    def start(self) -> None:
        return None

    def expect(self, label: str, total_rows: int | None) -> None:
        self.total = total_rows

    def advance(self, rows: int) -> None:
        self.steps.append(rows)

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    files = write_population(
        folder,
        service_points=12,
        spec=PopulationSpec(service_points=12, days=10, events=1, seed=5),
    )
    frame = pl.read_parquet(files["measurements"])
    frame.with_columns(pl.col("start").dt.to_string("%Y-%m-%dT%H:%M:%SZ")).write_csv(
        folder / "m.csv"
    )
    return files["measurements"], folder / "m.csv", frame.height


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_every_format_has_a_total_and_a_small_file_moves_more_than_once(small, kind):
    parquet, csv, rows = small
    recorder = Recorder()
    path = parquet if kind == "parquet" else csv
    batches = list(tracked_batches(path, 8192, WarningLog(), "run", recorder))
    assert recorder.total == rows
    assert sum(recorder.steps) == rows
    assert len(recorder.steps) >= 5
    assert sum(b.size for b in batches) == 12 and recorder.stopped
