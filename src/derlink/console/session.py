"""Console sessions: kept server-side in the console's database, named by a signed cookie.

A session is a row of ``console_sessions`` (tables.py): the signed-in client, a fingerprint of
its secret, the session's CSRF token and when it expires. The cookie holds a random token,
signed with itsdangerous (HMAC-SHA256) with a key kept in the data directory (mode 600);
the row is found by the token's SHA-256. Signing out deletes the row, so the cookie, replayed
afterwards, by any worker or after a restart, opens nothing. Rotating a secret in the
credentials file signs out every session opened with the old one. Every form that changes
something posts the session's CSRF token, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from itsdangerous import BadData, URLSafeSerializer

from derlink.common.errors import ConfigurationError
from derlink.console.tables import sessions
from derlink.platform.auth import Client
from derlink.platform.database import Database

SESSION_COOKIE = "derlink_console"
FLASH_COOKIE = "derlink_console_flash"
LOGIN_COOKIE = "derlink_console_login"
#: How long a session lasts without signing in again: one working day.
SESSION_SECONDS = 12 * 3600


def load_or_create_key(path: Path) -> bytes:
    """The signing key: read from ``path``, or written there (mode 600) on first start."""
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigurationError(
                f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}"
            )
        key = bytes.fromhex(path.read_text().strip())
        if len(key) < 32:
            raise ConfigurationError(f"{path} holds a key shorter than 32 bytes")
        return key
    key = secrets.token_bytes(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker wrote it first: use theirs
        return load_or_create_key(path)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex())
    return key


def fingerprint(client: Client) -> str:
    """A short digest of the client's secret: a session opened before a rotation is void."""
    return hashlib.sha256(f"{client.client_id}:{client.secret}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Session:
    id: str
    client_id: str
    fingerprint: str
    csrf: str
    expires: float


class Signer:
    """Signs and verifies small JSON values for cookies with itsdangerous (HMAC-SHA256, the
    purpose as the salt, so a value signed for one cookie is refused as another)."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._serializers: dict[str, URLSafeSerializer] = {}

    def _for(self, purpose: str) -> URLSafeSerializer:
        serializer = self._serializers.get(purpose)
        if serializer is None:
            serializer = URLSafeSerializer(
                self._key, salt=purpose, signer_kwargs={"digest_method": hashlib.sha256}
            )
            self._serializers[purpose] = serializer
        return serializer

    def sign(self, value: Any, purpose: str) -> str:
        return self._for(purpose).dumps(value)

    def verify(self, token: str | None, purpose: str) -> Any:
        """The signed value, or None when the token is absent, altered or for another purpose."""
        if not token:
            return None
        try:
            return self._for(purpose).loads(token)
        except BadData:
            return None


class SessionStore:
    """Opens, finds and closes sessions; the cookie's value is the signed token."""

    def __init__(self, db: Database, signer: Signer) -> None:
        self.db = db
        self.signer = signer

    def open(self, client: Client, now: datetime) -> tuple[Session, str]:
        """A new session of ``client``, and the cookie naming it. Expired sessions go."""
        token = secrets.token_urlsafe(32)
        at = now.timestamp()
        session = Session(
            id=_session_id(token),
            client_id=client.client_id,
            fingerprint=fingerprint(client),
            csrf=secrets.token_urlsafe(24),
            expires=at + SESSION_SECONDS,
        )
        with self.db.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.expires_at < at))
            conn.execute(
                sessions.insert().values(
                    id=session.id,
                    client_id=session.client_id,
                    fingerprint=session.fingerprint,
                    csrf=session.csrf,
                    created_at=at,
                    expires_at=session.expires,
                )
            )
        return session, self.signer.sign({"t": token}, "session")

    def find(self, cookie: str | None, now: datetime) -> Session | None:
        """The open session the cookie names, or None (absent, altered, closed or expired)."""
        value = self.signer.verify(cookie, "session")
        if not isinstance(value, dict) or not isinstance(value.get("t"), str):
            return None
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(sessions).where(sessions.c.id == _session_id(value["t"]))
            ).first()
        if row is None or row.expires_at <= now.timestamp():
            return None
        return Session(row.id, row.client_id, row.fingerprint, row.csrf, row.expires_at)

    def close(self, session_id: str) -> None:
        """End a session: its cookie opens nothing from now on."""
        with self.db.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.id == session_id))


def _session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(presented: str | None, expected: str) -> bool:
    """A CSRF check: the form's token is the session's, compared in constant time."""
    return bool(presented) and hmac.compare_digest(str(presented), expected)
