"""Fixtures of the console's browser tests: Debian's Chromium driven by Playwright, and a
platform split in two processes (the hub with cpm, DERMS on its own) so DERMS can go away.

Chromium is ``/usr/bin/chromium`` (``make chromium`` installs it), never a downloaded browser.
Under ``CI=true`` a missing Chromium fails the run; elsewhere the browser tests are skipped
with the reason.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from derlink.cli import sample
from derlink.cli.server import ServerProcess
from derlink.platform.auth import CredentialStore
from tests.e2e.support import split_platform

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture
def web(console: Any) -> Iterator[TestClient]:
    """A browser-free client of the module's ``console`` fixture (a console over a hub)."""
    with TestClient(console.app, follow_redirects=False) as client:
        yield client


@pytest.fixture(scope="session")
def chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    reason = f"{CHROMIUM} is missing: install Debian's Chromium with `make chromium`"
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser tests must run under CI=true, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    """One browser per module: Playwright's sync API holds an event loop in this thread while it
    runs, so it must be gone before any asyncio test of another module starts."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@dataclass
class Platform:
    main: ServerProcess
    derms: ServerProcess
    api: httpx.Client
    credentials: CredentialStore

    @property
    def console(self) -> str:
        return f"{self.main.base_url}/console"

    def secret(self, client: str) -> str:
        return self.credentials.client(client).secret


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, chromium: Path) -> Iterator[Platform]:
    """The hub and cpm in one process, DERMS in another, loaded with a small utility."""
    home = tmp_path_factory.mktemp("console") / "home"
    main, derms = split_platform(home)
    main.start()
    derms.start()
    credentials = CredentialStore.load(home / "credentials.json")
    operator = {"Authorization": f"Bearer operator.{credentials.client('operator').secret}"}
    api = httpx.Client(base_url=main.base_url, headers=operator, timeout=60.0)
    try:
        for program in sample.PROGRAMS:
            api.post("/cpm/api/v1/programs", json=program).raise_for_status()
        people = list(sample.customers(5))
        api.post("/cpm/api/v1/master-data", json=sample.master_data(people)).raise_for_status()
        with httpx.Client(base_url=derms.base_url, headers=operator, timeout=60.0) as derms_api:
            derms_api.post(
                "/derms/api/v1/head-end-systems", json={"codes": sample.HEAD_ENDS}
            ).raise_for_status()
        # The Active programs' rules go to DERMS on their own (PROG-RULE): let them arrive
        # before a test takes DERMS down, or they wait in the hospital beside what it faults.
        deadline = time.monotonic() + 60
        while any(
            p["dermsSync"]["state"] == "Pending" for p in api.get("/cpm/api/v1/programs").json()
        ):
            assert time.monotonic() < deadline, "the programs' rules never reached DERMS"
            time.sleep(0.1)
        yield Platform(main=main, derms=derms, api=api, credentials=credentials)
    finally:
        api.close()
        derms.stop()
        main.stop()
