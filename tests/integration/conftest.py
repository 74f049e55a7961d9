"""Fixtures of the integration tests: real file servers on loopback and a store on each."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from derlink.platform.files import FileStore, LocalFolder, open_store
from tests.fileservers import LOOPBACK_ONLY, S3Server, SftpServer


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    server = SftpServer(tmp_path_factory.mktemp("sftp"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in LOOPBACK_ONLY.items():
            env.setenv(name, value)
        server = S3Server()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(params=["local", "sftp", "s3"])
async def file_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FileStore]:
    """An open store on a fresh, empty folder or prefix: a local folder, SFTP and S3."""
    fresh = f"t-{uuid.uuid4().hex[:12]}"
    store: FileStore
    if request.param == "local":
        store = LocalFolder(tmp_path / fresh)
    elif request.param == "sftp":
        server: SftpServer = request.getfixturevalue("sftp_server")
        store = open_store(server.url(f"/{fresh}"))
    else:
        s3: S3Server = request.getfixturevalue("s3_server")
        store = open_store(s3.url(fresh))
    try:
        yield store
    finally:
        await store.close()
