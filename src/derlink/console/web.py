"""The console's edge: who is signed in, what they may do, and how a page is rendered.

A request without a valid session is sent to the login page. A client may use the console if
it holds ``hub:read``; it may act (pause, resubmit, edit) if it holds ``hub:operate``. Every
form that acts carries the session's CSRF token; the server checks both, whatever the page
showed.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from derlink.common.clock import Clock
from derlink.common.errors import BusinessFault, ConfigurationError, DerlinkError
from derlink.console import views
from derlink.console.session import (
    FLASH_COOKIE,
    SESSION_COOKIE,
    SessionStore,
    Signer,
    fingerprint,
    same_token,
)
from derlink.hub import scopes
from derlink.hub.lookups import LookupStore
from derlink.hub.service import Hub
from derlink.platform.auth import CredentialStore, Forbidden
from derlink.platform.http import HttpClient

HERE = Path(__file__).parent
READ_SCOPE = scopes.READ
OPERATE_SCOPE = scopes.OPERATE


class LoginRequired(DerlinkError):
    code = "CONSOLE-LOGIN"


@dataclass(frozen=True)
class User:
    client_id: str
    can_operate: bool
    csrf: str
    session_id: str


@dataclass
class Console:
    """Everything the pages read from and act on, built once by ``create_console``."""

    hub: Hub
    lookups: LookupStore
    credentials: CredentialStore
    signer: Signer
    sessions: SessionStore
    clock: Clock
    templates: Jinja2Templates
    #: The utility's time zone (``DERLINK_TIME_ZONE``), in which every page shows times.
    zone: ZoneInfo


def templates(zone: ZoneInfo) -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = functools.partial(views.when, zone=zone)
    env.filters["local_input"] = functools.partial(views.local_input, zone=zone)
    env.globals["zone"] = str(zone)
    env.filters["duration"] = views.duration_ms
    env.filters["q"] = lambda value: quote(str(value), safe="")
    return Jinja2Templates(env=env)


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def base(request: Request) -> str:
    """Where the console is mounted (``/console``), for links and redirects."""
    return str(request.scope.get("root_path", "")).rstrip("/")


async def current_user(request: Request) -> User:
    """The signed-in client of an open session, still known to the credential store with the
    same secret."""
    console = console_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    session = (
        await asyncio.to_thread(console.sessions.find, cookie, console.clock.now())
        if cookie
        else None
    )
    if session is None:
        raise LoginRequired("sign in to use the console")
    try:
        client = console.credentials.client(session.client_id)
    except ConfigurationError:
        raise LoginRequired("the client of this session is no longer known") from None
    if fingerprint(client) != session.fingerprint or READ_SCOPE not in client.scopes:
        raise LoginRequired("the credentials of this session changed; sign in again")
    return User(client.client_id, OPERATE_SCOPE in client.scopes, session.csrf, session.id)


async def posting_user(request: Request) -> User:
    """The signed-in client, posting a form that carries its session's CSRF token."""
    return await _checked_form(request, await current_user(request))


async def operating_user(request: Request) -> User:
    """The signed-in client, allowed to act (``hub:operate``): for the pages that ask before
    an action."""
    user = await current_user(request)
    if not user.can_operate:
        raise Forbidden(
            f"{user.client_id} is read-only here: acting needs the scope {OPERATE_SCOPE}"
        )
    return user


async def acting_user(request: Request) -> User:
    """The signed-in client, allowed to act (``hub:operate``), posting a checked form."""
    return await _checked_form(request, await operating_user(request))


async def _checked_form(request: Request, user: User) -> User:
    form = await request.form()
    token = form.get("csrf")
    if not same_token(token if isinstance(token, str) else None, user.csrf):
        raise Forbidden("the form's security token does not match this session; reload the page")
    return user


def holds(console: Console, user: User, scope: str) -> bool:
    """Whether the signed-in client holds ``scope`` (of a part: what the part will check)."""
    try:
        return scope in console.credentials.client(user.client_id).scopes
    except ConfigurationError:
        return False


def as_signed_in(console: Console, user: User, target: Any, part: str) -> HttpClient:
    """A connection to ``part`` (``target``, the hub's connection to it) with the signed-in
    client's own credentials: the part checks that client's scopes and records it as the
    actor."""
    if not isinstance(target, HttpClient):
        raise Forbidden(f"the hub's connection to {part} takes no actions of people")
    try:
        client = console.credentials.client(user.client_id)
    except ConfigurationError:
        raise Forbidden(f"{user.client_id} is no longer a known client") from None
    own = replace(target.connection, auth="bearer", username=client.client_id, secret=client.secret)
    return HttpClient(own)


class Refused(Exception):
    """A part refused an action of the signed-in client: ``why`` is its detail."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


async def act_as_signed_in(
    console: Console, user: User, target: Any, part: str, method: str, path: str, body: Any = None
) -> Any:
    """Call ``part`` as the signed-in client (``as_signed_in``): its answer, or ``Refused``
    with the part's detail when it refuses the call (a 4xx)."""
    caller = as_signed_in(console, user, target, part)
    try:
        return await caller.request(method, path, json=body)
    except BusinessFault as exc:
        answer = exc.details.get("body")
        raise Refused(
            answer.get("detail", exc.message) if isinstance(answer, dict) else exc.message
        ) from None
    finally:
        await caller.close()


def records_page(back: str, fallback: str) -> str:
    """The page of the console's records a form names to go back to (``back``), else
    ``fallback``: never a page elsewhere."""
    return back if back.startswith("/records/") and "\\" not in back else fallback


def flash(response: Response, request: Request, message: str, kind: str = "ok") -> Response:
    """A one-time message shown by the next page."""
    signer = console_of(request).signer
    response.set_cookie(
        FLASH_COOKIE,
        signer.sign({"m": message[:500], "k": kind, "t": time.time()}, "flash"),
        path=base(request) or "/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=60,
    )
    return response


def redirect(request: Request, path: str, message: str = "", kind: str = "ok") -> Response:
    response = RedirectResponse(f"{base(request)}{path}", status_code=303)
    if message:
        flash(response, request, message, kind)
    return response


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    user: User | None,
    status_code: int = 200,
) -> Response:
    console = console_of(request)
    flashed = console.signer.verify(request.cookies.get(FLASH_COOKIE), "flash")
    response = console.templates.TemplateResponse(
        request,
        template,
        {
            "section": "",
            "base": base(request),
            "user": user,
            "flash": flashed if isinstance(flashed, dict) else None,
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path=base(request) or "/")
    return response


def ask(
    request: Request,
    user: User,
    *,
    question: str,
    explanation: Sequence[str],
    action: str,
    fields: Mapping[str, str],
    button: str,
    back: str,
    section: str,
) -> Response:
    """A page that asks before an action: it posts ``fields`` to ``action`` with the session's
    CSRF token when the operator confirms, and leads back to ``back`` when they do not."""
    return render(
        request,
        "confirm.html",
        {
            "section": section,
            "question": question,
            "explanation": explanation,
            "action": action,
            "fields": fields,
            "button": button,
            "back": back,
        },
        user=user,
    )


async def security_headers(
    request: Request, call_next: Callable[[Request], Coroutine[Any, Any, Response]]
) -> Response:
    """No framing, no inline scripts, no caching of pages that show operational data."""
    response = await call_next(request)
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'",
    )
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.url.path.startswith(f"{base(request)}/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
