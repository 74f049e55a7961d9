"""Every part's schema under Alembic: a new database created at the newest revision, one
version table per part, a database made by a newer derlink refused, and workers that start
together migrating once."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from derlink.analytics.migrations import SCHEMA as ANALYTICS
from derlink.common.errors import ConfigurationError
from derlink.console.migrations import SCHEMA as CONSOLE
from derlink.cpm.migrations import SCHEMA as CPM
from derlink.derms.migrations import SCHEMA as DERMS
from derlink.hub.migrations import SCHEMA as HUB
from derlink.platform.database import make_engine, open_part_database
from derlink.platform.migrations import PartSchema, head, revisions, stamp, upgrade

PARTS = {s.part: s for s in (CPM, DERMS, ANALYTICS, HUB, CONSOLE)}


def _engine(url: str, schema: PartSchema) -> sa.Engine:
    return make_engine(url, schema=None if url.startswith("sqlite") else schema.part)


@pytest.mark.parametrize("part", sorted(PARTS))
def test_a_new_database_has_every_table_at_the_newest_revision(database_url: str, part: str):
    schema = PARTS[part]
    assert revisions(schema)[-1] == head(schema)  # one line of history
    db = open_part_database(database_url, schema)
    try:
        tables = set(sa.inspect(db.engine).get_table_names())
        assert set(schema.metadata.tables) <= tables
        assert f"alembic_version_{part}" in tables
        with db.read() as conn:
            recorded = conn.execute(sa.text(f"SELECT version_num FROM alembic_version_{part}"))
            assert recorded.scalars().all() == [head(schema)]
        again = upgrade(db.engine, schema)
        assert (again.before, again.after, again.ran) == (head(schema), head(schema), ())
    finally:
        db.dispose()


def test_a_database_made_by_a_newer_derlink_is_refused_by_name(database_url: str):
    engine = _engine(database_url, HUB)
    try:
        with engine.begin() as conn:
            HUB.metadata.create_all(conn)
        with engine.begin() as conn:  # a revision this derlink does not have
            conn.execute(sa.text("CREATE TABLE alembic_version_hub (version_num VARCHAR(32))"))
            conn.execute(sa.text("INSERT INTO alembic_version_hub VALUES ('0999')"))
        with pytest.raises(ConfigurationError, match=r"hub's database is at schema revision 0999"):
            upgrade(engine, HUB)
    finally:
        engine.dispose()


def test_the_revisions_after_a_stamped_one_run_in_order(database_url: str):
    engine = _engine(database_url, CPM)
    try:
        with engine.begin() as conn:
            CPM.metadata.create_all(conn)
        stamp(engine, CPM, "0001")
        assert upgrade(engine, CPM).ran == (
            "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011",
        )  # fmt: skip
    finally:
        engine.dispose()


def test_workers_that_start_together_migrate_once(database_url: str):
    engines = [_engine(database_url, HUB) for _ in range(4)]
    start = threading.Barrier(len(engines))
    results: list[object] = []

    def open_one(engine: sa.Engine) -> None:
        start.wait()
        try:
            results.append(upgrade(engine, HUB))
        except Exception as exc:  # reported below, with the others
            results.append(exc)

    threads = [threading.Thread(target=open_one, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        errors = [r for r in results if isinstance(r, Exception)]
        assert errors == []
        created = [r for r in results if getattr(r, "before", "") is None]
        assert len(created) == 1  # one created the schema; the others found it made
    finally:
        for engine in engines:
            engine.dispose()
