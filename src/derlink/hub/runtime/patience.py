"""Patience with the platform's databases: a step that meets a database that cannot serve
waits for it rather than failing (the engines wrap every step in :func:`patient`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from derlink.common.errors import RemoteFault
from derlink.hub.runtime.port import RetryPolicy
from derlink.platform.database import DATABASE_UNAVAILABLE, unavailable

T = TypeVar("T")
log = logging.getLogger("derlink.hub")


def waiting_for_a_database(exc: BaseException) -> bool:
    """Whether ``exc`` says that a database of the platform cannot serve now: the hub's own
    (a refused or dropped connection) or a part's (its 503 ``DL-DATABASE-UNAVAILABLE``)."""
    if isinstance(exc, RemoteFault):
        return exc.code == DATABASE_UNAVAILABLE
    return unavailable(exc)


def patient(
    name: str, fn: Callable[..., Awaitable[T]], retry: RetryPolicy
) -> Callable[..., Awaitable[T]]:
    """``fn`` that, while a database of the platform cannot serve, waits and calls again (up
    to ``retry.database_patience_s``) instead of failing: an outage of the database is not a
    fault of the work, and the retry policy of remote faults is not spent on it."""

    async def call(*args: Any) -> T:
        deadline = time.monotonic() + retry.database_patience_s
        delay = min(0.5, retry.interval_s)
        while True:
            try:
                return await fn(*args)
            except Exception as exc:
                if not waiting_for_a_database(exc) or time.monotonic() >= deadline:
                    raise
                log.warning("%s waits %.1fs for the database: %s", name, delay, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    return call
