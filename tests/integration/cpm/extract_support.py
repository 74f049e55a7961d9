"""What the enrollment-extract tests share: customers to enroll, running an extract, its file."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from cpm_harness import Cpm

from derlink.common.errors import RemoteFault
from derlink.cpm.enrollment import model as m
from derlink.cpm.enrollment.service.extracts import PAGE, ExtractView, run_extract
from derlink.platform.files import FileStore

HEADER = [
    "syncRequestId", "subscriptionId", "programId", "programCode", "cisAccountId", "cisPersonId",
    "servicePointId", "cisServicePointId", "cisPremiseId", "division", "subscriptionType",
    "status", "startDateTimeISO", "endDateTimeISO", "version",
]  # fmt: skip


def add_customers(cpm: Cpm, numbers: range) -> None:
    """Customers A<n> at service point SP<n> (premise PR<n>, person P<n>), beside the seed's."""
    answer = cpm.post("/master-data", {
        "persons": [{"cisPersonId": f"P{n}"} for n in numbers],
        "accounts": [{"cisAccountId": f"A{n}", "cisPersonId": f"P{n}"} for n in numbers],
        "premises": [{"cisPremiseId": f"PR{n}", "cisAccountId": f"A{n}", "division": "CA"}
                     for n in numbers],
        "servicePoints": [{"cisServicePointId": f"SP{n}", "cisPremiseId": f"PR{n}"}
                          for n in numbers],
    })  # fmt: skip
    assert answer.status_code == 200 and answer.json()["rejected"] == [], answer.text


def enroll(cpm: Cpm, n: int, *, active: bool = True) -> str:
    """Enroll customer ``n`` (one device, NIC-<n>); acknowledged when ``active``. Its id."""
    changes: dict[str, Any] = {"account": f"A{n}", "service_point": f"SP{n}",
                               "assets": [cpm.asset(f"NIC-{n}")]}  # fmt: skip
    created = (
        cpm.active_enrollment(f"REQ-{n}", **changes)
        if active
        else cpm.enroll(f"REQ-{n}", **changes)
    )
    return str(created["enrollmentId"])


def extract(
    cpm: Cpm,
    kind: m.ExtractKind = m.ExtractKind.INCREMENTAL,
    *,
    store: FileStore | None = None,
    page_size: int = PAGE,
) -> ExtractView:
    return asyncio.run(
        run_extract(
            db=cpm.part.db,
            clock=cpm.clock,
            store=store or cpm.part.store,
            kind=kind,
            actor="tester",
            page_size=page_size,
        )
    )


def file_text(cpm: Cpm, name: str) -> str:
    return asyncio.run(cpm.part.store.read_range(name, 0, 1 << 24)).decode()


def file_rows(cpm: Cpm, name: str) -> list[dict[str, str]]:
    """The file's data rows by column, after checking its header."""
    reader = csv.reader(io.StringIO(file_text(cpm, name), newline=""))
    header = next(reader)
    assert header == HEADER
    return [dict(zip(header, row, strict=True)) for row in reader]


def store_names(cpm: Cpm) -> list[str]:
    return [f.name for f in asyncio.run(cpm.part.store.list_files())]


class BreakingStore:
    """The content server, whose connection drops after ``after`` chunks of a write."""

    def __init__(self, inner: FileStore, after: int) -> None:
        self.inner = inner
        self.after = after
        self.location = inner.location
        self.consumed = 0

    async def write(self, name: str, chunks: AsyncIterable[bytes]) -> int:
        return await self.inner.write(name, self._until_broken(chunks))

    async def _until_broken(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            if self.consumed == self.after:
                raise RemoteFault("content server connection lost")
            self.consumed += 1
            yield chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class HeldStore:
    """The content server, holding a write after its first chunk until released."""

    def __init__(self, inner: FileStore) -> None:
        self.inner = inner
        self.location = inner.location
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def write(self, name: str, chunks: AsyncIterable[bytes]) -> int:
        return await self.inner.write(name, self._held(chunks))

    async def _held(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            yield chunk
            if not self.started.is_set():
                self.started.set()
                await self.release.wait()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
