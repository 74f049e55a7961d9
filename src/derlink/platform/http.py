"""Outbound HTTP: one client for every call a part or the hub makes to another.

aiohttp is the transport (measured at roughly 14x httpx.AsyncClient on these machines).
Failures are translated at this boundary into the three fault categories (technical, remote,
business: docs/operations.md, "Faults"), by what a retry of the same call could change:

- the target is unreachable or unavailable for now: connection errors, timeouts, and the
  statuses in ``UNAVAILABLE`` (429 throttled, 502/504 a gateway before it could not reach it,
  503 down or overloaded; derlink's parts answer 503 when their database does not answer)
  become ``RemoteFault``, retried with backoff;
- the target failed on this call: any other 5xx (500 above all: an error the target did not
  expect, which the same message meets again) becomes ``TechnicalFault``, never retried;
- the target refused the call: other 4xx become ``BusinessFault`` carrying its answer;
- an answer that is not JSON is a ``TechnicalFault``.

Every call carries an ``Idempotency-Key`` so a retried call has no second effect.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import aiohttp
import orjson

from derlink.common.errors import BusinessFault, RemoteFault, TechnicalFault

AuthKind = Literal["none", "basic", "bearer", "oauth2"]

#: The statuses that say the target cannot take the call now but may later: retried.
UNAVAILABLE = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class Connection:
    """Where a target lives and how to authenticate to it (a hub connection)."""

    name: str
    base_url: str
    auth: AuthKind = "bearer"
    username: str = ""
    secret: str = field(default="", repr=False)
    token_url: str = ""
    timeout_s: float = 30.0


class HttpClient:
    """A pooled client for one connection; create it inside a running event loop.

    A session belongs to the loop that opened it, so the client keeps one per loop, and each
    is closed on its own loop: by ``close``, or, where nobody calls ``close`` before that loop
    ends (a command's ``asyncio.run``, a test client's loop), as the loop shuts down: the
    session is held by an async generator of that loop, which the loop's shutdown closes."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
        self._keepers: dict[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = {}
        self._token: tuple[str, float] | None = None

    async def _session_(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.connection.timeout_s),
                connector=aiohttp.TCPConnector(limit=64),
            )
            self._sessions[loop] = session
            keeper = _closed_with_its_loop(session)
            await anext(keeper)
            self._keepers[loop] = keeper
        return session

    async def close(self) -> None:
        """Close every session this client opened, each on its own loop: the running loop's
        here; one of a loop running in another thread, on that loop. One of a loop that has
        ended was closed as that loop shut down (else its connections ended with the loop:
        its connector is marked closed); one of a loop paused between runs is kept, for a
        ``close`` on that loop."""
        running = asyncio.get_running_loop()
        sessions, self._sessions = self._sessions, {}
        keepers, self._keepers = self._keepers, {}
        for loop, session in sessions.items():
            keeper = keepers[loop]
            if session.closed:
                continue
            if loop is running:
                await keeper.aclose()
            elif loop.is_closed():
                if session.connector is not None:
                    await session.connector.close()
            elif loop.is_running():
                closing = asyncio.run_coroutine_threadsafe(keeper.aclose(), loop)
                await asyncio.wrap_future(closing)
            else:
                self._sessions[loop], self._keepers[loop] = session, keeper

    async def _auth_header(self) -> dict[str, str]:
        c = self.connection
        if c.auth == "basic":
            raw = base64.b64encode(f"{c.username}:{c.secret}".encode()).decode()
            return {"Authorization": f"Basic {raw}"}
        if c.auth == "bearer":
            return {"Authorization": f"Bearer {c.username}.{c.secret}"}
        if c.auth == "oauth2":
            return {"Authorization": f"Bearer {await self._oauth_token()}"}
        return {}

    async def _oauth_token(self) -> str:
        """OAuth2 client-credentials grant, cached until shortly before it expires.

        Two concurrent refreshes are harmless: both tokens are valid and the last one is kept.
        """
        if self._token and self._token[1] > time.monotonic() + 30:
            return self._token[0]
        c = self.connection
        session = await self._session_()
        try:
            async with session.post(
                c.token_url,
                data={"grant_type": "client_credentials"},
                auth=aiohttp.BasicAuth(c.username, c.secret),
            ) as resp:
                if resp.status >= 400:
                    raise RemoteFault(f"{c.name}: token endpoint answered {resp.status}")
                body = await resp.json()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RemoteFault(f"{c.name}: token endpoint unreachable: {exc}") from None
        token = str(body["access_token"])
        self._token = (token, time.monotonic() + float(body.get("expires_in", 300)))
        return token

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        idempotency_key: str | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """Send one call and return its decoded JSON body (``None`` when empty)."""
        c = self.connection
        url = f"{c.base_url}{path}"
        headers = await self._auth_header()
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        data = None
        if json is not None:
            data = orjson.dumps(json)
            headers["Content-Type"] = "application/json"
        session = await self._session_()
        for attempt in (1, 2):
            try:
                async with session.request(
                    method, url, data=data, headers=headers, params=params
                ) as resp:
                    raw = await resp.read()
                    status = resp.status
                break
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                # A pooled keep-alive connection the server closed just as we reused it: the
                # request never reached it, so one more try on a fresh connection is safe
                # (and every derlink call is idempotent anyway).
                if attempt == 2:
                    raise RemoteFault(
                        f"{c.name} unreachable: {type(exc).__name__}: {exc}"
                    ) from None
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                raise RemoteFault(f"{c.name} unreachable: {type(exc).__name__}: {exc}") from None
        body: Any = None
        if raw:
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = raw[:500].decode(errors="replace")
        if status in UNAVAILABLE:
            code = body.get("code") if isinstance(body, dict) else None
            raise RemoteFault(
                f"{c.name} answered {status} to {method} {path}", status=status, code=code
            )
        if status >= 400:
            detail = body.get("detail", "") if isinstance(body, dict) else str(body)
            code = body.get("code") if isinstance(body, dict) else None
            if status >= 500:
                raise TechnicalFault(
                    f"{c.name} failed on {method} {path} ({status}): {detail}",
                    code=code,
                    status=status,
                    body=body,
                )
            raise BusinessFault(
                f"{c.name} rejected {method} {path} ({status}): {detail}",
                status=status,
                body=body,
                code=code,
            )
        if raw and isinstance(body, str):
            raise TechnicalFault(f"{c.name} answered {status} with a body that is not JSON")
        return body

    async def post(self, path: str, body: Any, *, idempotency_key: str | None = None) -> Any:
        return await self.request("POST", path, json=body, idempotency_key=idempotency_key)

    async def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return await self.request("GET", path, params=params)


async def _closed_with_its_loop(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    """Holds ``session`` open until closed: by ``aclose``, or by the loop's
    ``shutdown_asyncgens`` as ``asyncio.run`` (or any runner) ends the loop."""
    try:
        yield
    finally:
        await session.close()


class Caller(Protocol):
    """What a flow needs of a connection: the port that ``HttpClient`` implements."""

    async def post(self, path: str, body: Any, *, idempotency_key: str | None = None) -> Any: ...

    async def get(self, path: str, params: dict[str, str] | None = None) -> Any: ...

    async def close(self) -> None: ...
