"""The FileStore contract, run on every store: a local folder, SFTP and S3 on loopback servers.

Then what only one store has (logins and host keys for SFTP, a stopped server for S3) and how
``open_store`` reads store URLs.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from derlink.common.errors import ConfigurationError, RemoteFault, TechnicalFault
from derlink.platform.files import (
    FileExists,
    FileMissing,
    FileStore,
    LocalFolder,
    NotAFile,
    UnsafeName,
    checksum,
    iterate,
    open_store,
)
from derlink.platform.files_s3 import S3Store
from derlink.platform.files_sftp import SftpStore
from tests.fileservers import S3Server, SftpServer

MiB = 1024 * 1024
#: S3 wants every part of a multipart upload but the last to be at least 5 MiB.
PART = 5 * MiB


async def content(store: FileStore, name: str, **read: int) -> bytes:
    return b"".join([chunk async for chunk in store.read(name, **read)])


async def failing_after(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk
    raise ValueError("the source broke")


def pseudo_random(size: int, seed: bytes) -> bytes:
    """Deterministic, incompressible bytes."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def leftovers(store: FileStore, request: pytest.FixtureRequest) -> list[str]:
    """What a store keeps of unfinished writes and uploads, looked at from behind its back."""
    if isinstance(store, LocalFolder):
        uploads = store.root / ".uploads"
        return sorted(p.name for p in uploads.iterdir()) if uploads.exists() else []
    if isinstance(store, SftpStore):
        sftp: SftpServer = request.getfixturevalue("sftp_server")
        folder = sftp.root / store.folder.strip("/")
        return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))
    assert isinstance(store, S3Store)
    s3: S3Server = request.getfixturevalue("s3_server")
    client = s3.client()
    try:
        found = client.list_multipart_uploads(Bucket=s3.bucket, Prefix=store.prefix)
    finally:
        client.close()
    return sorted(upload["Key"] for upload in found.get("Uploads", []))


# -- the contract, on every store -------------------------------------------------------------


async def test_files_are_listed_by_prefix_in_name_order_with_their_size(
    file_store: FileStore,
) -> None:
    for name, data in [("SDCSE_2.csv", b"22"), ("other.txt", b"o"), ("SDCSE_1.csv", b"1")]:
        assert await file_store.write(name, iterate(data)) == len(data)

    listed = await file_store.list_files("SDCSE_")

    assert [(f.name, f.size) for f in listed] == [("SDCSE_1.csv", 1), ("SDCSE_2.csv", 2)]
    assert [f.name for f in await file_store.list_files()] == [
        "SDCSE_1.csv",
        "SDCSE_2.csv",
        "other.txt",
    ]
    assert await file_store.list_files("nothing") == []


async def test_stat_agrees_with_the_listing_and_a_missing_file_is_file_missing(
    file_store: FileStore,
) -> None:
    await file_store.write("a.csv", iterate(b"hello"))

    info = await file_store.stat("a.csv")

    assert info == (await file_store.list_files())[0]
    assert (info.name, info.size) == ("a.csv", 5)
    assert info.version.startswith("5-")
    with pytest.raises(FileMissing):
        await file_store.stat("b.csv")


async def test_unfinished_uploads_are_not_listed(file_store: FileStore) -> None:
    upload = await file_store.begin_upload("big.bin")
    await file_store.upload_part(upload, 1, 0, b"partial")

    assert await file_store.list_files() == []

    await file_store.abort_upload(upload)


async def test_a_file_reads_whole_from_an_offset_and_in_small_chunks(
    file_store: FileStore,
) -> None:
    data = bytes(range(256)) * 4
    await file_store.write("data.bin", iterate(data[:100], data[100:]))

    assert await content(file_store, "data.bin") == data
    assert await content(file_store, "data.bin", offset=1000) == data[1000:]
    assert await content(file_store, "data.bin", offset=len(data)) == b""
    chunks = [chunk async for chunk in file_store.read("data.bin", offset=10, chunk_size=100)]
    assert b"".join(chunks) == data[10:]
    assert all(0 < len(chunk) <= 100 for chunk in chunks)
    assert len(chunks) >= 11
    with pytest.raises(FileMissing):
        await content(file_store, "missing.bin")


async def test_read_range_gives_at_most_length_bytes(file_store: FileStore) -> None:
    await file_store.write("r.txt", iterate(b"0123456789"))

    assert await file_store.read_range("r.txt", 2, 3) == b"234"
    assert await file_store.read_range("r.txt", 8, 10) == b"89"
    assert await file_store.read_range("r.txt", 10, 5) == b""
    with pytest.raises(FileMissing):
        await file_store.read_range("missing.txt", 0, 5)


async def test_an_empty_file_can_be_written_and_read(file_store: FileStore) -> None:
    assert await file_store.write("empty.csv", iterate()) == 0

    assert (await file_store.stat("empty.csv")).size == 0
    assert await content(file_store, "empty.csv") == b""
    assert await file_store.read_range("empty.csv", 0, 10) == b""


async def test_a_write_replaces_the_file_of_the_same_name(file_store: FileStore) -> None:
    await file_store.write("a.csv", iterate(b"first version"))

    await file_store.write("a.csv", iterate(b"second"))

    assert await content(file_store, "a.csv") == b"second"
    assert [f.name for f in await file_store.list_files()] == ["a.csv"]


async def test_a_failing_source_leaves_no_file_no_temporary_and_the_old_file_intact(
    file_store: FileStore, request: pytest.FixtureRequest
) -> None:
    await file_store.write("kept.csv", iterate(b"old"))

    with pytest.raises(ValueError, match="the source broke"):
        await file_store.write("kept.csv", failing_after(b"new"))
    # Big enough that S3 has already sent a part of a multipart upload when the source fails.
    with pytest.raises(ValueError, match="the source broke"):
        await file_store.write("never.bin", failing_after(*[b"x" * MiB] * 9))

    assert [f.name for f in await file_store.list_files()] == ["kept.csv"]
    assert await content(file_store, "kept.csv") == b"old"
    assert leftovers(file_store, request) == []


async def test_rename_moves_a_file_and_refuses_a_missing_source_or_an_existing_target(
    file_store: FileStore,
) -> None:
    await file_store.write("in.csv", iterate(b"payload"))
    await file_store.write("taken.csv", iterate(b"taken"))

    await file_store.rename("in.csv", "Sent-in.csv")

    assert [f.name for f in await file_store.list_files()] == ["Sent-in.csv", "taken.csv"]
    assert await content(file_store, "Sent-in.csv") == b"payload"
    with pytest.raises(FileMissing):
        await file_store.rename("in.csv", "Error-in.csv")
    with pytest.raises(FileExists):
        await file_store.rename("Sent-in.csv", "taken.csv")
    assert await content(file_store, "taken.csv") == b"taken"
    assert await content(file_store, "Sent-in.csv") == b"payload"


async def test_delete_removes_a_file_and_is_quiet_when_it_is_gone(file_store: FileStore) -> None:
    await file_store.write("d.csv", iterate(b"x"))

    await file_store.delete("d.csv")
    await file_store.delete("d.csv")

    assert await file_store.list_files() == []
    with pytest.raises(FileMissing):
        await file_store.stat("d.csv")


async def test_a_resumable_upload_takes_parts_in_any_order_and_again(
    file_store: FileStore, request: pytest.FixtureRequest
) -> None:
    parts = [pseudo_random(PART, b"1"), pseudo_random(PART, b"2"), b"tail"]
    offsets = [0, PART, 2 * PART]
    upload = await file_store.begin_upload("big.bin")

    tokens: dict[int, str] = {}
    await file_store.upload_part(upload, 1, 0, pseudo_random(PART, b"wrong"))
    for number in (3, 1, 2):
        tokens[number] = await file_store.upload_part(
            upload, number, offsets[number - 1], parts[number - 1]
        )
    in_order = [tokens[1], tokens[2], tokens[3]]
    await file_store.complete_upload(upload, in_order)
    # Replayed after a crash that came after the completion: no error, no change.
    await file_store.complete_upload(upload, in_order)

    expected = b"".join(parts)
    assert (await file_store.stat("big.bin")).size == len(expected)
    assert await checksum(file_store, "big.bin") == hashlib.sha256(expected).hexdigest()
    assert [f.name for f in await file_store.list_files()] == ["big.bin"]
    assert leftovers(file_store, request) == []


async def test_an_aborted_upload_leaves_nothing_and_cannot_be_completed(
    file_store: FileStore, request: pytest.FixtureRequest
) -> None:
    upload = await file_store.begin_upload("gone.bin")
    token = await file_store.upload_part(upload, 1, 0, b"some bytes")

    await file_store.abort_upload(upload)
    await file_store.abort_upload(upload)

    assert await file_store.list_files() == []
    assert leftovers(file_store, request) == []
    if not isinstance(file_store, S3Store):
        # S3 answers NoSuchUpload to these, but moto fails with a 500 on an unknown upload id.
        with pytest.raises(FileMissing):
            await file_store.upload_part(upload, 2, 10, b"late")
        with pytest.raises(FileMissing):
            await file_store.complete_upload(upload, [token])


async def test_a_large_file_streams_in_and_out(file_store: FileStore) -> None:
    size, block = 20 * MiB, MiB
    expected = hashlib.sha256()
    produced = 0

    async def source() -> AsyncIterator[bytes]:
        nonlocal produced
        for number in range(size // block):
            chunk = pseudo_random(block, number.to_bytes(4, "big"))
            expected.update(chunk)
            produced += 1
            yield chunk

    assert await file_store.write("large.bin", source()) == size

    assert produced == size // block
    assert (await file_store.stat("large.bin")).size == size
    largest = 0
    digest = hashlib.sha256()
    async for chunk in file_store.read("large.bin", chunk_size=4 * MiB):
        largest = max(largest, len(chunk))
        digest.update(chunk)
    assert largest <= 4 * MiB
    assert digest.hexdigest() == expected.hexdigest()


UNSAFE = ["../x", "/etc/passwd", "a/b", "", ".hidden", "with space.csv", "tab\tname", "nul\x00x"]


@pytest.mark.parametrize("name", UNSAFE, ids=repr)
async def test_unsafe_names_are_refused_by_every_call(file_store: FileStore, name: str) -> None:
    with pytest.raises(UnsafeName):
        await file_store.stat(name)
    with pytest.raises(UnsafeName):
        await content(file_store, name)
    with pytest.raises(UnsafeName):
        await file_store.read_range(name, 0, 1)
    with pytest.raises(UnsafeName):
        await file_store.write(name, iterate(b"x"))
    with pytest.raises(UnsafeName):
        await file_store.rename(name, "ok.csv")
    with pytest.raises(UnsafeName):
        await file_store.rename("ok.csv", name)
    with pytest.raises(UnsafeName):
        await file_store.delete(name)
    with pytest.raises(UnsafeName):
        await file_store.begin_upload(name)
    assert await file_store.list_files() == []


@pytest.mark.parametrize("upload_id", ["../../etc/passwd", "/tmp/x", "a/b|c"])
async def test_a_forged_upload_id_is_refused(file_store: FileStore, upload_id: str) -> None:
    with pytest.raises(UnsafeName):
        await file_store.upload_part(upload_id, 1, 0, b"x")
    with pytest.raises(UnsafeName):
        await file_store.complete_upload(upload_id, ["1:0:1"])
    with pytest.raises(UnsafeName):
        await file_store.abort_upload(upload_id)


# -- entries that are not files: links, folders, odd names ------------------------------------

SECRET = b'{"clients": {"hub": "s3cr3t-never-quoted"}}\n'


def on_disk(store: FileStore, request: pytest.FixtureRequest) -> Path | None:
    """The folder a local or SFTP store keeps its files in, on this machine (None for S3)."""
    if isinstance(store, LocalFolder):
        return store.root
    if isinstance(store, SftpStore):
        sftp: SftpServer = request.getfixturevalue("sftp_server")
        folder = sftp.root / store.folder.strip("/")
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return None


@pytest.fixture(params=["local", "sftp"])
async def folder_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[FileStore, Path]]:
    """A store on a folder of this machine (object storage has no links, folders or pipes),
    and that folder."""
    fresh = f"t-{uuid.uuid4().hex[:12]}"
    store: FileStore
    if request.param == "local":
        store = LocalFolder(tmp_path / fresh)
    else:
        server: SftpServer = request.getfixturevalue("sftp_server")
        store = open_store(server.url(f"/{fresh}"))
    folder = on_disk(store, request)
    assert folder is not None
    try:
        yield store, folder
    finally:
        await store.close()


def secret_file(tmp_path: Path) -> Path:
    """A secret outside every store: what a planted link points at."""
    secret = tmp_path / "outside" / "credentials.json"
    secret.parent.mkdir(exist_ok=True)
    secret.write_bytes(SECRET)
    return secret


def messages(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    return str(excinfo.value) + repr(excinfo.value.args)


async def test_a_link_to_a_secret_is_never_listed_read_renamed_or_quoted(
    folder_store: tuple[FileStore, Path], tmp_path: Path
) -> None:
    file_store, folder = folder_store
    secret = secret_file(tmp_path)
    await file_store.write("ENROLL_SYNC_ok.csv", iterate(b"fine\n"))
    (folder / "ENROLL_SYNC_evil.csv").symlink_to(secret)
    (folder / "ENROLL_SYNC_inside.csv").symlink_to(folder / "ENROLL_SYNC_ok.csv")

    listing = await file_store.scan("ENROLL_SYNC_")

    assert [f.name for f in listing.files] == ["ENROLL_SYNC_ok.csv"]
    assert [f.name for f in await file_store.list_files("ENROLL_SYNC_")] == ["ENROLL_SYNC_ok.csv"]
    assert sorted((r.entry, r.reason) for r in listing.refused) == [
        ("ENROLL_SYNC_evil.csv", "a symbolic link, not a file"),
        ("ENROLL_SYNC_inside.csv", "a symbolic link, not a file"),
    ]
    for name in ("ENROLL_SYNC_evil.csv", "ENROLL_SYNC_inside.csv"):
        for call in (
            file_store.stat(name),
            content(file_store, name),
            file_store.read_range(name, 0, 100),
            file_store.rename(name, "Sent-x.csv"),
        ):
            with pytest.raises(NotAFile) as refused:
                await call
            assert b"s3cr3t" not in messages(refused).encode()
            assert isinstance(refused.value, FileMissing)  # no file by that name to take
    assert secret.read_bytes() == SECRET
    assert (folder / "ENROLL_SYNC_evil.csv").is_symlink()


async def test_a_folder_or_a_fifo_is_refused_and_never_opened(
    folder_store: tuple[FileStore, Path],
) -> None:
    file_store, folder = folder_store
    (folder / "IN_folder").mkdir()
    os.mkfifo(folder / "IN_pipe")  # opening it for reading would wait for a writer forever

    listing = await file_store.scan("IN_")

    assert listing.files == []
    assert sorted((r.entry, r.reason) for r in listing.refused) == [
        ("IN_folder", "a folder, not a file"),
        ("IN_pipe", "not a regular file"),
    ]
    for name in ("IN_folder", "IN_pipe"):
        with pytest.raises(NotAFile):
            await file_store.stat(name)
        with pytest.raises(NotAFile):
            await content(file_store, name)
        with pytest.raises(NotAFile):
            await file_store.read_range(name, 0, 1)


async def test_an_upload_never_writes_through_a_link_swapped_in_for_its_part(
    folder_store: tuple[FileStore, Path], tmp_path: Path
) -> None:
    file_store, folder = folder_store
    secret = secret_file(tmp_path)
    upload = await file_store.begin_upload("big.bin")
    await file_store.upload_part(upload, 1, 0, b"first")
    (part,) = [p for p in folder.rglob("*") if p.is_file() and "big.bin" in p.name]
    part.unlink()
    part.symlink_to(secret)

    with pytest.raises(NotAFile):
        await file_store.upload_part(upload, 2, 5, b"OVERWRITTEN")
    with pytest.raises(NotAFile):
        await file_store.complete_upload(upload, ["1:0:5"])

    assert secret.read_bytes() == SECRET
    assert "big.bin" not in [f.name for f in await file_store.list_files()]


async def test_a_write_never_goes_through_a_link_planted_for_its_temporary(
    tmp_path: Path,
) -> None:
    store = LocalFolder(tmp_path / "store")
    secret = secret_file(tmp_path)
    (store.root / ".uploads").symlink_to(secret.parent)
    planted = secret.parent / f"ENROLL_ACK_x.csv.{os.getpid()}.tmp"
    planted.symlink_to(secret)

    with pytest.raises(TechnicalFault, match="not a folder"):
        await store.write("ENROLL_ACK_x.csv", iterate(b"ack rows\n"))
    (store.root / ".uploads").unlink()
    (store.root / ".uploads").mkdir()
    (store.root / ".uploads" / planted.name).symlink_to(secret)

    assert await store.write("ENROLL_ACK_x.csv", iterate(b"ack rows\n")) == 9

    assert secret.read_bytes() == SECRET
    assert await content(store, "ENROLL_ACK_x.csv") == b"ack rows\n"
    assert not (store.root / "ENROLL_ACK_x.csv").is_symlink()


async def test_entries_of_unsafe_names_are_refused_and_set_aside_without_following_them(
    file_store: FileStore, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    folder = on_disk(file_store, request)
    odd = ["ENROLL_SYNC_ with space.csv", "ENROLL_SYNC_tab\tname.csv"]
    if folder is None:
        s3: S3Server = request.getfixturevalue("s3_server")
        assert isinstance(file_store, S3Store)
        client = s3.client()
        try:
            for name in odd:
                client.put_object(Bucket=s3.bucket, Key=file_store.prefix + name, Body=b"odd")
        finally:
            client.close()
    else:
        for name in odd:
            (folder / name).write_bytes(b"odd")
        (folder / "ENROLL_SYNC_link.csv").symlink_to(secret_file(tmp_path))
        odd.append("ENROLL_SYNC_link.csv")
    await file_store.write("ENROLL_SYNC_ok.csv", iterate(b"fine"))

    listing = await file_store.scan("ENROLL_SYNC_")
    assert sorted(r.entry for r in listing.refused) == sorted(odd)
    assert all(r.reason for r in listing.refused)
    for refused in listing.refused:
        await file_store.set_aside(refused.entry, f"Error-aside-{len(refused.entry)}.csv")
    with pytest.raises(FileExists):
        await file_store.set_aside("ENROLL_SYNC_ok.csv", f"Error-aside-{len(odd[0])}.csv")
    with pytest.raises(FileMissing):
        await file_store.set_aside("ENROLL_SYNC_ gone.csv", "Error-gone.csv")
    for forged in ("../x", "a/b", "", "..", "."):
        with pytest.raises(UnsafeName):
            await file_store.set_aside(forged, "Error-forged.csv")

    again = await file_store.scan("ENROLL_SYNC_")
    assert again.refused == []
    assert [f.name for f in again.files] == ["ENROLL_SYNC_ok.csv"]
    if folder is not None:
        assert (folder / "Error-aside-20.csv").is_symlink()  # moved, never followed


# -- SFTP ---------------------------------------------------------------------------------


def fresh_folder() -> str:
    return f"/t-{uuid.uuid4().hex[:12]}"


async def test_sftp_logs_in_with_a_password(sftp_server: SftpServer) -> None:
    store = open_store(sftp_server.url(fresh_folder(), password=True))
    try:
        await store.write("p.csv", iterate(b"by password"))
        assert await content(store, "p.csv") == b"by password"
    finally:
        await store.close()


async def test_sftp_logs_in_with_a_key(sftp_server: SftpServer) -> None:
    url = sftp_server.url(fresh_folder(), password=False)
    assert "key=" in url
    assert sftp_server.password not in url
    store = open_store(url)
    try:
        await store.write("k.csv", iterate(b"by key"))
        assert await content(store, "k.csv") == b"by key"
    finally:
        await store.close()


async def test_sftp_refuses_a_wrong_password(sftp_server: SftpServer) -> None:
    url = sftp_server.url(fresh_folder()).replace(sftp_server.password, "not-the-password")
    store = open_store(url)
    try:
        with pytest.raises(ConfigurationError, match="refused the login"):
            await store.list_files()
    finally:
        await store.close()


async def test_sftp_refuses_a_server_whose_host_key_is_not_the_known_one(
    sftp_server: SftpServer, tmp_path: Path
) -> None:
    import asyncssh

    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(
        sftp_server.known_hosts_line(asyncssh.generate_private_key("ssh-ed25519"))
    )
    url = sftp_server.url(fresh_folder()).replace(str(sftp_server.known_hosts), str(known_hosts))
    store = open_store(url)
    try:
        with pytest.raises(ConfigurationError, match="host key"):
            await store.list_files()
    finally:
        await store.close()


async def test_sftp_can_skip_the_host_key_check_when_told_to(sftp_server: SftpServer) -> None:
    url = sftp_server.url(fresh_folder()).replace(
        f"known_hosts={sftp_server.known_hosts}", "known_hosts=none"
    )
    store = open_store(url)
    try:
        assert await store.list_files() == []
    finally:
        await store.close()


async def test_sftp_reconnects_after_the_server_dropped_the_connection(
    sftp_server: SftpServer,
) -> None:
    store = open_store(sftp_server.url(fresh_folder()))
    try:
        await store.write("a.csv", iterate(b"before"))
        await asyncio.to_thread(sftp_server.drop_connections)

        # A call that meets the dropped connection fails as a retryable fault (the hub retries
        # it) and marks the connection dead, whenever the client notices the drop; a later call
        # opens a new connection.
        faults = 0
        for _ in range(3):
            try:
                assert await content(store, "a.csv") == b"before"
                break
            except RemoteFault:
                faults += 1
        assert faults < 3
    finally:
        await store.close()


def test_sftp_store_opens_a_new_connection_in_another_event_loop(
    sftp_server: SftpServer,
) -> None:
    store = open_store(sftp_server.url(fresh_folder()))

    async def write_then_list(name: str) -> list[str]:
        await store.write(name, iterate(b"x"))
        return [f.name for f in await store.list_files()]

    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        assert first.run_until_complete(write_then_list("one.csv")) == ["one.csv"]
        assert second.run_until_complete(write_then_list("two.csv")) == ["one.csv", "two.csv"]
        second.run_until_complete(store.close())
        # The first loop's connection was dropped from the second: let the first loop see it.
        first.run_until_complete(asyncio.sleep(0.01))
    finally:
        first.close()
        second.close()


async def test_sftp_skips_temporaries_folders_and_unsafe_names_in_a_listing(
    sftp_server: SftpServer,
) -> None:
    folder = fresh_folder()
    local = sftp_server.root / folder.strip("/")
    local.mkdir()
    (local / ".upload-0123456789abcdef-x.csv").write_bytes(b"temp")
    (local / "with space.csv").write_bytes(b"odd")
    (local / "sub").mkdir()
    (local / "good.csv").write_bytes(b"good")
    store = open_store(sftp_server.url(folder))
    try:
        assert [f.name for f in await store.list_files()] == ["good.csv"]
    finally:
        await store.close()


async def test_sftp_server_not_listening_is_a_remote_fault(sftp_server: SftpServer) -> None:
    from tests.support.servers import free_port

    url = sftp_server.url(fresh_folder()).replace(f":{sftp_server.port}/", f":{free_port()}/")
    store = open_store(url)
    try:
        with pytest.raises(RemoteFault, match="cannot connect"):
            await store.list_files()
    finally:
        await store.close()


# -- S3 -----------------------------------------------------------------------------------


async def test_s3_server_stopped_is_a_remote_fault(s3_server: S3Server) -> None:
    server = S3Server(bucket="derlink-stopping")
    store = open_store(server.url("p"))
    try:
        await store.write("a.csv", iterate(b"x"))
        await asyncio.to_thread(server.stop)
        with pytest.raises(RemoteFault):
            await store.list_files()
        with pytest.raises(RemoteFault):
            await content(store, "a.csv")
    finally:
        await store.close()


async def test_s3_a_missing_bucket_is_a_remote_fault_that_says_so(s3_server: S3Server) -> None:
    url = s3_server.url("p").replace(f"@{s3_server.bucket}/", "@no-such-bucket/")
    store = open_store(url)
    try:
        with pytest.raises(RemoteFault, match="does not exist"):
            await store.stat("a.csv")
    finally:
        await store.close()


async def test_s3_lists_only_flat_safe_names_under_its_prefix(s3_server: S3Server) -> None:
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    client = s3_server.client()
    try:
        for key in ["good.csv", "sub/nested.csv", "with space.csv", ".hidden"]:
            client.put_object(Bucket=s3_server.bucket, Key=f"{prefix}/{key}", Body=b"x")
        client.put_object(Bucket=s3_server.bucket, Key=f"{prefix}-sibling.csv", Body=b"x")
    finally:
        client.close()
    store = open_store(s3_server.url(prefix))
    try:
        assert [f.name for f in await store.list_files()] == ["good.csv"]
    finally:
        await store.close()


# -- store URLs -----------------------------------------------------------------------------


def test_a_plain_or_file_url_opens_a_local_folder(tmp_path: Path) -> None:
    absolute = open_store(f"file://{tmp_path}/a")
    relative = open_store("inbox", home=tmp_path)

    assert isinstance(absolute, LocalFolder) and absolute.root == tmp_path / "a"
    assert isinstance(relative, LocalFolder) and relative.root == tmp_path / "inbox"


def test_an_sftp_url_gives_host_port_user_folder_and_login_without_connecting() -> None:
    store = open_store(
        "sftp://bob:p%40ss%2Fword@files.example.com:2222/srv/inbox/"
        "?key=/etc/derlink/id_ed25519&known_hosts=/etc/derlink/known_hosts"
    )

    assert isinstance(store, SftpStore)
    assert (store.host, store.port, store.username, store.folder) == (
        "files.example.com",
        2222,
        "bob",
        "/srv/inbox",
    )
    assert store.location == "sftp://bob@files.example.com:2222/srv/inbox"
    assert "p@ss" not in store.location
    assert store._password == "p@ss/word"
    assert store._key == "/etc/derlink/id_ed25519"
    assert store._known_hosts == "/etc/derlink/known_hosts"


def test_an_sftp_url_defaults_to_port_22_and_the_users_known_hosts() -> None:
    store = open_store("sftp://bob@files.example.com/in")

    assert isinstance(store, SftpStore)
    assert store.port == 22
    assert store._known_hosts == ""
    unchecked = open_store("sftp://bob@h/in?known_hosts=none")
    assert isinstance(unchecked, SftpStore) and unchecked._known_hosts is None


@pytest.mark.parametrize(
    "url",
    [
        "sftp://files.example.com/in",  # no user
        "sftp://bob:pa55word@files.example.com/in?keyfile=/x",  # a misspelt setting
        "sftp://bob:pa55word@files.example.com:notaport/in",
    ],
)
def test_a_bad_sftp_url_is_a_configuration_error_that_hides_the_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_store(url)
    assert "pa55word" not in str(caught.value)


def test_an_s3_url_gives_bucket_prefix_endpoint_region_and_credentials() -> None:
    store = open_store(
        "s3://AKIA1:se%2Fcret@reports/cpm/kwh/?endpoint=http://127.0.0.1:9000&region=eu-west-1"
    )

    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix, store.endpoint, store.region) == (
        "reports",
        "cpm/kwh/",
        "http://127.0.0.1:9000",
        "eu-west-1",
    )
    assert (store._access_key, store._secret_key) == ("AKIA1", "se/cret")
    assert "AKIA1" not in store.location and "se/cret" not in store.location
    assert store.location == "s3://reports/cpm/kwh/?endpoint=http://127.0.0.1:9000"


def test_an_s3_url_without_credentials_leaves_them_to_the_usual_chain() -> None:
    store = open_store("s3://reports")

    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix, store.endpoint) == ("reports", "", None)
    assert (store._access_key, store._secret_key) == (None, None)


@pytest.mark.parametrize(
    "url",
    [
        "s3://onlykey@reports/p",  # an access key without its secret
        "s3://key:pa55word@reports/p?endpont=http://127.0.0.1:1",  # a misspelt setting
        "s3:///p",  # no bucket
    ],
)
def test_a_bad_s3_url_is_a_configuration_error_that_hides_the_secret(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_store(url)
    assert "pa55word" not in str(caught.value)


def test_an_unknown_scheme_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown file store"):
        open_store("ftp://files.example.com/in")


def test_a_local_folder_sweeps_the_temporaries_of_dead_writers(tmp_path: Path) -> None:
    from derlink.platform.files import LocalFolder

    uploads = tmp_path / ".uploads"
    uploads.mkdir()
    dead = uploads / "ENROLL_SYNC_A.csv.999999999.tmp"
    live = uploads / f"ENROLL_SYNC_B.csv.{os.getpid()}.tmp"
    resumable = uploads / "ENROLL_SYNC_C.csv.0123456789abcdef.part"
    for path in (dead, live, resumable):
        path.write_bytes(b"half")
    LocalFolder(tmp_path)
    assert not dead.exists()
    assert live.exists() and resumable.exists()
