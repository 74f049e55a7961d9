"""Credentials and scopes.

Every API call carries a client's credentials, as ``Authorization: Bearer <client_id>.<secret>``
or HTTP Basic ``client_id:secret``. Each client holds a set of scopes; each route requires one.
The embedded start writes the credentials file (mode 600) into the data directory; only the
SHA-256 of each secret is kept in memory for checking, and secrets are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from derlink.common.errors import ConfigurationError, DerlinkError


class Unauthorized(DerlinkError):
    code = "DL-UNAUTHORIZED"


class Forbidden(DerlinkError):
    code = "DL-FORBIDDEN"


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str
    scopes: frozenset[str]

    def bearer(self) -> str:
        return f"{self.client_id}.{self.secret}"

    def header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer()}"}


#: A part's grants: which of its scopes (``part:area``) each of the clients an embedded start
#: creates holds, by client name (each part's ``scopes.py``).
Grants = Mapping[str, Sequence[str]]


def compose_clients(*grants: Grants) -> dict[str, tuple[str, ...]]:
    """The clients an embedded start creates, with every part's grants to each, in the order
    the parts name them."""
    clients: dict[str, list[str]] = {}
    for part in grants:
        for client, scopes in part.items():
            held = clients.setdefault(client, [])
            for scope in scopes:
                if scope not in held:
                    held.append(scope)
    return {client: tuple(scopes) for client, scopes in clients.items()}


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


class CredentialStore:
    """Checks presented credentials against known clients in constant time."""

    def __init__(self, clients: Iterable[Client]) -> None:
        self._clients = {c.client_id: c for c in clients}
        self._digests = {c.client_id: _digest(c.secret) for c in self._clients.values()}

    def client(self, client_id: str) -> Client:
        try:
            return self._clients[client_id]
        except KeyError:
            raise ConfigurationError(f"no credentials for client {client_id!r}") from None

    def authenticate(self, authorization: str | None) -> Client:
        if not authorization:
            raise Unauthorized("credentials required: send Authorization: Bearer <token>")
        scheme, _, value = authorization.partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            client_id, _, secret = value.partition(".")
        elif scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value, validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                raise Unauthorized("malformed Basic credentials") from None
            client_id, _, secret = decoded.partition(":")
        else:
            raise Unauthorized(f"unsupported authorization scheme {scheme!r}")
        expected = self._digests.get(client_id)
        if expected is None or not hmac.compare_digest(expected, _digest(secret)):
            raise Unauthorized("invalid credentials")
        return self._clients[client_id]

    @staticmethod
    def require(client: Client, scope: str) -> None:
        if scope not in client.scopes:
            raise Forbidden(f"client {client.client_id!r} lacks scope {scope!r}")

    def to_json(self) -> str:
        return json.dumps(
            {
                "clients": [
                    {"client_id": c.client_id, "secret": c.secret, "scopes": sorted(c.scopes)}
                    for c in self._clients.values()
                ]
            },
            indent=2,
        )

    @classmethod
    def generate(cls, clients: Mapping[str, Sequence[str]]) -> CredentialStore:
        """Fresh secrets for ``clients`` (compose_clients)."""
        return cls(
            Client(name, secrets.token_urlsafe(32), frozenset(scopes))
            for name, scopes in clients.items()
        )

    @classmethod
    def load(cls, path: Path) -> CredentialStore:
        """Read the credentials file; it must be there and readable by its owner only."""
        if not path.exists():
            raise ConfigurationError(f"no credentials file at {path}")
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigurationError(
                f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}"
            )
        try:
            data = json.loads(path.read_text())
            return cls(
                Client(c["client_id"], c["secret"], frozenset(c["scopes"])) for c in data["clients"]
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"{path} is not a derlink credentials file: {exc}") from None

    @classmethod
    def load_or_create(cls, path: Path, clients: Mapping[str, Sequence[str]]) -> CredentialStore:
        """Read the credentials file, writing a fresh one for ``clients`` (mode 600) on first
        start."""
        if path.exists():
            return cls.load(path)
        store = cls.generate(clients)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(store.to_json())
        return store
