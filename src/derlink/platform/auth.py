"""Credentials and scopes.

Every API call carries a client's credentials, as ``Authorization: Bearer <client_id>.<secret>``
or HTTP Basic ``client_id:secret``. Each client holds a set of scopes; each route requires one.
The embedded start writes the credentials file (mode 600) into the data directory; only the
SHA-256 of each secret is kept in memory for checking, and secrets are never logged.

Guessing is throttled (:class:`Throttle`, :class:`AttemptLimits`): after too many wrong
credentials for one client id, or from one address, within a window, further attempts are
refused with :class:`TooManyAttempts` (HTTP 429 with ``Retry-After``) until the oldest failure
leaves the window, the right secret included, so a guess that happens to be right teaches
nothing. A client id under attack still authenticates from the addresses it authenticated from
before, so the parts' own publishers keep working. Unknown client ids are counted and refused
exactly like known ones. Each refusal is one log line (logger ``derlink.auth``: the client id
tried, the remote address, the reason; never the secret). The counts live in the process's
memory: a restart forgets them, and each process of a scaled-out deployment counts its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from derlink.common.errors import ConfigurationError, DerlinkError

log = logging.getLogger("derlink.auth")


class Unauthorized(DerlinkError):
    code = "DL-UNAUTHORIZED"


class TooManyAttempts(Unauthorized):
    """Too many failed attempts for this client id or from this address: wait ``retryAfter``
    seconds (the details)."""

    code = "DL-TOO-MANY-ATTEMPTS"


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


@dataclass(frozen=True)
class AttemptLimits:
    """How many failed authentications a window allows before further attempts wait."""

    #: Failures for one client id (known or not), from addresses it has not authenticated from.
    per_client: int = 10
    #: Failures from one remote address, whatever client ids they try.
    per_address: int = 50
    window_s: float = 300.0


#: How many client ids and addresses the throttle remembers at most (the oldest are forgotten).
_REMEMBERED = 10_000

#: Failed attempts, oldest first: when, and from which address.
_Failures = deque[tuple[float, str | None]]


class Throttle:
    """Failed attempts per client id and per remote address in a sliding window, in memory."""

    def __init__(self, limits: AttemptLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._lock = threading.Lock()
        #: client id, and address → the times and addresses of its failures in the window
        self._clients: OrderedDict[str, _Failures] = OrderedDict()
        self._addresses: OrderedDict[str, _Failures] = OrderedDict()
        #: client id → addresses it authenticated from
        self._known: OrderedDict[str, set[str]] = OrderedDict()

    def wait(self, client_id: str, remote: str | None) -> int:
        """Seconds this attempt must wait, or 0 when it may go on."""
        now = self.clock()
        since = now - self.limits.window_s
        limit = self.limits.per_address
        with self._lock:
            oldest = [
                _nth_last(self._addresses.get(remote) if remote else None, limit, since),
                None
                if remote is not None and remote in self._known.get(client_id, ())
                else _nth_last(self._clients.get(client_id), self.limits.per_client, since),
            ]
        times = [t for t in oldest if t is not None]
        if not times:
            return 0
        return max(1, math.ceil(max(times) + self.limits.window_s - now))

    def failed(self, client_id: str, remote: str | None) -> int:
        """Count a failure; returns how many the client id has in the window."""
        now = self.clock()
        with self._lock:
            if remote is not None:
                _remember(self._addresses, remote).append((now, remote))
            failures = _remember(self._clients, client_id)
            failures.append((now, remote))
            while failures[0][0] <= now - self.limits.window_s:
                failures.popleft()
            return len(failures)

    def succeeded(self, client_id: str, remote: str | None) -> None:
        """The client id authenticated from ``remote``: the failures from there are forgotten
        and the address is known to it from now on."""
        if remote is None:
            return
        with self._lock:
            known = self._known.get(client_id)
            if known is not None and remote in known and client_id not in self._clients:
                return  # the usual case, kept cheap
            known = self._known.setdefault(client_id, set())
            known.add(remote)
            if len(self._known) > _REMEMBERED:
                self._known.popitem(last=False)
            failures = self._clients.get(client_id)
            if failures is not None:
                kept = deque(f for f in failures if f[1] != remote)
                if kept:
                    self._clients[client_id] = kept
                else:
                    del self._clients[client_id]


def _nth_last(failures: _Failures | None, limit: int, since: float) -> float | None:
    """When the ``limit``-th last failure after ``since`` happened, if there are that many."""
    if not failures:
        return None
    while failures and failures[0][0] <= since:
        failures.popleft()
    return failures[-limit][0] if len(failures) >= limit else None


def _remember(table: OrderedDict[str, _Failures], key: str) -> _Failures:
    """The failures of ``key``, made the newest; the oldest key goes when the table is full."""
    failures = table.get(key)
    if failures is None:
        failures = table[key] = deque()
        if len(table) > _REMEMBERED:
            table.popitem(last=False)
    else:
        table.move_to_end(key)
    return failures


class CredentialStore:
    """Checks presented credentials against known clients in constant time, throttling
    repeated failures (see the module's documentation)."""

    def __init__(
        self,
        clients: Iterable[Client],
        *,
        limits: AttemptLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        known_scopes: Iterable[str] = (),
    ) -> None:
        self._clients = {c.client_id: c for c in clients}
        self._digests = {c.client_id: _digest(c.secret) for c in self._clients.values()}
        self.throttle = Throttle(limits or AttemptLimits(), clock)
        #: Every scope that existed when the file was written, granted or not: a scope of a
        #: later derlink is one not among them (``with_new_grants``).
        self.known_scopes = frozenset(known_scopes).union(
            *(c.scopes for c in self._clients.values())
        )

    def with_new_grants(
        self, clients: Mapping[str, Sequence[str]]
    ) -> tuple[CredentialStore, list[str]]:
        """This store with what a later derlink grants (``clients``, compose_clients): the
        clients it does not hold yet, with fresh secrets, and to each client it holds, the
        scopes that did not exist when its file was written. A scope an operator took away
        stays away (it was known then). Also what changed, in words."""
        new_scopes = {s for scopes in clients.values() for s in scopes} - self.known_scopes
        held = dict(self._clients)
        said: list[str] = []
        for name, scopes in clients.items():
            if name not in held:
                held[name] = Client(name, secrets.token_urlsafe(32), frozenset(scopes))
                said.append(f"client {name} added with {', '.join(scopes)}")
                continue
            added = [s for s in scopes if s in new_scopes and s not in held[name].scopes]
            if added:
                held[name] = replace(held[name], scopes=held[name].scopes | set(added))
                said.append(f"client {name} granted {', '.join(added)}")
        known = self.known_scopes | {s for scopes in clients.values() for s in scopes}
        store = CredentialStore(
            held.values(), limits=self.throttle.limits, clock=self.throttle.clock,
            known_scopes=known,
        )  # fmt: skip
        return store, said

    def client(self, client_id: str) -> Client:
        try:
            return self._clients[client_id]
        except KeyError:
            raise ConfigurationError(f"no credentials for client {client_id!r}") from None

    def authenticate(self, authorization: str | None, *, remote: str | None = None) -> Client:
        """The client whose credentials ``authorization`` (the header's value) carries, sent
        from the address ``remote`` (the peer's IP address, when known; the throttle counts
        failures per address only when it is given)."""
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
                raise self._refused("", remote, "malformed Basic credentials") from None
            client_id, _, secret = decoded.partition(":")
        else:
            raise self._refused("", remote, f"unsupported authorization scheme {scheme[:20]!r}")
        wait = self.throttle.wait(client_id, remote)
        if wait:
            _log_refusal("auth.throttled", client_id, remote, "too many failed attempts", wait)
            raise TooManyAttempts(
                f"too many failed attempts: try again in {wait} s", retryAfter=wait
            )
        expected = self._digests.get(client_id)
        if expected is None or not hmac.compare_digest(expected, _digest(secret)):
            raise self._refused(client_id, remote, "invalid credentials")
        self.throttle.succeeded(client_id, remote)
        return self._clients[client_id]

    def _refused(self, client_id: str, remote: str | None, reason: str) -> Unauthorized:
        failures = self.throttle.failed(client_id, remote)
        _log_refusal("auth.failed", client_id, remote, reason, failures=failures)
        return Unauthorized(reason)

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
                ],
                "knownScopes": sorted(self.known_scopes),
            },
            indent=2,
        )

    @classmethod
    def generate(
        cls,
        clients: Mapping[str, Sequence[str]],
        *,
        limits: AttemptLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> CredentialStore:
        """Fresh secrets for ``clients`` (compose_clients)."""
        return cls(
            (
                Client(name, secrets.token_urlsafe(32), frozenset(scopes))
                for name, scopes in clients.items()
            ),
            limits=limits,
            clock=clock,
        )

    @classmethod
    def load(cls, path: Path, *, limits: AttemptLimits | None = None) -> CredentialStore:
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
                (
                    Client(c["client_id"], c["secret"], frozenset(c["scopes"]))
                    for c in data["clients"]
                ),
                limits=limits,
                known_scopes=data.get("knownScopes", ()),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"{path} is not a derlink credentials file: {exc}") from None

    @classmethod
    def load_or_create(
        cls,
        path: Path,
        clients: Mapping[str, Sequence[str]],
        *,
        limits: AttemptLimits | None = None,
    ) -> CredentialStore:
        """Read the credentials file, writing a fresh one for ``clients`` (mode 600) on first
        start; a file an earlier derlink wrote gains what this one grants that did not exist
        then (``with_new_grants``), said in the log."""
        if path.exists():
            held, said = cls.load(path, limits=limits).with_new_grants(clients)
            if said:
                _write_private(path, held.to_json())
                for line in said:
                    log.warning("credentials %s: %s", path, line)
            return held
        store = cls.generate(clients, limits=limits)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(store.to_json())
        return store


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` at once, readable by its owner only."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    temporary.replace(path)


def _log_refusal(
    event: str,
    client_id: str,
    remote: str | None,
    reason: str,
    retry_after: int | None = None,
    *,
    failures: int | None = None,
) -> None:
    fields: dict[str, object] = {
        "event": event,
        "client": client_id[:80],
        "remote": remote or "",
        "reason": reason,
    }
    if failures is not None:
        fields["failures"] = failures
    if retry_after is not None:
        fields["retryAfter"] = retry_after
    log.warning(
        "%s: client %r from %s (%s)",
        "authentication throttled" if retry_after is not None else "authentication failed",
        client_id[:80],
        remote or "an unknown address",
        reason,
        extra={"fields": fields},
    )
