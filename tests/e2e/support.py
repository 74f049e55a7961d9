"""Helpers for the end-to-end tests: a client of a running platform and a wait loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from derlink.cli.server import ServerProcess

T = TypeVar("T")


def client(server: ServerProcess, base_url: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=base_url or server.base_url,
        headers={"Authorization": f"Bearer operator.{server.operator_secret()}"},
        timeout=60.0,
    )


def wait_for(
    probe: Callable[[], T | None], *, timeout_s: float = 60.0, what: str = "condition"
) -> T:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (last: {last!r})")
