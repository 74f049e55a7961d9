"""Driving a running derlink (``derlink up`` in a child process) from a bench script: the
operator's client, waiting for a condition, running a flow now until its instance ends."""

from __future__ import annotations

import time
from typing import Any

import httpx

from derlink.cli.server import ServerProcess

#: The file flows' own schedule kept out of the way: run-now drives them.
NEVER = "0 0 0 1 1 *"
#: How long a bench waits for one instance or condition.
PATIENCE_S = 1800.0


def operator_client(server: ServerProcess) -> httpx.Client:
    """An HTTP client of the platform with the operator's credentials."""
    return httpx.Client(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer operator.{server.operator_secret()}"},
        timeout=PATIENCE_S,
    )


def wait_until(probe: Any, what: str, timeout_s: float, server: ServerProcess) -> Any:
    """``probe()``'s first true answer, sampling the platform's memory meanwhile."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        server.sample_memory()
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise SystemExit(f"timed out after {timeout_s}s waiting for {what}")


def run_now(api: httpx.Client, flow: str, server: ServerProcess) -> dict[str, Any]:
    """Run ``flow`` now on its one file and wait until its instance has ended, however."""
    started = api.post(f"/hub/api/v1/flows/{flow}/run-now").json()
    if not started["instances"]:
        raise SystemExit(f"{flow} found no file")
    (instance,) = started["instances"]

    def ended() -> dict[str, Any] | None:
        detail: dict[str, Any] = api.get(f"/hub/api/v1/instances/{instance}").json()
        return detail if detail["status"] not in ("Received", "Running") else None

    detail: dict[str, Any] = wait_until(ended, f"{flow} {instance}", PATIENCE_S, server)
    return detail


def instance_done(api: httpx.Client, flow: str, server: ServerProcess) -> dict[str, Any]:
    """``run_now``, which must end Completed (with errors, at worst)."""
    detail = run_now(api, flow, server)
    if detail["status"] not in ("Completed", "CompletedWithErrors"):
        raise SystemExit(f"{flow} ended {detail['status']}: {detail['fault_message']}")
    return detail
