"""Fixtures: a cpm part on each test database (a SQLite file, and PostgreSQL).

For speed, each test module builds one part per database and empties it before each test
(deleting the rows takes milliseconds; building a part's API and creating, migrating and
dropping a PostgreSQL database per test took a large part of a second). ``database_url`` is
overridden in the same way for the tests that build their own part.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cpm_harness import Cpm, build_part

from derlink.cpm.db import metadata
from derlink.cpm.migrations import SCHEMA
from derlink.platform.database import make_engine
from derlink.platform.http import HttpClient
from derlink.platform.migrations import upgrade


@pytest.fixture(scope="module")
def cpm_postgres(postgres_admin_url: str) -> Iterator[tuple[str, sa.Engine]]:
    name = f"derlink_cpm_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url, schema="cpm", pool_size=1)
    upgrade(engine, SCHEMA)
    try:
        yield url, engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "select pg_terminate_backend(pid) from pg_stat_activity where datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs twice: on a fresh SQLite file and on an emptied PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/cpm.sqlite"
    url, engine = request.getfixturevalue("cpm_postgres")
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    return str(url)


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database for a migration test: a SQLite file, and a new PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/old.sqlite"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def cpm_of_module(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cpm]:
    """One cpm part per test module and database: building its API takes tens of ms."""
    home = tmp_path_factory.mktemp("cpm")
    if request.param == "sqlite":
        url = f"sqlite:///{home}/cpm.sqlite"
    else:
        url, _ = request.getfixturevalue("cpm_postgres")
    world = build_part(url, home)
    try:
        yield world
    finally:
        world.close()


@pytest.fixture
def cpm(cpm_of_module: Cpm) -> Cpm:
    """The module's cpm part, emptied: every test starts from no data at T0."""
    cpm_of_module.empty()
    return cpm_of_module


@pytest.fixture
def seeded(cpm: Cpm) -> Cpm:
    cpm.seed()
    return cpm


@pytest.fixture
def part_with_hub(database_url: str, tmp_path: Path) -> Iterator[Callable[[HttpClient], Cpm]]:
    """Build a seeded cpm part that publishes its outbox to the given hub client."""
    built: list[Cpm] = []

    def build(hub: HttpClient) -> Cpm:
        world = build_part(database_url, tmp_path, hub)
        world.seed()
        built.append(world)
        return world

    try:
        yield build
    finally:
        for world in built:
            world.close()
