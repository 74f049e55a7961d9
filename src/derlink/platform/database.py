"""Databases: one per part, SQLite by default, PostgreSQL (one schema per part) when configured.

Engines are made here and nowhere else. SQLite runs in WAL mode with ``synchronous=NORMAL``
and immediate transactions, so concurrent writers queue instead of failing. A SQLite file is
created ``0600`` before SQLite opens it: its ``-wal`` and ``-shm`` files take its mode
(platform/private.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derlink.common.errors import ConfigurationError
from derlink.platform.migrations import PartSchema, upgrade
from derlink.platform.private import create_private_file


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_sqlite_file(url: str) -> None:
    """The file of a SQLite URL, created empty and ``0600`` if it is not there (SQLite takes an
    empty file as a new database, and gives its ``-wal`` and ``-shm`` files the same mode)."""
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.is_dir():
        create_private_file(path)


def driver_url(url: str) -> str:
    """The URL with derlink's PostgreSQL driver named: ``postgresql://`` → ``postgresql+psycopg://``."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, schema: str | None = None, pool_size: int = 10) -> Engine:
    """An engine for one part. On PostgreSQL ``schema`` becomes the connection's search path."""
    if is_sqlite(url):
        create_sqlite_file(url)
        engine = sa.create_engine(url, pool_size=pool_size, max_overflow=20, pool_timeout=60)

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN IMMEDIATE ourselves
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")
            dbapi_conn.execute("PRAGMA busy_timeout=30000")
            dbapi_conn.execute("PRAGMA foreign_keys=ON")

        @sa.event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # Writers take the lock up front (no upgrade deadlocks); readers do not block.
            readonly = conn.get_execution_options().get("derlink_readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    url = driver_url(url)
    if not url.startswith("postgresql+psycopg://"):
        raise ConfigurationError(f"unsupported database URL scheme in {redact_url(url)}")
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    engine = sa.create_engine(
        url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True, connect_args=connect_args
    )
    if schema:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    return engine


#: The code of the 503 a part answers while its database cannot serve.
DATABASE_UNAVAILABLE = "DL-DATABASE-UNAVAILABLE"

#: SQLSTATE classes of a PostgreSQL server that cannot serve now (connection exceptions,
#: insufficient resources, operator intervention such as a shutdown or a restart).
_UNAVAILABLE_SQLSTATE = ("08", "53", "57P")


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached or cannot serve now – a refused or
    dropped connection, a pool that found no connection in time, a server shutting down, SQLite
    busy – rather than that a statement is wrong. Such errors pass: callers retry them."""
    if isinstance(exc, sa.exc.TimeoutError | sa.exc.DisconnectionError):
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "sqlstate", None)
    if isinstance(code, str):
        return code.startswith(_UNAVAILABLE_SQLSTATE)
    if type(exc.orig).__module__.startswith("sqlite3"):
        return "locked" in str(exc.orig) or "busy" in str(exc.orig)
    # A connection that failed before the server answered carries no SQLSTATE.
    return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)


def redact_url(url: str) -> str:
    """The URL with any password replaced, for logs and errors."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown without its credentials part
        return url.split("@")[-1]


class Database:
    """A part's database: its engine plus the transaction helper the services use."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        # SQLite takes one writer at a time. Writers of this process queue on a lock, which
        # wakes the next one at once, instead of on SQLite's busy handler, which sleeps and
        # polls (1, 2, 5, 10 ... 100 ms) and made write latency grow with concurrency.
        self._writer = threading.RLock() if self.dialect == "sqlite" else None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction that commits on success and rolls back on any error."""
        if self._writer is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._writer, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(derlink_readonly=True)
            yield conn

    def answers(self) -> bool:
        """Whether the database answers a query now (health checks)."""
        try:
            with self.read() as conn:
                conn.execute(sa.select(1))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()


def open_part_database(url: str, schema: PartSchema) -> Database:
    """Open one part's database, brought to its newest schema revision (platform/migrations.py):
    ``url`` from ``Settings.database_for(part)``."""
    engine = make_engine(url, schema=None if is_sqlite(url) else schema.part)
    try:
        upgrade(engine, schema)
    except BaseException:
        engine.dispose()
        raise
    return Database(engine)
