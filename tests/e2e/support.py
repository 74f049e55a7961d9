"""Helpers for the end-to-end tests: a client of a running platform and a wait loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from derlink.cli.server import ServerProcess, free_port

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


def split_platform(home: Path) -> tuple[ServerProcess, ServerProcess]:
    """The hub and cpm in one process, DERMS in another (so that it can be killed), on one
    data directory, not yet started; remote faults are retried three times, quickly."""
    main_port, derms_port = free_port(), free_port()
    main = ServerProcess(
        home,
        port=main_port,
        parts="hub,cpm",
        extra_env={
            "DERLINK_DERMS_URL": f"http://127.0.0.1:{derms_port}/derms",
            "DERLINK_RETRY_ATTEMPTS": "3",
            "DERLINK_RETRY_INTERVAL_S": "0.2",
        },
    )
    derms = ServerProcess(
        home,
        port=derms_port,
        parts="derms",
        extra_env={"DERLINK_HUB_URL": f"http://127.0.0.1:{main_port}/hub"},
    )
    return main, derms
