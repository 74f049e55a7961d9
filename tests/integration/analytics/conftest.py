"""The fixtures of analytics' part tests: the part on each database (SQLite, then PostgreSQL),
stopped at the end, and a client of its API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from part_world import build

from derlink.analytics.app import AnalyticsPart


@pytest.fixture
def part(tmp_path: Path, database_url: str) -> Iterator[AnalyticsPart]:
    built = build(tmp_path, database_url)
    try:
        yield built
    finally:
        asyncio.run(built.stop())


@pytest.fixture
def http(part: AnalyticsPart) -> Iterator[TestClient]:
    with TestClient(part.app) as client:
        yield client
