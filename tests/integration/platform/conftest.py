"""Fixtures of the platform's integration tests: every part as the composition root builds
them, on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from derlink.bootstrap import Platform, build, settings_from_env
from derlink.hub.runtime.memory import MemoryRuntime
from derlink.hub.runtime.port import RetryPolicy
from tests.conftest import fresh_postgres_database
from tests.support.servers import free_port


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """Every part, as the composition root builds them, once per module and database (the
    tests change nothing that another would see)."""
    with contextlib.ExitStack() as stack:
        # A port of its own, where the parts reach each other when a test serves the platform.
        env = {
            "DERLINK_HOME": str(tmp_path_factory.mktemp("home")),
            "DERLINK_PORT": str(free_port()),
        }
        if request.param == "postgres":
            admin_url = request.getfixturevalue("postgres_admin_url")
            env["DERLINK_DATABASE_URL"] = stack.enter_context(fresh_postgres_database(admin_url))
        runtime = MemoryRuntime(RetryPolicy(max_attempts=1, interval_s=0))
        built = build(settings_from_env(env), runtime=runtime)
        yield built
        for part in built.parts.values():
            part.db.dispose()
        for mounted in built.app.routes:  # the console keeps its sessions in a database too
            console = getattr(
                getattr(getattr(mounted, "app", None), "state", None), "console", None
            )
            if console is not None:
                console.sessions.db.dispose()


@pytest.fixture(scope="module")
def http(platform: Platform) -> TestClient:
    """A client of every part's API; the parts' background work is not started."""
    return TestClient(platform.app)
