"""The web edge every part's API shares: app factory, credentials, problem+json errors.

Domain errors map to HTTP in one table (``STATUS_BY_ERROR``). Validation errors answer 422 with
the path of every bad field; a body over the limit answers 413 before it is read whole, whether
it declares its length or comes in chunks. A route that requires credentials checks them before
it reads a byte of the body (``Authenticate``); JSON bodies are decoded within the limits of
``json_body``, on a worker thread when large (``JsonRoute``). A database that does not answer
is a 503, which callers retry; any other failure of a part stays a 500, which callers take as
a failure on the message itself, not to be retried (platform/http.py).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from http import HTTPStatus
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
import starlette.responses
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from derlink.common.errors import (
    BusinessError,
    Conflict,
    DerlinkError,
    Fault,
    NotFound,
    RemoteFault,
)
from derlink.platform import json_body
from derlink.platform.auth import (
    Client,
    CredentialStore,
    Forbidden,
    TooManyAttempts,
    Unauthorized,
)
from derlink.platform.database import DATABASE_UNAVAILABLE, unavailable
from derlink.platform.openapi import carry, document_app, document_route, inline_definitions

log = logging.getLogger("derlink.web")

STATUS_BY_ERROR: Mapping[type[DerlinkError], int] = {
    TooManyAttempts: 429,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    BusinessError: 422,
    # A part's route that calls another part passes the other's failure on as a gateway error.
    RemoteFault: 503,
    Fault: 502,
}


class JSONResponse(starlette.responses.JSONResponse):
    """The response of every route: JSON by orjson. A subclass of Starlette's, so that the
    OpenAPI document carries each route's response model."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    response = JSONResponse(body, status_code=status)
    response.headers["content-type"] = "application/problem+json"
    if status == 401:
        response.headers["www-authenticate"] = 'Bearer realm="derlink"'
    if status == 429 and "retryAfter" in extra:
        response.headers["retry-after"] = str(extra["retryAfter"])
    return response


def _status_for(exc: DerlinkError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    path = ""
    for p in parts:
        path += f"[{p}]" if p.isdigit() else (f".{p}" if path else p)
    return path or "body"


class _Refusal(HTTPException):
    """The edge's answer in place of the route's, raised where the route reads its body.

    FastAPI turns any other error raised while it reads a body into a 400; an
    ``HTTPException`` it passes on, and ``create_app`` answers it with ``response``.
    """

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, whether or not they declare a length.

    A declared length over the limit is refused before the body is read; a chunked body as
    soon as the bytes read pass the limit, wherever the route was reading it.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large()(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _Refusal(self._too_large())
            return message

        await self.app(scope, limited, send)

    def _too_large(self) -> Response:
        return problem(
            413, "Payload Too Large", f"request body exceeds the limit of {self.limit} bytes"
        )


#: Where the edge keeps the client a request authenticated as, in the request's ASGI scope.
_CLIENT = "derlink.client"

#: The dependencies that authenticate (``require``, ``require_any``), each with the scopes of
#: which the client must hold one: a route that depends on one of them requires credentials.
_CREDENTIAL_CHECKS: weakref.WeakKeyDictionary[Callable[..., Any], tuple[str, ...]] = (
    weakref.WeakKeyDictionary()
)


def requires_credentials(dependant: Dependant) -> bool:
    """Whether a route (its FastAPI dependant) checks credentials, at any depth."""
    return bool(scope_checks(dependant))


def scope_checks(dependant: Dependant) -> list[tuple[str, ...]]:
    """The credential checks of a route (its FastAPI dependant), at any depth: for each, the
    scopes of which the client must hold one."""
    found: list[tuple[str, ...]] = []
    for d in dependant.dependencies:
        if d.call is not None and d.call in _CREDENTIAL_CHECKS:
            found.append(_CREDENTIAL_CHECKS[d.call])
        found.extend(scope_checks(d))
    return found


class Authenticate:
    """Authenticate a request to a route that requires credentials before the route reads its
    body: without valid credentials the answer is the 401 the route would give, and not a byte
    of the body is read, parsed or validated.

    The check runs when the route first asks for the body, by then routed (a route without a
    body authenticates in its dependencies, before anything else), against the app's credential
    store as ``require`` does (``app.state.credentials``). Public routes (the OpenAPI
    document, /docs) have no credential dependency and are left alone; scopes stay checked per
    route by ``require``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        checked = False

        async def authenticated() -> Message:
            nonlocal checked
            if not checked and "route" in scope:
                checked = True
                dependant = getattr(scope["route"], "dependant", None)
                if (
                    _CLIENT not in scope
                    and isinstance(dependant, Dependant)
                    and requires_credentials(dependant)
                ):
                    request = Request(scope)
                    store: CredentialStore = request.app.state.credentials
                    try:
                        scope[_CLIENT] = store.authenticate(
                            request.headers.get("authorization"), remote=remote(request)
                        )
                    except Unauthorized as exc:
                        raise _Refusal(error_problem(exc)) from None
            return await receive()

        await self.app(scope, authenticated, send)


class _JsonRequest(Request):
    """A request whose JSON body is decoded by ``json_body`` (its limits; large bodies on a
    worker thread) instead of on the event loop by ``json.loads``."""

    async def json(self) -> Any:
        if not hasattr(self, "_decoded"):
            try:
                self._decoded = await json_body.decode_body(await self.body())
            except RequestValidationError as exc:
                raise _Refusal(validation_problem(exc.errors())) from None
        return self._decoded


class JsonRoute(APIRoute):
    """The route class of every part's API: the body of a route is read as a ``_JsonRequest``
    (``APIRouter(route_class=JsonRoute)``), and the route's OpenAPI operation documents what
    the edge answers for it (``openapi.document_route``)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        document_route(self, scope_checks(self.dependant))

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            return await handler(_JsonRequest(request.scope, request.receive))

        return handle


#: FastAPI's built-in OpenTelemetry spans, metrics and logs are off: derlink exports its own
#: Prometheus metrics, and the per-request spans cost a sizeable share of a request's CPU.
NO_TELEMETRY: Any = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


def create_app(title: str, *, credentials: CredentialStore, max_body_bytes: int) -> FastAPI:
    """A part's API application, with the shared error handling and credential check."""
    app = FastAPI(
        title=title, default_response_class=JSONResponse, docs_url="/docs", telemetry=NO_TELEMETRY
    )
    app.state.credentials = credentials

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        return validation_problem(exc.errors())

    @app.exception_handler(DerlinkError)
    async def _domain(_request: Request, exc: DerlinkError) -> Response:
        return error_problem(exc)

    @app.exception_handler(_Refusal)
    async def _refused(_request: Request, exc: _Refusal) -> Response:
        return exc.response

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> Response:
        # What the framework answers itself – an unknown route (404), a method the route does
        # not take (405), a body it cannot read as JSON, such as one not in UTF-8 (400) – in
        # the same problem+json shape as every other error.
        return http_problem(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(sa.exc.SQLAlchemyError)
    async def _database(_request: Request, exc: sa.exc.SQLAlchemyError) -> Response:
        if unavailable(exc):
            # Nothing was accepted: the caller sends again once the database is back.
            log.warning("database unavailable: %s", exc)
            response = problem(
                503,
                "Service Unavailable",
                "the database is unavailable; nothing was accepted, try again shortly",
                code=DATABASE_UNAVAILABLE,
            )
            response.headers["retry-after"] = str(RETRY_AFTER_S)
            return response
        code = getattr(getattr(exc, "orig", None), "sqlstate", None)
        if isinstance(code, str) and code.startswith("22"):
            # A data exception: a value the API let through that its column does not take. The
            # schemas size every string; this answers any that slipped through as the 4xx it is.
            log.error("a value does not fit its column (SQLSTATE %s)", code, exc_info=exc)
            return problem(
                422,
                "Unprocessable Entity",
                f"a value does not fit its column (SQLSTATE {code}): too long or not storable",
            )
        log.error("database error", exc_info=exc)
        return problem(500, "Internal Server Error", "the request failed on a database error")

    document_app(app)
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    app.add_middleware(NoNulInUrl)
    # Outermost, so that a request without credentials is refused before anything else.
    app.add_middleware(Authenticate)
    return app


class NoNulInUrl:
    """Refuse with 422 a path or query string holding a NUL character (``%00``): no database
    stores one in text, and no id or name of derlink's holds one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope.get("path", "")
            or b"%00" in scope.get("query_string", b"")
            or b"\x00" in scope.get("query_string", b"")
        ):
            where = "path" if "\x00" in scope.get("path", "") else "query string"
            response = problem(
                422,
                "Unprocessable Entity",
                f"the {where} holds a NUL character (%00), which derlink does not accept",
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


#: When to try again after a 503 for a database that cannot serve.
RETRY_AFTER_S = 5


def validation_problem(errors: Sequence[Any]) -> Response:
    """The 422 of invalid input: every error with its field path, the first five in the detail."""
    listed = [
        {"field": _field_path(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type")}
        for e in errors
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in listed[:5])
    return problem(422, "Unprocessable Entity", detail, errors=listed)


def http_problem(status: int, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    """The problem+json answer to an error the framework raises itself."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    response = problem(status, title, detail)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def error_problem(exc: DerlinkError) -> Response:
    """The answer to a domain error, by ``STATUS_BY_ERROR``."""
    status = _status_for(exc)
    reserved = {"type", "title", "status", "detail", "code"}
    extra = {k: v for k, v in exc.details.items() if _is_json(v) and k not in reserved}
    return problem(status, type(exc).__name__, exc.message, code=exc.code, **extra)


def _is_json(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | list | dict) or value is None


def remote(request: Request) -> str | None:
    """The caller's address, as the server saw it (a proxy in front is the address seen)."""
    return request.client.host if request.client else None


def require(scope: str) -> Callable[[Request], Awaitable[Client]]:
    """A FastAPI dependency: the calling client, which must hold ``scope``."""

    async def dependency(request: Request) -> Client:
        client = _client(request)
        CredentialStore.require(client, scope)
        return client

    _CREDENTIAL_CHECKS[dependency] = (scope,)
    return dependency


def require_any(*scopes: str) -> Callable[[Request], Awaitable[Client]]:
    """A FastAPI dependency: the calling client, which must hold one of ``scopes``."""

    async def dependency(request: Request) -> Client:
        client = _client(request)
        if not client.scopes.intersection(scopes):
            raise Forbidden(f"client {client.client_id!r} lacks any of the scopes {list(scopes)}")
        return client

    _CREDENTIAL_CHECKS[dependency] = scopes
    return dependency


def _client(request: Request) -> Client:
    """The client the request authenticated as (``Authenticate`` may have checked already)."""
    client = request.scope.get(_CLIENT)
    if not isinstance(client, Client):
        store: CredentialStore = request.app.state.credentials
        client = store.authenticate(request.headers.get("authorization"), remote=remote(request))
        request.scope[_CLIENT] = client
    return client


M = TypeVar("M", bound=BaseModel)


async def parse_json_body(model: type[M], raw: bytes) -> M:
    """A JSON body validated by ``model`` in one pass of pydantic's JSON parser (a hot path's
    alternative to FastAPI's body handling), within ``json_body``'s limits and on a worker
    thread when large; errors as FastAPI's 422, field paths under body."""
    return await json_body.validate_body(model, raw)


def json_body_schema(model: type[BaseModel], example: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI request body (``openapi_extra``) of a route that parses its body itself,
    with an example the model takes (checked when the route is defined)."""
    model.model_validate(example)
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": inline_definitions(model), **carry(example)}
            },
        }
    }


def root_index(parts: Sequence[str], *, console: bool) -> Callable[[Request], Response]:
    """The answer at ``/`` of a process serving ``parts``: the console for a browser (where the
    process runs it), else where each part's API and documentation are."""

    def index(request: Request) -> Response:
        if console and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/console/", status_code=303)
        return JSONResponse(
            {
                "derlink": "demand-response and DER programs, end to end",
                "parts": {name: f"/{name}/api/v1" for name in parts},
                "docs": {name: f"/{name}/docs" for name in parts},
            }
        )

    return index
