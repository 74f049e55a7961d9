"""A derlink server in a child process: what the demo, the crash test and the benchmarks drive.

The child is a plain ``derlink up`` with its own data directory and port, so the driver and
the platform each have a core, and the driver can kill the platform as an operator's worst
day would (SIGKILL) and start it again on the same data.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from derlink.platform.auth import CredentialStore


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    def __init__(
        self,
        home: Path,
        *,
        port: int | None = None,
        database_url: str | None = None,
        extra_env: dict[str, str] | None = None,
        parts: str = "hub,cpm,derms,analytics",
    ) -> None:
        self.parts = parts
        self.home = home
        self.port = port or free_port()
        self.database_url = database_url
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss_kb = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DERLINK_")}
        env.update(
            DERLINK_HOME=str(self.home),
            DERLINK_PORT=str(self.port),
            DERLINK_HOST="127.0.0.1",
            DERLINK_LOAD_SAMPLE="0",
            DERLINK_LOG_LEVEL="WARNING",
        )
        env.update(self.extra_env)
        if self.database_url:
            env["DERLINK_DATABASE_URL"] = self.database_url
        self.home.mkdir(parents=True, exist_ok=True)
        with (self.home / "server.log").open("ab") as log:
            # The argv is this interpreter and derlink's own module: nothing from outside.
            self.proc = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "derlink", "up", "--parts", self.parts],
                env=env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        # Should the driver die without stopping it, the platform goes with it.
        atexit.register(self.kill)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"derlink exited with {self.proc.returncode}; see {self.home / 'server.log'}"
                )
            try:
                if httpx.get(self.base_url + "/", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(
            f"derlink did not answer within {timeout_s}s; see {self.home / 'server.log'}"
        )

    def sample_memory(self) -> int:
        """Record the child's peak resident memory (VmHWM) so far, in kB."""
        if self.proc is None or self.proc.poll() is not None:
            return self.peak_rss_kb
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))
        except OSError:
            pass
        return self.peak_rss_kb

    def operator_secret(self) -> str:
        return CredentialStore.load(self.home / "credentials.json").client("operator").secret

    def stop(self, timeout_s: float = 30.0) -> None:
        if self.proc is None:
            return
        self.sample_memory()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flushing — the crash the platform must survive."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self.proc = None
