"""Signing in and out of the console over HTTP, without a browser: sessions kept server-side
(a cookie replayed after signing out is refused, on SQLite and PostgreSQL), repeated wrong
secrets throttled, and every failed sign-in logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from derlink.console.migrations import SCHEMA
from derlink.console.session import SESSION_COOKIE, SESSION_SECONDS, SessionStore, Signer
from derlink.platform.auth import Client
from derlink.platform.database import open_part_database
from tests.browser.test_console_pages import Console, sign_in, token_of

OPERATOR = Client("operator", "s3cret", frozenset({"hub:read", "hub:operate"}))


@pytest.fixture
def console(tmp_path: Path, database_url: str) -> Iterator[Console]:
    opened = Console(tmp_path, database_url)
    yield opened
    opened.close()


def test_a_stored_session_expires_and_carries_a_fingerprint_of_the_secret(
    tmp_path: Path, database_url: str
):
    url = database_url if database_url.startswith("postgresql") else f"{database_url}.console"
    db = open_part_database(url, SCHEMA)
    try:
        store = SessionStore(db, Signer(b"k" * 32))
        now = datetime(2026, 7, 1, 18, 0, tzinfo=UTC)
        session, cookie = store.open(OPERATOR, now)
        assert store.find(cookie, now + timedelta(hours=11)) == session
        assert store.find(cookie, now + timedelta(seconds=SESSION_SECONDS)) is None
        _, other = store.open(Client("operator", "new", OPERATOR.scopes), now)
        assert store.find(other, now).fingerprint != session.fingerprint  # type: ignore[union-attr]
        assert "operator" not in cookie and session.id not in cookie
        store.close(session.id)
        assert store.find(cookie, now) is None
        assert store.find(other, now) is not None
    finally:
        db.dispose()


def _replay(console: Console, cookie: str, app: object | None = None) -> int:
    """The status of the dashboard asked for with ``cookie`` by another browser."""
    with TestClient(app or console.app, follow_redirects=False) as other:
        other.cookies.set(SESSION_COOKIE, cookie)
        return other.get("/").status_code


def test_a_session_cookie_replayed_after_signing_out_is_refused(web: TestClient, console: Console):
    csrf = sign_in(web, console, "operator")
    cookie = web.cookies[SESSION_COOKIE]
    assert _replay(console, cookie) == 200
    assert web.post("/logout", data={"csrf": csrf}).status_code == 303
    assert _replay(console, cookie) == 303
    # Nor by another worker or after a restart: the session is gone from the database.
    assert _replay(console, cookie, console.new_app()) == 303


def test_signing_out_ends_only_that_session(web: TestClient, console: Console):
    with TestClient(console.app, follow_redirects=False) as laptop:
        sign_in(laptop, console, "operator")
        csrf = sign_in(web, console, "operator")
        assert web.post("/logout", data={"csrf": csrf}).status_code == 303
        assert laptop.get("/").status_code == 200


def test_a_session_outlives_a_restart_and_ends_after_its_hours(web: TestClient, console: Console):
    sign_in(web, console, "viewer")
    cookie = web.cookies[SESSION_COOKIE]
    assert _replay(console, cookie, console.new_app()) == 200
    console.harness.hub.clock.advance(seconds=SESSION_SECONDS + 1)  # type: ignore[attr-defined]
    assert _replay(console, cookie) == 303


def _attempt(web: TestClient, client_id: str, secret: str) -> tuple[int, str, str | None]:
    token = token_of(web.get("/login").text)
    response = web.post("/login", data={"client_id": client_id, "secret": secret, "csrf": token})
    return response.status_code, response.text, response.headers.get("retry-after")


def test_repeated_wrong_secrets_make_the_form_say_to_wait_whether_the_client_exists_or_not(
    web: TestClient, console: Console
):
    for _ in range(10):
        assert _attempt(web, "operator", "guess")[0] == 401
    status, page, retry_after = _attempt(
        web, "operator", console.credentials.client("operator").secret
    )
    assert status == 429
    assert "Too many failed sign-ins" in page
    assert retry_after is not None and int(retry_after) > 0
    assert SESSION_COOKIE not in web.cookies
    for _ in range(10):
        _attempt(web, "nobody", "guess")
    unknown = _attempt(web, "nobody", "guess")
    assert unknown[0] == 429 and "Too many failed sign-ins" in unknown[1]


def test_a_failed_sign_in_is_logged_with_the_client_and_address_but_not_the_secret(
    web: TestClient, console: Console, caplog: pytest.LogCaptureFixture
):
    with caplog.at_level(logging.INFO, logger="derlink.auth"):
        _attempt(web, "operator", "not-the-secret")
    events = [(r, r.__dict__.get("fields", {}).get("event")) for r in caplog.records]
    failures = [r for r, event in events if event == "auth.failed"]
    assert len(failures) == 1
    fields = failures[0].__dict__["fields"]
    assert (fields["client"], fields["remote"]) == ("operator", "testclient")
    assert "not-the-secret" not in caplog.text
