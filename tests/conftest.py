"""Fixtures every test layer shares: databases (SQLite and the local PostgreSQL) and servers."""

from __future__ import annotations

import os
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get(
    "DERLINK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "not here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    problem = _postgres_reachable()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL must be reachable under CI=true ({PG_ADMIN_URL}): {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {problem}")
    return PG_ADMIN_URL


#: Every engine that has connected during the tests, to close what a test left open on a
#: database before the database is dropped (``fresh_postgres_database``).
_ENGINES: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


@sa.event.listens_for(sa.Engine, "engine_connect")
def _remember_engine(connection: sa.Connection) -> None:
    _ENGINES.add(connection.engine)


def _close_engines_on(database: str) -> None:
    """Close the pooled connections of every engine on ``database``: a test harness that does
    not dispose its engines would otherwise leave connections to a dropped database for the
    garbage collector, which warns of each, during whichever test runs then."""
    for engine in list(_ENGINES):
        if engine.url.database == database:
            engine.dispose()


@contextmanager
def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for as long as the block runs, dropped afterwards."""
    name = f"derlink_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        _close_engines_on(name)
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "select pg_terminate_backend(pid) from pg_stat_activity where datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with fresh_postgres_database(postgres_admin_url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> str:
    """Each test using this runs twice: on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/part.sqlite"
    return str(request.getfixturevalue("postgres_url"))
