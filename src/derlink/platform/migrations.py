"""Schema migrations with Alembic: one script directory and one version table per part.

Each part keeps its revisions in ``<part>/migrations/versions/`` (revision ids ``0001``,
``0002``, …, one line of history) and records the revision its database is at in its own
table, ``alembic_version_<part>``, so parts that share a database never read each other's.

Opening a part's database brings it to the newest revision, in one transaction (on PostgreSQL
under an advisory lock, so workers starting together migrate once):

- a new database gets the current tables at once and is stamped at the newest revision;
- a database at an older revision runs the revisions after it, in order;
- a database made before derlink used Alembic (its versions in ``derlink_migrations``) is
  stamped at the revision of the highest version it recorded, that table dropped, then upgraded;
- a database at a revision this derlink does not know (made by a newer one) is refused.

The part's ``migrations/env.py`` calls :func:`run_environment`, which configures Alembic with
the connection and the part given through the config's attributes (Alembic's documented way
to share a connection with its commands).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from derlink.common.errors import ConfigurationError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)
# Alembic says which dialect and DDL mode it assumes every time a database opens; derlink logs
# what ran instead (one line per upgrade).
logging.getLogger("alembic").setLevel(logging.WARNING)

#: Where derlink recorded applied versions before Alembic (one row per version).
LEGACY_TABLE = "derlink_migrations"


@dataclass(frozen=True)
class PartSchema:
    """A part's tables and the directory of its Alembic environment and revisions."""

    part: str
    metadata: sa.MetaData
    location: Path

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.part}"


@dataclass(frozen=True)
class Upgrade:
    """What opening a database did to its schema: the revision before (None: a new database)
    and after, and the revisions run in between."""

    before: str | None
    after: str
    ran: tuple[str, ...]


def _config(conn: Connection, schema: PartSchema) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(schema.location))
    config.attributes["connection"] = conn
    config.attributes["schema"] = schema
    return config


def _script(schema: PartSchema) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(schema.location))


def head(schema: PartSchema) -> str:
    """The newest revision of the part."""
    heads = _script(schema).get_heads()
    if len(heads) != 1:
        raise ConfigurationError(f"{schema.part}'s migrations have {len(heads)} heads: {heads}")
    return str(heads[0])


def revisions(schema: PartSchema) -> list[str]:
    """The part's revisions, oldest first."""
    return [str(s.revision) for s in reversed(list(_script(schema).walk_revisions()))]


def current(conn: Connection, schema: PartSchema) -> str | None:
    """The revision the database is at, or None when it has none."""
    from alembic.runtime.migration import MigrationContext

    context = MigrationContext.configure(conn, opts={"version_table": schema.version_table})
    revision = context.get_current_revision()
    return None if revision is None else str(revision)


def _lock(conn: Connection, schema: PartSchema) -> None:
    """On PostgreSQL, one migrating process per part at a time (released at commit)."""
    if conn.dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(schema.version_table.encode()).digest()[:8], "big")
    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key - (1 << 63))))


def _stamp(conn: Connection, schema: PartSchema, revision: str) -> None:
    from alembic import command

    command.stamp(_config(conn, schema), revision)


def stamp(engine: Engine, schema: PartSchema, revision: str) -> None:
    """Record ``revision`` as the database's without running anything (tests build a database
    as an older derlink left it this way)."""
    with engine.begin() as conn:
        _stamp(conn, schema, revision)


def upgrade(engine: Engine, schema: PartSchema, target: str = "head") -> Upgrade:
    """Bring the part's database to ``target`` (the newest revision unless told)."""
    from alembic import command
    from alembic.util import CommandError

    known = revisions(schema)
    with engine.begin() as conn:
        _lock(conn, schema)
        before = current(conn, schema) or _adopt_legacy(conn, schema)
        if before is None:
            schema.metadata.create_all(conn)
            _stamp(conn, schema, head(schema))
            log.info("created the %s schema at revision %s", schema.part, head(schema))
            return Upgrade(None, head(schema), ())
        if before not in known:
            raise _unknown(schema, before)
        try:
            command.upgrade(_config(conn, schema), target)
        except CommandError as exc:
            raise ConfigurationError(f"{schema.part}'s schema: {exc}") from exc
        after = current(conn, schema) or before
    ran = tuple(known[known.index(before) + 1 : known.index(after) + 1])
    if ran:
        done = ", ".join(ran)
        log.info("upgraded the %s schema from %s to %s: ran %s", schema.part, before, after, done)
    return Upgrade(before, after, ran)


def _adopt_legacy(conn: Connection, schema: PartSchema) -> str | None:
    """A database versioned in ``derlink_migrations``: stamped at the revision of its highest
    version, that table dropped. None when there is no such table (a new database)."""
    if not sa.inspect(conn).has_table(LEGACY_TABLE):
        return None
    version = conn.execute(sa.text(f"SELECT MAX(version) FROM {LEGACY_TABLE}")).scalar()
    revision = f"{int(version or 1):04d}"
    if revision not in revisions(schema):
        raise _unknown(schema, revision)
    _stamp(conn, schema, revision)
    conn.execute(sa.text(f"DROP TABLE {LEGACY_TABLE}"))
    log.info("the %s schema's version %s is now revision %s", schema.part, version, revision)
    return revision


def _unknown(schema: PartSchema, revision: str) -> ConfigurationError:
    return ConfigurationError(
        f"{schema.part}'s database is at schema revision {revision}, which this derlink does "
        f"not know (its newest is {head(schema)}): a newer derlink made it; run that version"
    )


def run_environment() -> None:
    """The body of every part's ``migrations/env.py``: run the revisions Alembic chose on the
    connection :func:`upgrade` passed, recording them in the part's version table."""
    from alembic import context

    connection = context.config.attributes["connection"]
    schema: PartSchema = context.config.attributes["schema"]
    context.configure(
        connection=connection,
        target_metadata=schema.metadata,
        version_table=schema.version_table,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
