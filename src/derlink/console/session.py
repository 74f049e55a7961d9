"""Console sessions: a signed cookie naming the signed-in client, and a CSRF token.

The cookie holds ``base64url(JSON).hex(HMAC-SHA256)``, signed with a key kept in the data
directory (mode 600), so a restart keeps everyone signed in and nothing is stored server-side.
The session carries a fingerprint of the client's secret: rotating a secret in the
credentials file signs out every session opened with the old one. Every form that changes
something posts the session's CSRF token, compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from derlink.common.errors import ConfigurationError
from derlink.platform.auth import Client

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
    client_id: str
    fingerprint: str
    csrf: str
    expires: float


class Signer:
    """Signs and verifies small JSON values for cookies."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, body: bytes, purpose: str) -> str:
        return hmac.new(self._key, purpose.encode() + b"\0" + body, hashlib.sha256).hexdigest()

    def sign(self, value: Any, purpose: str) -> str:
        body = base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=")
        return f"{body.decode()}.{self._mac(body, purpose)}"

    def verify(self, token: str | None, purpose: str) -> Any:
        """The signed value, or None when the token is absent, altered or for another purpose."""
        if not token or "." not in token:
            return None
        body, _, mac = token.rpartition(".")
        if not hmac.compare_digest(mac, self._mac(body.encode(), purpose)):
            return None
        try:
            return orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, orjson.JSONDecodeError):
            return None

    # sessions ------------------------------------------------------------------------------
    def new_session(self, client: Client, now: float | None = None) -> tuple[Session, str]:
        session = Session(
            client_id=client.client_id,
            fingerprint=fingerprint(client),
            csrf=secrets.token_urlsafe(24),
            expires=(now if now is not None else time.time()) + SESSION_SECONDS,
        )
        token = self.sign(
            {
                "c": session.client_id,
                "f": session.fingerprint,
                "x": session.csrf,
                "e": session.expires,
            },
            "session",
        )
        return session, token

    def session(self, token: str | None, now: float | None = None) -> Session | None:
        value = self.verify(token, "session")
        if not isinstance(value, dict):
            return None
        try:
            session = Session(str(value["c"]), str(value["f"]), str(value["x"]), float(value["e"]))
        except (KeyError, TypeError, ValueError):
            return None
        if session.expires < (now if now is not None else time.time()):
            return None
        return session


def same_token(presented: str | None, expected: str) -> bool:
    """A CSRF check: the form's token is the session's, compared in constant time."""
    return bool(presented) and hmac.compare_digest(str(presented), expected)
