"""Real file servers on loopback for tests: an SFTP server (asyncssh) and an S3 server (moto).

Both run in a background thread, so sync and async tests can use them alike, and both listen
on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import asyncssh
import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

T = TypeVar("T")

SFTP_USER = "derlink"
S3_ACCESS = "test"
S3_SECRET = "test"

#: Settings for the tests' environment: no S3 client may ask the instance metadata service for
#: credentials, nor pick up a profile (with its endpoints) from this machine's ~/.aws.
LOOPBACK_ONLY = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


class _Login(asyncssh.SSHServer):
    """Password login for one user; key login through the server's authorized keys."""

    def __init__(self, server: SftpServer) -> None:
        self._server = server

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._server.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.connections.difference_update(
            {c for c in self._server.connections if c.is_closed()}
        )

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == SFTP_USER and secrets.compare_digest(password, self.password)

    @property
    def password(self) -> str:
        return self._server.password


class SftpServer:
    """An SFTP server on 127.0.0.1, chrooted to ``root``, in its own thread and event loop.

    ``folder`` (for :meth:`url`) is a path inside the chroot, such as ``/inbox``.
    """

    def __init__(self, base: Path, password: str = "s3cret-pass") -> None:
        self.base = base
        self.password = password
        self.root = base / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key_path = base / "id_ed25519"
        client_key = asyncssh.generate_private_key("ssh-ed25519")
        client_key.write_private_key(self.client_key_path)
        self.client_key_path.chmod(0o600)
        self._authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode())
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._acceptor = self._run(self._listen())
        self.port = int(self._acceptor.sockets[0].getsockname()[1])
        self.known_hosts = base / "known_hosts"
        self.known_hosts.write_text(self.known_hosts_line(self.host_key))

    def known_hosts_line(self, key: asyncssh.SSHKey) -> str:
        """The known_hosts line that trusts ``key`` for this server."""
        return f"[127.0.0.1]:{self.port} {key.export_public_key().decode().strip()}\n"

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=30)

    async def _listen(self) -> asyncssh.SSHAcceptor:
        root = str(self.root)
        return await asyncssh.create_server(
            lambda: _Login(self),
            "127.0.0.1",
            0,
            server_host_keys=[self.host_key],
            authorized_client_keys=self._authorized,
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=root.encode()),
            allow_scp=False,
        )

    def url(self, folder: str = "/", *, password: bool = True, key: bool = False) -> str:
        """The ``sftp://`` URL of ``folder`` for :class:`SftpStore`, logging in by password or
        by key."""
        auth = f"{SFTP_USER}:{quote(self.password, safe='')}" if password else SFTP_USER
        query = f"known_hosts={self.known_hosts}"
        if key or not password:
            query += f"&key={self.client_key_path}"
        return f"sftp://{auth}@127.0.0.1:{self.port}/{folder.strip('/')}?{query}"

    def drop_connections(self) -> None:
        """Cut every client's connection from the server side, as a restart would."""

        async def drop() -> None:
            for conn in list(self.connections):
                conn.close()
                await conn.wait_closed()
            self.connections.clear()

        self._run(drop())

    def stop(self) -> None:
        async def shutdown() -> None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            for conn in list(self.connections):
                conn.close()
                await conn.wait_closed()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        self._run(shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()


class S3Server:
    """moto's S3 server on 127.0.0.1 with one bucket, in a background thread."""

    def __init__(self, bucket: str = "derlink-test") -> None:
        self.bucket = bucket
        # One log line per request is noise in a test's output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        client = self.client()
        try:
            client.create_bucket(Bucket=bucket)
        finally:
            client.close()

    def client(self) -> Any:
        """A boto3 client on this server (close it after use)."""
        return boto3.session.Session(
            aws_access_key_id=S3_ACCESS,
            aws_secret_access_key=S3_SECRET,
            region_name="us-east-1",
        ).client(
            "s3",
            endpoint_url=self.endpoint,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def url(self, prefix: str = "") -> str:
        """The ``s3://`` URL of ``prefix`` in the bucket, with dummy credentials."""
        return (
            f"s3://{S3_ACCESS}:{S3_SECRET}@{self.bucket}/{prefix.strip('/')}"
            f"?endpoint={self.endpoint}&region=us-east-1"
        )

    def stop(self) -> None:
        self._server.stop()
        # moto's stop() leaves the listening socket open.
        wsgi = getattr(self._server, "_server", None)
        if wsgi is not None:
            wsgi.server_close()
