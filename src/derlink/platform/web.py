"""The web edge every part's API shares: app factory, credentials, problem+json errors.

Domain errors map to HTTP in one table (``STATUS_BY_ERROR``). Validation errors answer 422 with
the path of every bad field; a body over the limit answers 413 before it is read whole.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import orjson
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from derlink.common.errors import (
    BusinessError,
    Conflict,
    DerlinkError,
    Fault,
    NotFound,
    RemoteFault,
)
from derlink.platform.auth import (
    Client,
    CredentialStore,
    Forbidden,
    TooManyAttempts,
    Unauthorized,
)
from derlink.platform.database import DATABASE_UNAVAILABLE, unavailable

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


class JSONResponse(Response):
    media_type = "application/json"

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


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, whether or not they declare a length."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413, "Payload Too Large", f"request body exceeds the limit of {self.limit} bytes"
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


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
        errors = [
            {
                "field": _field_path(e.get("loc", ())),
                "message": e.get("msg", ""),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, "Unprocessable Entity", detail, errors=errors)

    @app.exception_handler(DerlinkError)
    async def _domain(_request: Request, exc: DerlinkError) -> Response:
        status = _status_for(exc)
        reserved = {"type", "title", "status", "detail", "code"}
        extra = {k: v for k, v in exc.details.items() if _is_json(v) and k not in reserved}
        return problem(status, type(exc).__name__, exc.message, code=exc.code, **extra)

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
        log.error("database error", exc_info=exc)
        return problem(500, "Internal Server Error", "the request failed on a database error")

    app.add_middleware(BodyLimit, limit=max_body_bytes)
    return app


#: When to try again after a 503 for a database that cannot serve.
RETRY_AFTER_S = 5


def _is_json(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | list | dict) or value is None


def remote(request: Request) -> str | None:
    """The caller's address, as the server saw it (a proxy in front is the address seen)."""
    return request.client.host if request.client else None


def require(scope: str) -> Callable[[Request], Awaitable[Client]]:
    """A FastAPI dependency: the calling client, which must hold ``scope``."""

    async def dependency(request: Request) -> Client:
        store: CredentialStore = request.app.state.credentials
        client = store.authenticate(request.headers.get("authorization"), remote=remote(request))
        store.require(client, scope)
        return client

    return dependency


def require_any(*scopes: str) -> Callable[[Request], Awaitable[Client]]:
    """A FastAPI dependency: the calling client, which must hold one of ``scopes``."""

    async def dependency(request: Request) -> Client:
        store: CredentialStore = request.app.state.credentials
        client = store.authenticate(request.headers.get("authorization"), remote=remote(request))
        if not client.scopes.intersection(scopes):
            raise Forbidden(f"client {client.client_id!r} lacks any of the scopes {list(scopes)}")
        return client

    return dependency


M = TypeVar("M", bound=BaseModel)


def parse_json_body(model: type[M], raw: bytes) -> M:
    """A JSON body validated by ``model`` in one pass of pydantic's JSON parser (a hot path's
    alternative to FastAPI's body handling); errors as FastAPI's 422, field paths under body."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from None


def json_body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body (``openapi_extra``) of a route that parses its body itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
