"""Private data on disk: the data directory is 0700 and what derlink writes there 0600 (SQLite
files with their -wal and -shm, e-mails, file-store contents, credentials, the console key),
whatever the umask; a data directory left open by an earlier start is tightened, and said so."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from derlink.bootstrap import ALL_PARTS, build
from derlink.hub.runtime.memory import MemoryRuntime
from derlink.platform.database import make_engine
from derlink.platform.files import LocalFolder, iterate
from derlink.platform.mail import OutboxMailer
from derlink.platform.private import secure_home
from derlink.platform.settings import Settings


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """The usual umask (022): what a file created without a mode of its own gets is 0644."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def open_entries(root: Path) -> list[str]:
    """Every folder or file under ``root`` (itself included) the group or others can reach."""
    found = [] if not mode(root) & 0o077 else ["."]
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            if not path.is_symlink() and mode(path) & 0o077:
                found.append(f"{path.relative_to(root)} {mode(path):o}")
    return found


def test_a_new_sqlite_database_and_its_wal_and_shm_files_are_0600(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path}/part.sqlite")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("create table t (x int)"))
            conn.execute(sa.text("insert into t values (1)"))
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == ["part.sqlite", "part.sqlite-shm", "part.sqlite-wal"]
        assert {name: mode(tmp_path / name) for name in names} == dict.fromkeys(names, 0o600)
    finally:
        engine.dispose()


async def test_the_outbox_and_its_e_mails_are_the_users_alone(tmp_path: Path):
    mailer = OutboxMailer(tmp_path / "outbox")
    await mailer.send(to=["ops@utility.example"], subject="s", body="customer: Ada, 1 Main St")
    (mail,) = (tmp_path / "outbox").iterdir()
    assert (mode(tmp_path / "outbox"), mode(mail)) == (0o700, 0o600)


async def test_a_local_store_makes_its_folders_0700_and_its_files_0600(tmp_path: Path):
    store = LocalFolder(tmp_path / "files" / "cpm-content")
    await store.write("ENROLL_SYNC_A.csv", iterate(b"customer rows\n"))
    upload = await store.begin_upload("ENROLL_SYNC_B.csv")
    await store.upload_part(upload, 1, 0, b"more rows\n")
    await store.complete_upload(upload, ["1:0:10"])
    assert open_entries(tmp_path / "files") == []
    assert mode(tmp_path / "files") == 0o700


def test_a_start_makes_a_new_data_directory_private_with_everything_in_it(tmp_path: Path):
    home = tmp_path / "data" / "home"
    platform = build(Settings(home=home), parts=ALL_PARTS, runtime=MemoryRuntime())
    try:
        assert mode(home) == 0o700
        assert {"credentials.json", "console.key", "cpm.sqlite", "hub.sqlite"} <= {
            p.name for p in home.iterdir()
        }
        assert any(p.name.endswith("-wal") for p in home.iterdir())
        assert (home / "files" / "cpm-content").is_dir()
        assert open_entries(home) == []
    finally:
        for part in platform.parts.values():
            asyncio.run(part.stop())


def test_the_dbos_system_database_is_created_0600(tmp_path: Path):
    home = tmp_path / "home"
    platform = build(Settings(home=home), parts=("hub",))
    try:
        assert mode(home / "hub-runtime.sqlite") == 0o600
    finally:
        asyncio.run(platform.parts["hub"].stop())


def test_a_data_directory_left_open_is_tightened_on_start_and_the_log_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    home = tmp_path / "home"
    (home / "outbox").mkdir(parents=True)
    home.chmod(0o755)
    (home / "outbox").chmod(0o755)
    (home / "cpm.sqlite").write_bytes(b"")
    (home / "outbox" / "1.eml").write_text("To: ops\n\nAda Lovelace, 12 Main St\n")
    (home / "cpm.sqlite").chmod(0o644)
    (home / "outbox" / "1.eml").chmod(0o664)
    elsewhere = tmp_path / "shared.txt"
    elsewhere.write_text("not derlink's")
    elsewhere.chmod(0o644)
    (home / "link").symlink_to(elsewhere)

    with caplog.at_level(logging.WARNING, logger="derlink"):
        secure_home(home)

    assert open_entries(home) == []
    assert (mode(home), mode(home / "outbox"), mode(home / "cpm.sqlite")) == (0o700, 0o700, 0o600)
    assert mode(elsewhere) == 0o644  # a link is passed over, never followed
    (said,) = [r.getMessage() for r in caplog.records if "made private" in r.getMessage()]
    assert "4 entries" in said and "outbox/1.eml" in said
    caplog.clear()
    secure_home(home)
    assert not [r for r in caplog.records if "made private" in r.getMessage()]
