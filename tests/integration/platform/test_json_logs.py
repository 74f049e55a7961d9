"""Every line a derlink process writes on standard error is one JSON object, secrets masked:
DBOS's own logger (its warnings and the tracebacks of failed workflows), Python warnings, a
library printing to standard error, uncaught exceptions in a thread and in the main program,
and a real ``derlink up`` refusing credentials."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from derlink.bootstrap import runtime_database_url
from derlink.cli.server import free_port
from derlink.platform.settings import Settings

#: Run as its own program: it configures the logs as ``derlink up`` does, starts the hub's DBOS
#: runtime, and provokes what used to reach standard error as plain text.
PROGRAM = textwrap.dedent(
    """
    import asyncio
    import sys
    import threading
    import warnings

    from dbos import DBOS

    from derlink.hub.runtime.dbos_engine import DbosRuntime, DbosSettings
    from derlink.hub.runtime.port import RetryPolicy
    from derlink.platform import logs

    logs.configure("INFO")


    async def broken(ctx, instance_id, message):
        raise RuntimeError("cannot map it; Authorization: Bearer hub.s3cr3t-in-a-traceback")


    async def main(url):
        runtime = DbosRuntime(
            DbosSettings(system_database_url=url), retry=RetryPolicy(max_attempts=1)
        )
        runtime.register("BROKEN", broken, concurrency=1)
        await runtime.start()
        DBOS.launch()  # a second launch: DBOS warns
        await runtime.submit("BROKEN", "run-1", "BROKEN:1", {})
        handle = await DBOS.retrieve_workflow_async("run-1")
        try:
            await handle.get_result()
        except RuntimeError:
            pass
        await runtime.stop()


    asyncio.run(main(sys.argv[1]))
    warnings.warn("a library's warning, password=hunter2-in-a-warning")
    print("a library printing\\non two lines", file=sys.stderr)
    thread = threading.Thread(target=lambda: 1 / 0, name="worker")
    thread.start()
    thread.join()
    raise SystemError("the end, s3://AKIAEXAMPLE:wJalr/XUtn+EMI@bucket")
    """
)


def _entries(stderr: str) -> list[dict[str, Any]]:
    lines = stderr.splitlines()
    assert lines, "nothing on standard error"
    entries = []
    for line in lines:
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            pytest.fail(f"a line on standard error is not JSON: {line!r}")
        assert isinstance(entry, dict), line
        entries.append(entry)
    return entries


def test_dbos_warnings_tracebacks_and_uncaught_exceptions_are_json_lines(
    tmp_path: Path, database_url: str
):
    program = tmp_path / "provoke.py"
    program.write_text(PROGRAM)
    postgres = database_url.startswith("postgresql")
    settings = Settings(home=tmp_path, database_url=database_url if postgres else None)
    done = subprocess.run(  # this interpreter, and a program the test wrote
        [sys.executable, str(program), runtime_database_url(settings)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )
    assert done.returncode == 1, done.stderr
    entries = _entries(done.stderr)
    text = done.stderr
    for secret in ("s3cr3t-in-a-traceback", "hunter2-in-a-warning", "wJalr/XUtn+EMI"):
        assert secret not in text
    by_logger: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_logger.setdefault(entry["logger"], []).append(entry)
    dbos = by_logger["dbos"]
    assert any(e["level"] == "warning" and "already launched" in e["msg"] for e in dbos)
    failed = [e for e in dbos if "Exception encountered" in e["msg"]]
    assert failed and "RuntimeError: cannot map it" in failed[0]["exc"]
    assert "hunter2" not in by_logger["py.warnings"][0]["msg"]
    assert [e["msg"] for e in by_logger["stderr"]] == ["a library printing", "on two lines"]
    uncaught = by_logger["derlink.uncaught"]
    assert "ZeroDivisionError" in uncaught[0]["exc"] and "worker" in uncaught[0]["msg"]
    assert "SystemError: the end" in uncaught[-1]["exc"]


def _wait_until_up(http: httpx.Client, proc: subprocess.Popen[bytes], stderr: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"derlink exited: {stderr.read_text()}"
        try:
            http.get("/")
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"derlink did not answer: {stderr.read_text()}")


def test_a_running_derlink_logs_refused_credentials_as_json_lines(tmp_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DERLINK_")}
    env.update(
        DERLINK_HOME=str(tmp_path / "home"),
        DERLINK_PORT=str(port),
        DERLINK_LOAD_SAMPLE="0",
        DERLINK_AUTH_MAX_FAILURES="2",
    )
    stderr = tmp_path / "stderr.log"
    with stderr.open("wb") as err:
        proc = subprocess.Popen(  # this interpreter, and derlink's own module
            [sys.executable, "-m", "derlink", "up", "--parts", "hub"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10.0) as http:
            _wait_until_up(http, proc, stderr)
            wrong = {"Authorization": "Bearer operator.not-the-secret"}
            answers = [http.get("/hub/api/v1/flows", headers=wrong).status_code for _ in range(3)]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert answers == [401, 401, 429]
    entries = _entries(stderr.read_text())
    assert "not-the-secret" not in stderr.read_text()
    refused = [e for e in entries if e.get("event", "").startswith("auth.")]
    assert [(e["event"], e["client"], e["remote"]) for e in refused] == [
        ("auth.failed", "operator", "127.0.0.1"),
        ("auth.failed", "operator", "127.0.0.1"),
        ("auth.throttled", "operator", "127.0.0.1"),
    ]
