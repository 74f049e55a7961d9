"""The whole enrollment journey over HTTP: the demo, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from derlink.cli.demo import run_demo


def _assert_settled_journey(summary: dict, customers: int) -> None:
    assert summary["checks"] == {name: True for name in summary["checks"]}, summary["unexpected"]
    assert summary["ok"] is True
    assert summary["sync_requests"]["Pending"] == 0
    assert summary["sync_requests"]["Awaiting Acknowledgement"] == 0
    assert summary["hospital"] == 0
    assert summary["reconciliation_differences"] == 0
    # every 20th customer sends an invalid request, every 25th valid one a duplicate
    assert summary["rejected_by_code"]["CPM-PROGRAM-INACTIVE"] >= 1
    assert summary["rejected_by_code"]["HUB-LOOKUP-ASSETSPEC"] >= 1
    assert summary["duplicates"] == len(
        [n for n in range(1, customers + 1) if n % 25 == 1 and n % 20]
    )
    assert summary["enrollments_per_s"] > 0


@pytest.mark.slow
def test_the_demo_journey_settles_with_every_check_passing_on_sqlite(tmp_path: Path):
    summary = run_demo(
        customers=240,
        database_url=None,
        home=tmp_path / "home",
        keep=False,
        quiet=True,
        console=Console(quiet=True),
    )
    _assert_settled_journey(summary, 240)
    assert summary["database"] == "sqlite"


@pytest.mark.slow
def test_the_demo_journey_settles_on_postgresql(tmp_path: Path, postgres_admin_url: str):
    summary = run_demo(
        customers=240,
        database_url=postgres_admin_url,
        home=tmp_path / "home",
        keep=False,
        quiet=True,
        console=Console(quiet=True),
    )
    _assert_settled_journey(summary, 240)
    assert summary["database"] == "postgresql"


def test_the_demo_refuses_a_data_directory_that_is_not_empty(tmp_path: Path):
    (tmp_path / "something").write_text("x")
    with pytest.raises(SystemExit, match="not empty"):
        run_demo(
            customers=10,
            database_url=None,
            home=tmp_path,
            keep=False,
            quiet=True,
            console=Console(quiet=True),
        )
