"""File exchange: one port for content servers and object storage (SPEC §2.4, §3 Hub).

Every file flow and every part that writes or reads files goes through :class:`FileStore`:

- ``file:///abs/folder`` (or a plain path) — a local folder, the embedded default;
- ``sftp://user[:password]@host[:port]/folder?key=/path/id_ed25519&known_hosts=/path`` — a
  content server over SFTP (:mod:`derlink.platform.files_sftp`);
- ``s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1`` — S3-compatible
  object storage (:mod:`derlink.platform.files_s3`), credentials from the URL's user info or
  the usual ``AWS_*`` variables.

Names are flat (no folders): every name that comes from outside goes through :func:`safe_name`.
Writes are atomic (a temporary name, then a rename), so a reader never sees half a file.
Large files move in parts through the resumable upload calls, so a copy interrupted by a crash
goes on at the last finished part. Failures reaching the server are :class:`RemoteFault`
(retried by the hub); a missing file is :class:`FileMissing`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from derlink.common.errors import ConfigurationError, Conflict, TechnicalFault

#: The size of one read from a store, and of one part of a resumable upload.
CHUNK = 8 * 1024 * 1024

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+=,-]{0,199}$")


class FileMissing(TechnicalFault):
    """The named file is not (or no longer) in the store: renamed or removed meanwhile."""

    code = "DL-FILE-MISSING"


class FileExists(Conflict):
    """A rename or write would replace a file that is already there."""

    code = "DL-FILE-EXISTS"


class UnsafeName(TechnicalFault):
    code = "DL-FILE-NAME"


def is_safe_name(name: str) -> bool:
    """Whether a name passes :func:`safe_name` (listings skip the others)."""
    return bool(_NAME.fullmatch(name)) and ".." not in name


def safe_name(name: str) -> str:
    """A file name from outside, checked: flat, no traversal, no absolute path, no control chars.

    Letters, digits and ``._@+=,-``, starting with a letter or digit, at most 200 characters.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise UnsafeName(f"file name {name!r} is not allowed (flat names of [A-Za-z0-9._@+=,-])")
    return name


@dataclass(frozen=True)
class FileInfo:
    name: str
    size: int
    #: Last modification, seconds since the epoch.
    modified: float

    @property
    def version(self) -> str:
        """What tells two deliveries under one name apart before reading them."""
        return f"{self.size}-{int(self.modified * 1000)}"


class FileStore(Protocol):
    #: Where the store is, for logs and e-mails: never carries a secret.
    location: str

    async def list_files(self, prefix: str = "") -> list[FileInfo]:
        """The files whose name starts with ``prefix``, by name."""
        ...

    async def stat(self, name: str) -> FileInfo:
        """One file's size and time; :class:`FileMissing` if it is not there."""
        ...

    def read(self, name: str, offset: int = 0, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """The file's bytes from ``offset`` on, in chunks of at most ``chunk_size``."""
        ...

    async def read_range(self, name: str, offset: int, length: int) -> bytes:
        """At most ``length`` bytes from ``offset`` (fewer at the end of the file)."""
        ...

    async def write(self, name: str, chunks: AsyncIterable[bytes]) -> int:
        """Write a whole file atomically, replacing one of the same name; returns its size."""
        ...

    async def rename(self, source: str, target: str) -> None:
        """Rename; :class:`FileMissing` if ``source`` is gone, :class:`FileExists` if ``target``
        is there."""
        ...

    async def delete(self, name: str) -> None:
        """Remove a file; no error if it is already gone."""
        ...

    async def begin_upload(self, name: str) -> str:
        """Start a resumable upload of ``name``; the id goes to the other upload calls."""
        ...

    async def upload_part(self, upload_id: str, number: int, offset: int, data: bytes) -> str:
        """Store part ``number`` (1-based, every part but the last of equal size) at ``offset``.

        Idempotent: sending a part again replaces it. Returns the part's token."""
        ...

    async def complete_upload(self, upload_id: str, parts: list[str]) -> None:
        """Publish the file under its name, atomically, from the parts' tokens in order."""
        ...

    async def abort_upload(self, upload_id: str) -> None: ...

    async def close(self) -> None: ...


async def checksum(store: FileStore, name: str) -> str:
    """The SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    async for chunk in store.read(name):
        digest.update(chunk)
    return digest.hexdigest()


async def iterate(*chunks: bytes) -> AsyncIterator[bytes]:
    """Chunks already in memory, as the async iterable :meth:`FileStore.write` takes."""
    for chunk in chunks:
        yield chunk


# -- a local folder -------------------------------------------------------------------------

_UPLOADS = ".uploads"


class LocalFolder:
    """A folder on this machine: the embedded content server and object storage."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.location = f"file://{self.root}"
        self._sweep()

    def _sweep(self) -> None:
        """Remove the temporaries of whole-file writes whose process died mid-write."""
        for tmp in (self.root / _UPLOADS).glob("*.tmp"):
            pid = tmp.suffixes[-2][1:] if len(tmp.suffixes) >= 2 else ""
            if pid.isdigit() and not _alive(int(pid)):
                tmp.unlink(missing_ok=True)

    def _path(self, name: str) -> Path:
        return self.root / safe_name(name)

    async def list_files(self, prefix: str = "") -> list[FileInfo]:
        return await asyncio.to_thread(self._list, prefix)

    def _list(self, prefix: str) -> list[FileInfo]:
        found = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                if (
                    entry.is_file()
                    and entry.name.startswith(prefix)
                    and _NAME.fullmatch(entry.name)
                ):
                    st = entry.stat()
                    found.append(FileInfo(entry.name, st.st_size, st.st_mtime))
        return sorted(found, key=lambda f: f.name)

    async def stat(self, name: str) -> FileInfo:
        path = self._path(name)
        try:
            st = await asyncio.to_thread(path.stat)
        except FileNotFoundError:
            raise FileMissing(f"{name} is not in {self.location}", file=name) from None
        return FileInfo(name, st.st_size, st.st_mtime)

    async def read(
        self, name: str, offset: int = 0, chunk_size: int = CHUNK
    ) -> AsyncIterator[bytes]:
        path = self._path(name)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise FileMissing(f"{name} is not in {self.location}", file=name) from None
        try:
            handle.seek(offset)
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()

    async def read_range(self, name: str, offset: int, length: int) -> bytes:
        path = self._path(name)

        def read() -> bytes:
            with path.open("rb") as handle:
                handle.seek(offset)
                return handle.read(length)

        try:
            return await asyncio.to_thread(read)
        except FileNotFoundError:
            raise FileMissing(f"{name} is not in {self.location}", file=name) from None

    async def write(self, name: str, chunks: AsyncIterable[bytes]) -> int:
        path = self._path(name)
        tmp = self.root / _UPLOADS / f"{name}.{os.getpid()}.tmp"
        tmp.parent.mkdir(exist_ok=True)
        size = 0
        handle = await asyncio.to_thread(tmp.open, "wb")
        try:
            async for chunk in chunks:
                await asyncio.to_thread(handle.write, chunk)
                size += len(chunk)
            await asyncio.to_thread(handle.flush)
            await asyncio.to_thread(os.fsync, handle.fileno())
        except BaseException:
            handle.close()
            tmp.unlink(missing_ok=True)
            raise
        handle.close()
        await asyncio.to_thread(tmp.replace, path)
        return size

    async def rename(self, source: str, target: str) -> None:
        src, dst = self._path(source), self._path(target)

        def move() -> None:
            if dst.exists():
                raise FileExists(f"{target} is already in {self.location}", file=target)
            try:
                src.rename(dst)
            except FileNotFoundError:
                raise FileMissing(f"{source} is not in {self.location}", file=source) from None

        await asyncio.to_thread(move)

    async def delete(self, name: str) -> None:
        await asyncio.to_thread(self._path(name).unlink, missing_ok=True)

    def _upload(self, upload_id: str) -> Path:
        return self.root / _UPLOADS / safe_name(upload_id)

    async def begin_upload(self, name: str) -> str:
        safe_name(name)
        upload_id = f"{name}.{hashlib.sha256(os.urandom(16)).hexdigest()[:16]}.part"
        path = self._upload(upload_id)
        path.parent.mkdir(exist_ok=True)
        await asyncio.to_thread(path.touch)
        return upload_id

    async def upload_part(self, upload_id: str, number: int, offset: int, data: bytes) -> str:
        path = self._upload(upload_id)

        def put() -> None:
            with path.open("r+b") as handle:
                handle.seek(offset)
                handle.write(data)

        try:
            await asyncio.to_thread(put)
        except FileNotFoundError:
            raise FileMissing(f"upload {upload_id} is not in {self.location}") from None
        return f"{number}:{offset}:{len(data)}"

    async def complete_upload(self, upload_id: str, parts: list[str]) -> None:
        path = self._upload(upload_id)
        name = upload_id.rsplit(".", 2)[0]
        size = sum(int(p.split(":")[2]) for p in parts)

        def publish() -> None:
            with path.open("r+b") as handle:
                handle.truncate(size)
                handle.flush()
                os.fsync(handle.fileno())
            path.replace(self._path(name))

        try:
            await asyncio.to_thread(publish)
        except FileNotFoundError:
            # Completed before a crash, and replayed: the file is there already.
            if not self._path(name).exists():
                raise FileMissing(f"upload {upload_id} is not in {self.location}") from None

    async def abort_upload(self, upload_id: str) -> None:
        await asyncio.to_thread(self._upload(upload_id).unlink, missing_ok=True)

    async def close(self) -> None:
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def open_store(url: str, *, home: Path | None = None) -> FileStore:
    """The store a URL names: ``file://``, a plain path (relative to ``home``), ``sftp://`` or
    ``s3://``."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        path = Path(parsed.path if parsed.scheme else url)
        if not path.is_absolute():
            path = (home or Path.cwd()) / path
        return LocalFolder(path)
    if parsed.scheme == "sftp":
        from derlink.platform.files_sftp import SftpStore

        return SftpStore.from_url(url)
    if parsed.scheme == "s3":
        from derlink.platform.files_s3 import S3Store

        return S3Store.from_url(url)
    raise ConfigurationError(f"unknown file store {parsed.scheme!r} in {url!r}")
