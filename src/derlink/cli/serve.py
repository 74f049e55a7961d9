"""``derlink up``: the embedded platform on one server, with a sample utility on first start."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence

import uvicorn
from rich.console import Console

from derlink.bootstrap import build
from derlink.cli import sample
from derlink.platform import logs
from derlink.platform.http import Connection, HttpClient
from derlink.platform.settings import Settings


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


async def serve(
    settings: Settings, *, parts: Sequence[str], sample_customers: int, console: Console
) -> None:
    logs.configure(settings.log_level)
    # Whatever this process creates is its user's alone, even where a library picks the mode.
    os.umask(0o077)
    platform = build(settings, parts=parts)
    marker = settings.home / "sample-loaded"
    server = uvicorn.Server(
        uvicorn.Config(
            platform.app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            # Longer than clients' idle gaps under load, so pooled connections are rarely cut.
            timeout_keep_alive=30,
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task  # raises the start-up error
            return
        await asyncio.sleep(0.05)
    console.print(f"[bold]derlink[/bold] is up at {settings.base_url}")
    for name in platform.parts:
        console.print(
            f"  {name:9} API  {settings.base_url}/{name}/api/v1"
            f"   docs {settings.base_url}/{name}/docs"
        )
    if "hub" in platform.parts:
        console.print(f"  console        {settings.base_url}/console/")
    console.print(f"  data           {settings.home.resolve()}")
    console.print(f"  credentials    {(settings.home / 'credentials.json').resolve()} (mode 600)")
    everything = set(parts) >= {"cpm", "derms"}
    if everything and settings.load_sample and not marker.exists() and sample_customers > 0:
        api = operator_client(settings, platform.credentials.client("operator").secret)
        try:
            await sample.load(api, sample_customers)
            marker.write_text(f"{sample_customers}\n")
            console.print(
                f"  sample utility loaded: {sample_customers} customers, "
                f"{len(sample.PROGRAMS)} programs"
            )
        finally:
            await api.close()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGTERM, lambda: setattr(server, "should_exit", True))
    await task
