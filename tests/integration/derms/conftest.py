"""derms over HTTP, on a real database (SQLite and PostgreSQL), with a fake hub on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.common.clock import FixedClock
from derlink.derms.app import DermsPart, create_part
from derlink.platform.auth import CredentialStore
from derlink.platform.settings import Settings
from tests.support.servers import serve

from .support import FakeHub, Headers


@pytest.fixture
def credentials() -> CredentialStore:
    return CredentialStore.generate(DEFAULT_CLIENTS)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(home=tmp_path, part_database_urls={"derms": database_url})


@pytest.fixture
def part(
    settings: Settings, credentials: CredentialStore, clock: FixedClock
) -> Iterator[DermsPart]:
    derms = create_part(settings=settings, credentials=credentials, clock=clock, hub=None)
    yield derms
    derms.db.dispose()


@pytest.fixture
def client(part: DermsPart) -> Iterator[TestClient]:
    with TestClient(part.app, base_url="http://derms") as test_client:
        yield test_client


@pytest.fixture
def edge_client(
    tmp_path: Path, credentials: CredentialStore, clock: FixedClock
) -> Iterator[TestClient]:
    """A client of derms on SQLite only, for what the database has no part in (credentials,
    validation)."""
    derms = create_part(
        settings=Settings(home=tmp_path), credentials=credentials, clock=clock, hub=None
    )
    with TestClient(derms.app, base_url="http://derms") as test_client:
        yield test_client
    derms.db.dispose()


def auth(credentials: CredentialStore, who: str) -> Headers:
    return credentials.client(who).header()


@pytest.fixture
def hub_headers(credentials: CredentialStore) -> Headers:
    """The hub's client: derms:sync, derms:masterdata and derms:read."""
    return auth(credentials, "hub")


@pytest.fixture
def operator(credentials: CredentialStore) -> Headers:
    return auth(credentials, "operator")


@pytest.fixture
def viewer(credentials: CredentialStore) -> Headers:
    return auth(credentials, "viewer")


@pytest.fixture
def fake_hub() -> Iterator[FakeHub]:
    hub = FakeHub()
    with serve(hub.app()) as url:
        hub.base_url = f"{url}/hub"
        yield hub
