"""What every part hands the composition root: an API application and its background work."""

from __future__ import annotations

from typing import Protocol

from fastapi import FastAPI


class Part(Protocol):
    name: str
    app: FastAPI

    async def start(self) -> None:
        """Start background work (outbox publishers, workers)."""

    async def stop(self) -> None:
        """Stop background work, letting in-flight batches finish."""
