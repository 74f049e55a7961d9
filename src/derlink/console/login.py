"""Signing in and out: a client id and secret from the credentials file, as for the APIs.

Sign-ins go through the credential store's check, so they are throttled and their failures
logged as the APIs' are (platform/auth.py): after too many wrong secrets for a client id, or
from one address, the form says how long to wait (429), whether or not the client exists.
Signing out closes the session server-side.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from derlink.console.session import LOGIN_COOKIE, SESSION_COOKIE, SESSION_SECONDS
from derlink.console.web import (
    READ_SCOPE,
    LoginRequired,
    User,
    base,
    console_of,
    current_user,
    posting_user,
    redirect,
    render,
)
from derlink.platform.auth import TooManyAttempts, Unauthorized
from derlink.platform.web import remote

router = APIRouter()
log = logging.getLogger("derlink.console")


def _safe_next(request: Request, target: str | None) -> str:
    """Where to go after signing in: a console page, never another site."""
    prefix = base(request)
    if target and target.startswith(f"{prefix}/") and not target.startswith("//"):
        return target[len(prefix) :] or "/"
    return "/"


def _login_page(
    request: Request, *, target: str, error: str = "", client_id: str = "", status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"csrf": token, "next": target, "error": error, "client_id": client_id},
        user=None,
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        console_of(request).signer.sign(token, "login"),
        path=base(request) or "/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=3600,
    )
    return response


@router.get("/login")
async def login_form(
    request: Request, next_page: Annotated[str, Query(alias="next", max_length=500)] = ""
) -> Response:
    try:
        await current_user(request)
    except LoginRequired:
        return _login_page(request, target=next_page)
    return redirect(request, _safe_next(request, next_page))


@router.post("/login")
async def login(
    request: Request,
    client_id: Annotated[str, Form(max_length=80)],
    secret: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    next_page: Annotated[str, Form(alias="next", max_length=500)] = "",
) -> Response:
    console = console_of(request)
    expected = console.signer.verify(request.cookies.get(LOGIN_COOKIE), "login")
    if not isinstance(expected, str) or not secrets.compare_digest(expected, csrf):
        return _login_page(
            request,
            target=next_page,
            client_id=client_id,
            error="The sign-in form expired. Please try again.",
            status_code=403,
        )
    basic = base64.b64encode(f"{client_id.strip()}:{secret}".encode()).decode()
    try:
        client = console.credentials.authenticate(f"Basic {basic}", remote=remote(request))
    except TooManyAttempts as exc:
        wait = int(exc.details["retryAfter"])
        minutes = math.ceil(wait / 60)
        page = _login_page(
            request,
            target=next_page,
            client_id=client_id,
            error=(
                "Too many failed sign-ins for this client id or from this address. "
                f"Please wait {minutes} minute{'s' if minutes > 1 else ''} and try again."
            ),
            status_code=429,
        )
        page.headers["Retry-After"] = str(wait)
        return page
    except Unauthorized:
        return _login_page(
            request,
            target=next_page,
            client_id=client_id,
            error="Unknown client id or wrong secret.",
            status_code=401,
        )
    if READ_SCOPE not in client.scopes:
        return _login_page(
            request,
            target=next_page,
            client_id=client_id,
            error=f"The client {client.client_id} may not use the console (it lacks {READ_SCOPE}).",
            status_code=403,
        )
    _, token = await asyncio.to_thread(console.sessions.open, client, console.clock.now())
    log.info(
        "console sign-in: %s from %s",
        client.client_id,
        remote(request),
        extra={
            "fields": {
                "event": "console.signin",
                "client": client.client_id,
                "remote": remote(request) or "",
            }
        },
    )
    response = redirect(request, _safe_next(request, next_page))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        path=base(request) or "/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=SESSION_SECONDS,
    )
    response.delete_cookie(LOGIN_COOKIE, path=base(request) or "/")
    return response


@router.post("/logout")
async def logout(request: Request, user: Annotated[User, Depends(posting_user)]) -> Response:
    await asyncio.to_thread(console_of(request).sessions.close, user.session_id)
    log.info(
        "console sign-out: %s",
        user.client_id,
        extra={"fields": {"event": "console.signout", "client": user.client_id}},
    )
    response = redirect(request, "/login", "Signed out.")
    response.delete_cookie(SESSION_COOKIE, path=base(request) or "/")
    return response
