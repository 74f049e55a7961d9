"""File exchange: one port for content servers and object storage.

Every file flow and every part that writes or reads files goes through :class:`FileStore`:

- ``file:///abs/folder`` (or a plain path) — a local folder, the embedded default;
- ``sftp://user[:password]@host[:port]/folder?key=/path/id_ed25519&known_hosts=/path`` — a
  content server over SFTP (:mod:`derlink.platform.files_sftp`);
- ``s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1`` — S3-compatible
  object storage (:mod:`derlink.platform.files_s3`), credentials from the URL's user info or
  the usual ``AWS_*`` variables.

Names are flat (no folders): every name that comes from outside goes through :func:`safe_name`.
A store takes regular files only: a link (wherever it points), a folder, a pipe or a device is
never listed, opened, read, renamed or written through, whatever its name; :meth:`FileStore.scan`
names such entries, and those of unsafe names, as :class:`Refused` (what the lister sets aside
with :meth:`FileStore.set_aside` and reports once), and the calls on one by name raise
:class:`NotAFile`. Nothing a store raises quotes a file's content.
Writes are atomic (a temporary name, then a rename), so a reader never sees half a file.
Large files move in parts through the resumable upload calls, so a copy interrupted by a crash
goes on at the last finished part. Failures reaching the server are :class:`RemoteFault`
(retried by the hub); a missing file is :class:`FileMissing`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import re
import stat
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlparse

from derlink.common.errors import ConfigurationError, Conflict, TechnicalFault
from derlink.platform.private import DIR_MODE, FILE_MODE, private_dir

#: The size of one read from a store, and of one part of a resumable upload.
CHUNK = 8 * 1024 * 1024

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+=,-]{0,199}$")


class FileMissing(TechnicalFault):
    """The named file is not (or no longer) in the store: renamed or removed meanwhile."""

    code = "DL-FILE-MISSING"


class NotAFile(FileMissing):
    """The name is a link, a folder or anything else but a regular file of the store."""

    code = "DL-FILE-NOT-REGULAR"


class FileExists(Conflict):
    """A rename or write would replace a file that is already there."""

    code = "DL-FILE-EXISTS"


class UnsafeName(TechnicalFault):
    code = "DL-FILE-NAME"


def shown(name: str) -> str:
    """A name from outside as logs and e-mails show it: escaped, at most 120 characters."""
    text = ascii(name)[1:-1]
    return text if len(text) <= 120 else text[:119] + "…"


def is_safe_name(name: str) -> bool:
    """Whether a name passes :func:`safe_name` (listings skip the others)."""
    return bool(_NAME.fullmatch(name)) and ".." not in name


def safe_name(name: str) -> str:
    """A file name from outside, checked: flat, no traversal, no absolute path, no control chars.

    Letters, digits and ``._@+=,-``, starting with a letter or digit, at most 200 characters.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise UnsafeName(
            f"file name '{shown(str(name))}' is not allowed (flat names of [A-Za-z0-9._@+=,-])"
        )
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


@dataclass(frozen=True)
class Refused:
    """An entry a listing passes over: not a regular file, or a name that is not allowed."""

    #: The entry's name as the store has it (for :meth:`FileStore.set_aside` only; logs and
    #: e-mails show it through :func:`shown`).
    entry: str
    reason: str


@dataclass(frozen=True)
class Listing:
    """What :meth:`FileStore.scan` found under a prefix."""

    files: list[FileInfo]
    refused: list[Refused]


def listing(entries: Iterable[tuple[FileInfo, str | None]]) -> Listing:
    """A scan's entries (each with why its kind is refused, None for a regular file) as files
    and refused entries, each by name: a regular file of an unsafe name is refused too."""
    files: list[FileInfo] = []
    refused: list[Refused] = []
    for info, kind in entries:
        if kind is not None:
            refused.append(Refused(info.name, kind))
        elif not is_safe_name(info.name):
            refused.append(Refused(info.name, BAD_NAME))
        else:
            files.append(info)
    return Listing(sorted(files, key=lambda f: f.name), sorted(refused, key=lambda r: r.entry))


#: Why an entry is refused, by what it is.
LINK = "a symbolic link, not a file"
FOLDER = "a folder, not a file"
SPECIAL = "not a regular file"
BAD_NAME = "a name that is not allowed (flat names of [A-Za-z0-9._@+=,-], at most 200)"


def check_entry(entry: str) -> str:
    """A raw entry name of a listing, checked for :meth:`FileStore.set_aside`: one component,
    whatever its characters, never a path."""
    if not isinstance(entry, str) or entry in ("", ".", "..") or "/" in entry or "\0" in entry:
        raise UnsafeName(f"'{shown(str(entry))}' is not an entry of this store")
    return entry


class FileStore(Protocol):
    #: Where the store is, for logs and e-mails: never carries a secret.
    location: str

    async def scan(self, prefix: str = "") -> Listing:
        """The regular files of safe names that start with ``prefix``, by name, and the other
        entries that start with it (links, folders, unsafe names), refused."""
        ...

    async def list_files(self, prefix: str = "") -> list[FileInfo]:
        """The files whose name starts with ``prefix``, by name (``scan``'s files)."""
        ...

    async def stat(self, name: str) -> FileInfo:
        """One file's size and time; :class:`FileMissing` if it is not there,
        :class:`NotAFile` if the name is a link, a folder or another kind of entry."""
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

    async def set_aside(self, entry: str, target: str) -> None:
        """Rename a refused entry (``Refused.entry``, whatever it is: the link itself, never
        what it points at) to the safe name ``target``; :class:`FileMissing` if it is gone,
        :class:`FileExists` if ``target`` is there."""
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


def entry_kind(mode: int) -> str | None:
    """Why an entry of this ``st_mode`` is refused (see :data:`LINK` …), or None: a regular
    file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return LINK
    if stat.S_ISDIR(mode):
        return FOLDER
    return SPECIAL


def _not_a_file(name: str, location: str, kind: str) -> NotAFile:
    return NotAFile(f"{name} in {location} is {kind}: refused", file=name)


class LocalFolder:
    """A folder on this machine: the embedded content server and object storage.

    Every file is opened with ``O_NOFOLLOW`` and checked to be a regular file once open;
    what it writes is created ``0600`` (platform/private.py), the folders it creates ``0700``.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        private_dir(self.root)
        self.location = f"file://{self.root}"
        self._sweep()

    def _sweep(self) -> None:
        """Remove the temporaries of whole-file writes whose process died mid-write."""
        uploads = self.root / _UPLOADS
        if not _is_folder(uploads):
            return
        for tmp in uploads.glob("*.tmp"):
            writer = tmp.suffixes[-2][1:] if len(tmp.suffixes) >= 2 else ""
            pid = writer.split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                tmp.unlink(missing_ok=True)

    def _path(self, name: str) -> Path:
        return self.root / safe_name(name)

    def _uploads(self) -> Path:
        """The folder of temporaries and parts (created ``0700``), never a link."""
        folder = self.root / _UPLOADS
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)
        if not _is_folder(folder):
            raise TechnicalFault(f"{folder} is not a folder: {self.location} will not write there")
        return folder

    def _open(self, path: Path, flags: int, name: str, missing: str | None = None) -> int:
        """A descriptor of the regular file ``path``: never through a link, never a pipe's
        wait; :class:`NotAFile` for anything else."""
        try:
            fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise FileMissing(missing or f"{name} is not in {self.location}", file=name) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _not_a_file(name, self.location, LINK) from None
            if exc.errno == errno.EISDIR:
                raise _not_a_file(name, self.location, FOLDER) from None
            if exc.errno == errno.ENXIO:  # a pipe without a reader
                raise _not_a_file(name, self.location, SPECIAL) from None
            raise
        kind = entry_kind(os.fstat(fd).st_mode)
        if kind is not None:
            os.close(fd)
            raise _not_a_file(name, self.location, kind)
        os.set_blocking(fd, True)
        return fd

    def _lstat(self, name: str) -> os.stat_result:
        try:
            st = os.lstat(self._path(name))
        except FileNotFoundError:
            raise FileMissing(f"{name} is not in {self.location}", file=name) from None
        kind = entry_kind(st.st_mode)
        if kind is not None:
            raise _not_a_file(name, self.location, kind)
        return st

    async def scan(self, prefix: str = "") -> Listing:
        return await asyncio.to_thread(self._scan, prefix)

    def _scan(self, prefix: str) -> Listing:
        found: list[tuple[FileInfo, str | None]] = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                name = entry.name
                if not name.startswith(prefix) or name.startswith("."):
                    continue  # another flow's, or a hidden entry (this store's temporaries)
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                found.append((FileInfo(name, st.st_size, st.st_mtime), entry_kind(st.st_mode)))
        return listing(found)

    async def list_files(self, prefix: str = "") -> list[FileInfo]:
        return (await self.scan(prefix)).files

    async def stat(self, name: str) -> FileInfo:
        st = await asyncio.to_thread(self._lstat, name)
        return FileInfo(name, st.st_size, st.st_mtime)

    async def read(
        self, name: str, offset: int = 0, chunk_size: int = CHUNK
    ) -> AsyncIterator[bytes]:
        path = self._path(name)
        fd = await asyncio.to_thread(self._open, path, os.O_RDONLY, name)
        handle = os.fdopen(fd, "rb")
        try:
            handle.seek(offset)
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()

    async def read_range(self, name: str, offset: int, length: int) -> bytes:
        path = self._path(name)

        def read() -> bytes:
            with os.fdopen(self._open(path, os.O_RDONLY, name), "rb") as handle:
                handle.seek(offset)
                return handle.read(length)

        return await asyncio.to_thread(read)

    async def write(self, name: str, chunks: AsyncIterable[bytes]) -> int:
        path = self._path(name)

        def create() -> tuple[Path, BinaryIO]:
            # A name of this writer's own (pid and a random part), created new: never an entry
            # that was there, such as a link planted under a name it could guess.
            tmp = self._uploads() / f"{name}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            return tmp, os.fdopen(os.open(tmp, flags, FILE_MODE), "wb")

        tmp, handle = await asyncio.to_thread(create)
        size = 0
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
            self._lstat(source)
            if os.path.lexists(dst):
                raise FileExists(f"{target} is already in {self.location}", file=target)
            try:
                src.rename(dst)
            except FileNotFoundError:
                raise FileMissing(f"{source} is not in {self.location}", file=source) from None

        await asyncio.to_thread(move)

    async def delete(self, name: str) -> None:
        await asyncio.to_thread(self._path(name).unlink, missing_ok=True)

    async def set_aside(self, entry: str, target: str) -> None:
        src, dst = self.root / check_entry(entry), self._path(target)

        def move() -> None:
            if os.path.lexists(dst):
                raise FileExists(f"{target} is already in {self.location}", file=target)
            try:
                src.rename(dst)  # the entry itself: a link is moved, never followed
            except FileNotFoundError:
                raise FileMissing(f"'{shown(entry)}' is not in {self.location}") from None

        await asyncio.to_thread(move)

    def _upload(self, upload_id: str) -> Path:
        return self._uploads() / safe_name(upload_id)

    async def begin_upload(self, name: str) -> str:
        safe_name(name)
        upload_id = f"{name}.{hashlib.sha256(os.urandom(16)).hexdigest()[:16]}.part"

        def create() -> None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            os.close(os.open(self._upload(upload_id), flags, FILE_MODE))

        await asyncio.to_thread(create)
        return upload_id

    async def upload_part(self, upload_id: str, number: int, offset: int, data: bytes) -> str:
        def put() -> None:
            missing = f"upload {upload_id} is not in {self.location}"
            fd = self._open(self._upload(upload_id), os.O_WRONLY, upload_id, missing)
            try:
                os.pwrite(fd, data, offset)
            finally:
                os.close(fd)

        await asyncio.to_thread(put)
        return f"{number}:{offset}:{len(data)}"

    async def complete_upload(self, upload_id: str, parts: list[str]) -> None:
        name = upload_id.rsplit(".", 2)[0]
        size = sum(int(p.split(":")[2]) for p in parts)

        def publish() -> None:
            path = self._upload(upload_id)
            missing = f"upload {upload_id} is not in {self.location}"
            fd = self._open(path, os.O_RDWR, upload_id, missing)
            try:
                os.ftruncate(fd, size)
                os.fsync(fd)
            finally:
                os.close(fd)
            path.replace(self._path(name))

        try:
            await asyncio.to_thread(publish)
        except NotAFile:
            raise
        except FileMissing:
            # Completed before a crash, and replayed: the file is there already.
            if not await asyncio.to_thread(_is_file, self._path(name)):
                raise

    async def abort_upload(self, upload_id: str) -> None:
        await asyncio.to_thread(lambda: self._upload(upload_id).unlink(missing_ok=True))

    async def close(self) -> None:
        return None


def _is_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _is_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


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
