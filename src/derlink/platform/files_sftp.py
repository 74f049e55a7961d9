"""A content server over SFTP: the :class:`~derlink.platform.files.FileStore` of ``sftp://`` URLs.

``sftp://user[:password]@host[:port]/abs/folder?key=/path/id_ed25519&known_hosts=/path``

- ``key`` — a private key file for public-key login (else the password, else the user's usual
  keys and agent);
- ``known_hosts`` — the file the server's host key must be in; without it, the user's
  ``~/.ssh/known_hosts``. ``known_hosts=none`` turns host-key checking off: that lets anyone on
  the path pretend to be the server, so it is for throw-away test servers only.

One connection and its SFTP session are opened on first use and shared by every call made from
the same event loop; a dropped connection is opened again by the next call, and a call from
another event loop opens a connection of its own (close the store before its loop ends).

A call that meets a network or server failure raises :class:`~derlink.common.errors.RemoteFault`
(the hub retries it); a refused login or an unknown host key is a
:class:`~derlink.common.errors.ConfigurationError`.

Writes go to a temporary name in the same folder (``.upload-<random>-<name>``, which listings
skip), then are renamed over the target, so a reader never sees half a file.

SFTP opens follow links and has no ``O_NOFOLLOW``: before a file is opened its entry is looked
at with ``lstat`` (a regular file, or :class:`~derlink.platform.files.NotAFile`), and once open
the handle's own attributes must be the same entry's (type, size, time, owner, mode), so that a
link swapped in between is refused rather than followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import posixpath
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlparse

import asyncssh

from derlink.common.errors import ConfigurationError, DerlinkError, RemoteFault
from derlink.platform.files import (
    CHUNK,
    FOLDER,
    LINK,
    SPECIAL,
    FileExists,
    FileInfo,
    FileMissing,
    Listing,
    NotAFile,
    UnsafeName,
    check_entry,
    listing,
    safe_name,
    shown,
)

#: How long to wait for the server to answer and the login to finish.
_CONNECT_TIMEOUT = 30.0
#: Keepalives find a silently dead connection instead of waiting forever on it.
_KEEPALIVE = 30.0

_TEMPORARY = re.compile(r"^\.upload-([0-9a-f]{16})-(.+)$")
_MISSING = (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath)
_QUERY_KEYS = {"key", "known_hosts"}


def _temporary_name(name: str) -> str:
    return f".upload-{os.urandom(8).hex()}-{safe_name(name)}"


def _target_of(upload_id: str) -> str:
    """The final name of an upload id (a temporary name), checked."""
    found = _TEMPORARY.fullmatch(upload_id) if isinstance(upload_id, str) else None
    if found is None:
        raise UnsafeName(f"{upload_id!r} is not an upload id of this store")
    return safe_name(found.group(2))


def _kind(attrs: asyncssh.SFTPAttrs) -> str | None:
    """Why an entry of these attributes is refused, or None: a regular file."""
    if attrs.type == asyncssh.FILEXFER_TYPE_REGULAR:
        return None
    if attrs.type == asyncssh.FILEXFER_TYPE_SYMLINK:
        return LINK
    if attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY:
        return FOLDER
    return SPECIAL


def _identity(attrs: asyncssh.SFTPAttrs) -> tuple[object, ...]:
    """What tells one entry from another when the server gives no inode number."""
    return (
        attrs.type,
        attrs.size,
        attrs.mtime,
        attrs.mtime_ns,
        attrs.uid,
        attrs.gid,
        attrs.permissions,
    )


def _info(name: str, attrs: asyncssh.SFTPAttrs) -> FileInfo:
    modified = float(attrs.mtime or 0) + (attrs.mtime_ns or 0) / 1e9
    return FileInfo(name, attrs.size or 0, modified)


@dataclass
class _Session:
    """The connection of one event loop; the lock lets one caller at a time (re)open it."""

    loop: asyncio.AbstractEventLoop
    lock: asyncio.Lock
    conn: asyncssh.SSHClientConnection | None = None
    sftp: asyncssh.SFTPClient | None = None

    def alive(self) -> bool:
        return self.sftp is not None and self.conn is not None and not self.conn.is_closed()

    def abort(self) -> None:
        """Drop the connection at once (it is broken, or belongs to a finished loop)."""
        conn, self.conn, self.sftp = self.conn, None, None
        if conn is None or self.loop.is_closed():
            # A loop closed with the connection still open took its socket with it: close
            # the store before its loop ends.
            return
        if self.loop.is_running() and self.loop is not asyncio.get_running_loop():
            self.loop.call_soon_threadsafe(conn.abort)
        else:
            conn.abort()


class SftpStore:
    """A folder on an SFTP server."""

    def __init__(
        self,
        *,
        host: str,
        folder: str,
        username: str,
        port: int = 22,
        password: str | None = None,
        key: str | None = None,
        known_hosts: str | None = "",
    ) -> None:
        """``known_hosts``: a file; ``""`` for the user's usual one; ``None`` for no check."""
        self.host = host
        self.port = port
        self.username = username
        self.folder = folder.rstrip("/") or "/"
        self._password = password
        self._key = key
        self._known_hosts = known_hosts
        netloc = f"[{host}]" if ":" in host else host
        self.location = f"sftp://{username}@{netloc}:{port}{self.folder}"
        self._session: _Session | None = None

    @classmethod
    def from_url(cls, url: str) -> SftpStore:
        parsed = urlparse(url)
        if parsed.scheme != "sftp" or not parsed.hostname:
            raise ConfigurationError(f"not an sftp:// URL with a host: {_redact(url)!r}")
        if not parsed.username:
            raise ConfigurationError(f"the sftp URL {_redact(url)!r} names no user")
        query = parse_qs(parsed.query, keep_blank_values=True)
        unknown = set(query) - _QUERY_KEYS
        if unknown:
            raise ConfigurationError(
                f"unknown setting(s) {sorted(unknown)} in the sftp URL {_redact(url)!r}; "
                f"known: {sorted(_QUERY_KEYS)}"
            )
        known_hosts: str | None = query.get("known_hosts", [""])[-1]
        if known_hosts is not None and known_hosts.lower() == "none":
            known_hosts = None
        try:
            port = parsed.port or 22
        except ValueError:
            raise ConfigurationError(f"bad port in the sftp URL {_redact(url)!r}") from None
        return cls(
            host=parsed.hostname,
            port=port,
            username=unquote(parsed.username),
            password=unquote(parsed.password) if parsed.password is not None else None,
            key=query.get("key", [""])[-1] or None,
            known_hosts=known_hosts,
            folder=unquote(parsed.path) or "/",
        )

    # -- the connection -------------------------------------------------------------------

    async def _client(self) -> asyncssh.SFTPClient:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is None or session.loop is not loop:
            if session is not None:
                session.abort()
            session = self._session = _Session(loop, asyncio.Lock())
        if session.alive():
            assert session.sftp is not None
            return session.sftp
        async with session.lock:
            if not session.alive():
                session.abort()
                session.conn, session.sftp = await self._open()
            assert session.sftp is not None
            return session.sftp

    async def _open(self) -> tuple[asyncssh.SSHClientConnection, asyncssh.SFTPClient]:
        options = await asyncio.to_thread(self._options)
        try:
            conn = await asyncssh.connect(
                self.host,
                self.port,
                options=options,
                connect_timeout=_CONNECT_TIMEOUT,
                keepalive_interval=_KEEPALIVE,
            )
        except asyncssh.HostKeyNotVerifiable as exc:
            raise ConfigurationError(
                f"the host key of {self.location} is not the one in known_hosts "
                f"({self._known_hosts or '~/.ssh/known_hosts'}): {exc.reason}"
            ) from None
        except asyncssh.PermissionDenied as exc:
            raise ConfigurationError(
                f"{self.location} refused the login of {self.username!r}: {exc.reason}"
            ) from None
        except (OSError, asyncssh.Error) as exc:
            raise RemoteFault(f"cannot connect to {self.location}: {_describe(exc)}") from None
        try:
            sftp = await conn.start_sftp_client(path_errors="replace")
            if not await sftp.isdir(self.folder):
                await sftp.makedirs(self.folder, exist_ok=True)
        except BaseException as exc:
            conn.abort()
            if isinstance(exc, OSError | asyncssh.Error):
                raise RemoteFault(
                    f"cannot open the folder of {self.location}: {_describe(exc)}"
                ) from None
            raise
        return conn, sftp

    def _options(self) -> asyncssh.SSHClientConnectionOptions:
        """Login settings, with the key and known_hosts files read now (they may be rotated)."""
        keys: list[asyncssh.SSHKey] | None
        if self._key:
            try:
                keys = [asyncssh.read_private_key(self._key)]
            except (OSError, asyncssh.KeyImportError) as exc:
                raise ConfigurationError(
                    f"cannot read the SSH key {self._key} for {self.location}: {exc}"
                ) from None
        else:
            keys = None
        known: asyncssh.SSHKnownHosts | str | None | tuple[()]
        if self._known_hosts is None:
            known = None  # no host-key check: test servers only
        elif self._known_hosts:
            try:
                known = asyncssh.read_known_hosts(self._known_hosts)
            except (OSError, ValueError) as exc:
                raise ConfigurationError(
                    f"cannot read known_hosts {self._known_hosts} for {self.location}: {exc}"
                ) from None
        else:
            known = ()
        settings: dict[str, object] = {
            "username": self.username,
            "known_hosts": known,
        }
        if self._password is not None:
            settings["password"] = self._password
        if keys is not None:
            settings["client_keys"] = keys
        elif self._password is not None:
            # A password was given: do not also offer whatever keys this machine has.
            settings["client_keys"] = None
            settings["agent_path"] = None
        return asyncssh.SSHClientConnectionOptions(**settings)

    @contextlib.contextmanager
    def _faults(self, doing: str, name: str | None = None) -> Iterator[None]:
        """Translate asyncssh's and the network's errors into derlink's."""
        try:
            yield
        except DerlinkError:
            raise
        except _MISSING:
            missing = name or doing
            raise FileMissing(f"{missing} is not in {self.location}", file=missing) from None
        except (OSError, asyncssh.Error) as exc:
            broken = not isinstance(exc, asyncssh.SFTPError) or isinstance(
                exc, asyncssh.SFTPConnectionLost | asyncssh.SFTPNoConnection
            )
            if broken and self._session is not None:
                # The connection itself failed: the next call opens a new one.
                self._session.abort()
            raise RemoteFault(f"{doing} on {self.location} failed: {_describe(exc)}") from None

    def _path(self, name: str) -> str:
        return posixpath.join(self.folder, safe_name(name))

    def _temporary(self, upload_id: str) -> str:
        _target_of(upload_id)
        return posixpath.join(self.folder, upload_id)

    # -- the FileStore calls --------------------------------------------------------------

    async def _regular(self, sftp: asyncssh.SFTPClient, path: str, name: str) -> asyncssh.SFTPAttrs:
        """The entry's own attributes (``lstat``): a regular file's, or :class:`NotAFile`."""
        attrs = await sftp.lstat(path)
        kind = _kind(attrs)
        if kind is not None:
            raise NotAFile(f"{name} in {self.location} is {kind}: refused", file=name)
        return attrs

    async def _open_file(
        self, sftp: asyncssh.SFTPClient, path: str, mode: str, name: str
    ) -> asyncssh.SFTPClientFile:
        """Open a regular file, never a link: the entry before and the file opened must be
        one."""
        before = await self._regular(sftp, path, name)
        handle = await sftp.open(path, mode)
        try:
            opened = await handle.stat()
        except BaseException:
            with contextlib.suppress(OSError, asyncssh.Error):
                await handle.close()
            raise
        if _kind(opened) is not None or _identity(opened) != _identity(before):
            with contextlib.suppress(OSError, asyncssh.Error):
                await handle.close()
            raise NotAFile(
                f"{name} in {self.location} became another entry while it was opened: refused",
                file=name,
            )
        return handle

    async def scan(self, prefix: str = "") -> Listing:
        found: list[tuple[FileInfo, str | None]] = []
        with self._faults(f"listing {prefix}*"):
            sftp = await self._client()
            # The server reads a folder's entries with lstat: a link shows as a link.
            async for entry in sftp.scandir(self.folder):
                name = entry.filename
                if not isinstance(name, str) or not name.startswith(prefix):
                    continue
                if name.startswith("."):
                    continue  # a hidden entry: this store's temporaries, another tool's
                found.append((_info(name, entry.attrs), _kind(entry.attrs)))
        return listing(found)

    async def list_files(self, prefix: str = "") -> list[FileInfo]:
        return (await self.scan(prefix)).files

    async def stat(self, name: str) -> FileInfo:
        path = self._path(name)
        with self._faults(f"reading the size of {name}", name):
            sftp = await self._client()
            attrs = await self._regular(sftp, path, name)
        return _info(name, attrs)

    async def read(
        self, name: str, offset: int = 0, chunk_size: int = CHUNK
    ) -> AsyncIterator[bytes]:
        path = self._path(name)
        with self._faults(f"reading {name}", name):
            sftp = await self._client()
            handle = await self._open_file(sftp, path, "rb", name)
        try:
            position = offset
            while True:
                with self._faults(f"reading {name}", name):
                    chunk = _binary(await handle.read(chunk_size, position))
                if not chunk:
                    return
                position += len(chunk)
                yield chunk
        finally:
            with contextlib.suppress(OSError, asyncssh.Error):
                await handle.close()

    async def read_range(self, name: str, offset: int, length: int) -> bytes:
        path = self._path(name)
        with self._faults(f"reading {name}", name):
            sftp = await self._client()
            async with await self._open_file(sftp, path, "rb", name) as handle:
                data = await handle.read(length, offset) if length > 0 else b""
        return _binary(data)

    async def write(self, name: str, chunks: AsyncIterable[bytes]) -> int:
        path = self._path(name)
        temporary = posixpath.join(self.folder, _temporary_name(name))
        doing = f"writing {name}"
        size = 0
        with self._faults(doing, name):
            sftp = await self._client()
            handle = await sftp.open(temporary, "wb")
        try:
            # The source's own errors pass through untranslated: only the server's are faults.
            async for chunk in chunks:
                with self._faults(doing, name):
                    await handle.write(chunk, size)
                size += len(chunk)
            with self._faults(doing, name):
                await _fsync(handle)
                await handle.close()
                await self._replace(sftp, temporary, path)
        except BaseException:
            with contextlib.suppress(OSError, asyncssh.Error):
                await handle.close()
            await _remove_quietly(sftp, temporary)
            raise
        return size

    async def rename(self, source: str, target: str) -> None:
        src, dst = self._path(source), self._path(target)
        with self._faults(f"renaming {source} to {target}", source):
            sftp = await self._client()
            await self._regular(sftp, src, source)
            if await _lexists(sftp, dst):
                raise FileExists(f"{target} is already in {self.location}", file=target)
            await self._replace(sftp, src, dst)

    async def delete(self, name: str) -> None:
        path = self._path(name)
        with self._faults(f"removing {name}", name):
            sftp = await self._client()
            with contextlib.suppress(*_MISSING):
                await sftp.remove(path)

    async def set_aside(self, entry: str, target: str) -> None:
        src = posixpath.join(self.folder, check_entry(entry))
        dst = self._path(target)
        with self._faults(f"setting '{shown(entry)}' aside", f"'{shown(entry)}'"):
            sftp = await self._client()
            if await _lexists(sftp, dst):
                raise FileExists(f"{target} is already in {self.location}", file=target)
            # The plain rename moves the entry itself (a link, never what it points at) and
            # never replaces a target.
            await sftp.rename(src, dst)

    async def begin_upload(self, name: str) -> str:
        upload_id = _temporary_name(name)
        with self._faults(f"starting the upload of {name}", name):
            sftp = await self._client()
            async with sftp.open(self._temporary(upload_id), "wb"):
                pass
        return upload_id

    async def upload_part(self, upload_id: str, number: int, offset: int, data: bytes) -> str:
        path = self._temporary(upload_id)
        with self._faults(f"writing part {number} of {upload_id}", f"upload {upload_id}"):
            sftp = await self._client()
            async with await self._open_file(sftp, path, "r+b", upload_id) as handle:
                await handle.write(data, offset)
        return f"{number}:{offset}:{len(data)}"

    async def complete_upload(self, upload_id: str, parts: list[str]) -> None:
        name = _target_of(upload_id)
        path = self._temporary(upload_id)
        size = sum(int(part.split(":")[2]) for part in parts)
        with self._faults(f"publishing {name}", f"upload {upload_id}"):
            sftp = await self._client()
            try:
                async with await self._open_file(sftp, path, "r+b", upload_id) as handle:
                    await handle.truncate(size)
                    await _fsync(handle)
                await self._replace(sftp, path, self._path(name))
            except _MISSING:
                # Completed before a crash, and replayed: the file is there already.
                await self._regular(sftp, self._path(name), name)
        return None

    async def abort_upload(self, upload_id: str) -> None:
        path = self._temporary(upload_id)
        with self._faults(f"aborting {upload_id}"):
            sftp = await self._client()
            with contextlib.suppress(*_MISSING):
                await sftp.remove(path)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is None or session.conn is None:
            return
        if session.loop is not asyncio.get_running_loop():
            session.abort()
            return
        conn, sftp = session.conn, session.sftp
        session.conn = session.sftp = None
        if sftp is not None:
            sftp.exit()
            with contextlib.suppress(OSError, asyncssh.Error):
                await sftp.wait_closed()
        conn.close()
        with contextlib.suppress(OSError, asyncssh.Error):
            await conn.wait_closed()

    # -- helpers --------------------------------------------------------------------------

    async def _replace(self, sftp: asyncssh.SFTPClient, source: str, target: str) -> None:
        """Rename ``source`` to ``target``, replacing it: atomically where the server can."""
        try:
            await sftp.posix_rename(source, target)
        except asyncssh.SFTPOpUnsupported:
            # An old server without the POSIX rename: the plain rename will not replace, so
            # remove the target first (a reader may then briefly see no file, never half a one).
            with contextlib.suppress(*_MISSING):
                if await sftp.exists(target) and await sftp.exists(source):
                    await sftp.remove(target)
            await sftp.rename(source, target)


async def _lexists(sftp: asyncssh.SFTPClient, path: str) -> bool:
    """Whether there is an entry at ``path`` (a link counts, whatever it points at)."""
    try:
        await sftp.lstat(path)
    except _MISSING:
        return False
    return True


async def _remove_quietly(sftp: asyncssh.SFTPClient, path: str) -> None:
    """Remove a temporary file after a failure, if the connection still lets us."""
    with contextlib.suppress(OSError, asyncssh.Error):
        await sftp.remove(path)


async def _fsync(handle: asyncssh.SFTPClientFile) -> None:
    """Ask the server to flush the file to disk, where it offers that."""
    with contextlib.suppress(asyncssh.SFTPOpUnsupported):
        await handle.fsync()


def _binary(data: bytes | str) -> bytes:
    # Files are opened in binary mode, so asyncssh hands back bytes.
    assert isinstance(data, bytes)
    return data


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncssh.Error):
        return f"{type(exc).__name__}: {exc.reason}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.rsplit("@", 1)[1]
    return parsed._replace(netloc=f"{parsed.username}:***@{netloc}").geturl()
