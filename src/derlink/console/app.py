"""The console application, mounted by the composition root at ``/console``.

It reads and acts through the hub part it is given (its store, service and connections to
cpm and DERMS), checks sign-ins against the platform's credential store, and keeps its sessions
in a database of its own (tables.py).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from derlink.common.clock import Clock, SystemClock
from derlink.common.errors import BusinessError, DerlinkError, Fault, NotFound
from derlink.console import (
    configuration,
    dashboard,
    events,
    hospital,
    inputs,
    instances,
    login,
    masterdata,
    network,
    program_events,
    records,
    unavailability,
)
from derlink.console.migrations import SCHEMA
from derlink.console.session import SessionStore, Signer, load_or_create_key
from derlink.console.web import (
    HERE,
    Console,
    LoginRequired,
    base,
    current_user,
    redirect,
    render,
    security_headers,
    templates,
)
from derlink.hub.app import HubPart
from derlink.platform.auth import CredentialStore, Forbidden
from derlink.platform.database import open_part_database
from derlink.platform.web import NO_TELEMETRY

#: HTTP status and page title of each error a page can meet.
ERROR_PAGES: tuple[tuple[type[DerlinkError], int, str], ...] = (
    (Forbidden, 403, "Not allowed"),
    (NotFound, 404, "Not found"),
    (BusinessError, 422, "Refused"),
    (Fault, 503, "A part did not answer"),
)


def create_console(
    *,
    hub_part: HubPart,
    credentials: CredentialStore,
    key_file: Path,
    database_url: str,
    clock: Clock | None = None,
    time_zone: str = "UTC",
) -> FastAPI:
    """The console over ``hub_part``; its sessions are kept in the database at
    ``database_url`` (schema ``console`` on PostgreSQL), their cookies signed with the key kept
    in ``key_file``. Its pages show times in ``time_zone`` (IANA), with UTC on hover."""
    app = FastAPI(
        title="derlink console",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        telemetry=NO_TELEMETRY,
    )
    signer = Signer(load_or_create_key(key_file))
    app.state.console = Console(
        hub=hub_part.hub,
        lookups=hub_part.lookups,
        credentials=credentials,
        signer=signer,
        sessions=SessionStore(open_part_database(database_url, SCHEMA), signer),
        clock=clock or SystemClock(),
        templates=templates(ZoneInfo(time_zone)),
        zone=ZoneInfo(time_zone),
    )
    app.middleware("http")(security_headers)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (
        login,
        dashboard,
        instances,
        hospital,
        records,
        program_events,
        unavailability,
        masterdata,
        network,
        inputs,
        events,
        configuration,
    ):
        app.include_router(module.router)
    _error_pages(app)
    return app


def _error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path if request.method == "GET" else f"{base(request)}/"
        if request.url.query and request.method == "GET":
            target += f"?{request.url.query}"
        return redirect(request, f"/login?next={quote(target, safe='')}")

    @app.exception_handler(DerlinkError)
    async def _error(request: Request, exc: DerlinkError) -> Response:
        status, title = 500, "Error"
        for kind, code, heading in ERROR_PAGES:
            if isinstance(exc, kind):
                status, title = code, heading
                break
        return await _error_page(request, status, title, exc.message)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        title = "Not found" if exc.status_code == 404 else "Not possible"
        return await _error_page(request, exc.status_code, title, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in ('body', 'query'))}: "
            f"{e.get('msg', '')}"
            for e in exc.errors()[:5]
        )
        return await _error_page(request, 422, "Not understood", problems)


async def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    try:
        user = await current_user(request)
    except LoginRequired:
        user = None
    return render(
        request,
        "error.html",
        {"title": title, "message": message, "status": status, "section": ""},
        user=user,
        status_code=status,
    )
