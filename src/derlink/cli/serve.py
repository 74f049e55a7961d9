"""``derlink up``: the embedded platform on one server, with a sample utility on first start.

Before any part starts, ``up`` claims what it would otherwise share by mistake: each part it
runs on SQLite holds a lock in the data directory (``<part>.lock``), so that a second process
running the same part there is refused, and the port is bound, so that a port in use is refused
before a worker runs. The process that runs the hub writes its address in the data directory
(``server.json``) for the CLI, and removes it when it stops. Ctrl-C (or SIGTERM) stops it: it
says so, lets requests under way finish for up to two seconds, and stops the parts.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path

import uvicorn
from rich.console import Console

from derlink.bootstrap import Platform, build
from derlink.cli import sample
from derlink.cli.client import SERVER_FILE
from derlink.common.errors import ConfigurationError
from derlink.platform import collector, logs
from derlink.platform.database import is_sqlite
from derlink.platform.http import Connection, HttpClient
from derlink.platform.settings import Settings

log = logging.getLogger("derlink.serve")


def operator_client(settings: Settings, secret: str, timeout_s: float = 120.0) -> HttpClient:
    return HttpClient(
        Connection(
            name="derlink",
            base_url=settings.base_url,
            auth="bearer",
            username="operator",
            secret=secret,
            timeout_s=timeout_s,
        )
    )


@contextlib.contextmanager
def claimed(settings: Settings, parts: Sequence[str]) -> Iterator[socket.socket]:
    """The parts' locks in the data directory and the bound port, for as long as the server
    runs; refused (``ConfigurationError``) when another process holds either."""
    settings.home.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as held:
        for part in parts:
            if is_sqlite(settings.database_for(part)):
                held.enter_context(_part_lock(settings.home / f"{part}.lock", part, settings))
        # Named TCP, not the default protocol 0: asyncio turns Nagle's algorithm off
        # (TCP_NODELAY) only on the connections of a socket that says it is TCP. With it on,
        # a response written in two parts waits for the client's delayed acknowledgement, and
        # every call on a kept-alive connection took some 40 ms more.
        family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        held.callback(listening.close)
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listening.bind((settings.host, settings.port))
        except OSError as exc:
            raise ConfigurationError(
                f"cannot listen on {settings.host}:{settings.port} ({exc.strerror}): another "
                "program, or another derlink, uses that port; choose one with --port or "
                "DERLINK_PORT"
            ) from None
        listening.listen(2048)
        listening.set_inheritable(True)
        yield listening


@contextlib.contextmanager
def _part_lock(path: Path, part: str, settings: Settings) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
            raise ConfigurationError(
                f"{part} already runs on the data directory {settings.home.resolve()} "
                f"({holder}); stop it first, or give this one another --home"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, {settings.base_url}".encode())
        yield
    finally:
        os.close(fd)  # closing releases the lock


async def serve(
    settings: Settings, *, parts: Sequence[str], sample_customers: int, console: Console
) -> None:
    # Whatever this process creates is its user's alone, even where a library picks the mode.
    os.umask(0o077)
    # Claimed before the logs take standard error over: a refusal is one plain line.
    with claimed(settings, parts) as listening:
        logs.configure(settings.log_level)
        await _serve(settings, parts, sample_customers, console, listening)


async def _serve(
    settings: Settings,
    parts: Sequence[str],
    sample_customers: int,
    console: Console,
    listening: socket.socket,
) -> None:
    platform = build(settings, parts=parts)
    marker = settings.home / "sample-loaded"
    server = uvicorn.Server(
        uvicorn.Config(
            platform.app,
            log_config=None,
            access_log=False,
            # Longer than clients' idle gaps under load, so pooled connections are rarely cut.
            timeout_keep_alive=30,
            lifespan="on",
            # Ctrl-C: requests under way get this long; what was accepted is kept regardless.
            timeout_graceful_shutdown=2,
        )
    )
    # Written before the server starts: the port is bound already, and a call that comes
    # before the parts are ready waits for them.
    address = settings.home / SERVER_FILE
    if "hub" in platform.parts:
        address.write_text(json.dumps({"url": settings.base_url, "pid": os.getpid()}))
    try:
        task = asyncio.create_task(server.serve(sockets=[listening]))
        while not server.started:
            if task.done():
                await task  # raises the start-up error
                return
            await asyncio.sleep(0.05)
        tuned = collector.tune()
        log.info(
            "garbage collector: %d objects of the start frozen, thresholds %s",
            tuned.frozen,
            tuned.thresholds,
        )
        console.print(f"[bold]derlink[/bold] is up at {settings.base_url}")
        for name in platform.parts:
            console.print(
                f"  {name:9} API  {settings.base_url}/{name}/api/v1"
                f"   docs {settings.base_url}/{name}/docs"
            )
        if "hub" in platform.parts:
            console.print(f"  console        {settings.base_url}/console/")
        console.print(f"  data           {settings.home.resolve()}")
        console.print(
            f"  credentials    {(settings.home / 'credentials.json').resolve()} (mode 600)"
        )
        everything = set(parts) >= {"cpm", "derms"}
        if everything and settings.load_sample and sample_customers > 0:
            await _load_sample(settings, platform, marker, sample_customers, console)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGTERM, lambda: setattr(server, "should_exit", True))
        console.print("  Ctrl-C stops it")
        while not task.done():
            if server.should_exit:
                console.print("stopping derlink: requests under way finish, then the parts stop")
                break
            await asyncio.sleep(0.1)
        await task
    finally:
        if "hub" in platform.parts:
            address.unlink(missing_ok=True)


async def _load_sample(
    settings: Settings, platform: Platform, marker: Path, customers: int, console: Console
) -> None:
    """The sample utility, on a data directory that holds no data yet: never on top of a
    utility's own."""
    if await asyncio.to_thread(marker.exists):
        return
    api = operator_client(settings, platform.credentials.client("operator").secret)
    try:
        existing = await api.get("/cpm/api/v1/programs")
        if existing:
            console.print(
                f"  sample utility not loaded: cpm holds {len(existing)} program(s) already"
            )
            return
        await sample.load(api, customers)
        await asyncio.to_thread(marker.write_text, f"{customers}\n")
        console.print(
            f"  sample utility loaded: {customers} customers, {len(sample.PROGRAMS)} programs"
        )
    finally:
        await api.close()
