"""RECONCILE — Enrollment Reconciliation: a scheduled comparison of cpm with DERMS.

Not a message flow of the catalog but the hub's own check that the enrollment flows did their
job: on its schedule (daily by default) it compares cpm's subscriptions and devices with the
DERMS registry and reports each difference as a refused record, so the business recipients
get them by e-mail and the console lists them on the instance. ``GET /reconciliation`` runs
the same comparison on demand (``Hub.reconcile``).

Both sides are read as pages ordered by subscription id and merged, so a utility of any size
is compared in one pass with bounded memory. The rules (what counts as a difference):

- cpm ``Active`` → DERMS holds it ``ACTIVE`` with the same set of devices (``HE!NIC``);
- cpm ``Inactive`` → DERMS does not hold it ``ACTIVE``;
- cpm ``Pending`` → DERMS does not hold it ``ACTIVE`` (its enrollment is not synchronized);
- DERMS ``ACTIVE`` → cpm knows the subscription.

DERMS's statuses are read in cpm's words through the lookup EnrollmentStatus (``ACTIVE`` →
``Active``); a status the lookup does not hold is a difference that names it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any, ClassVar, Protocol

from derlink.common.errors import Fault
from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.connections import Targets
from derlink.hub.model import FlowOutcome, RecordError
from derlink.hub.ports import LookupTables
from derlink.hub.runtime.port import FlowContext

#: Differences kept on the instance and in the e-mail; the count is always complete.
KEEP = 1000


class EnrollmentReconciliation:
    spec: ClassVar[FlowSpec] = FLOWS["RECONCILE"]

    def __init__(self, targets: Targets, lookups: LookupTables) -> None:
        self.targets = targets
        self.lookups = lookups

    def keys(self, record: dict[str, Any]) -> list[tuple[str, str]]:
        return [("scheduledAt", record["scheduledAt"])]

    async def run(self, ctx: FlowContext, message: dict[str, Any]) -> FlowOutcome:
        report = await ctx.step("compare-cpm-derms", self._compare)
        errors = [
            RecordError(d["subscriptionId"], "HUB-RECONCILE-DIFFERENCE", d["difference"])
            for d in report["items"]
        ]
        return FlowOutcome(
            processed=report["compared"],
            succeeded=report["compared"] - report["differences"],
            errors=errors,
            notes={"differences": report["differences"]},
        )

    async def _compare(self) -> dict[str, Any]:
        report = await self.report()
        report["items"] = report["items"][:KEEP]
        return report

    async def report(self) -> dict[str, Any]:
        """Every difference between cpm and DERMS now (also ``GET /reconciliation``)."""
        statuses = await asyncio.to_thread(self.lookups.table, "EnrollmentStatus")
        return await reconcile(self.targets.cpm, self.targets.derms, statuses)

    async def on_fault(self, ctx: FlowContext, message: dict[str, Any], fault: Fault) -> None:
        return None


# the comparison ----------------------------------------------------------------------------

Page = Callable[[str, int], Awaitable[Mapping[str, Any]]]


class Pager(Protocol):
    async def get(self, path: str, params: dict[str, str] | None = None) -> Any: ...


def pages(client: Pager, path: str) -> Page:
    """Read ``path`` of a part page by page: ``?after=<last id>&limit=<n>``."""

    async def page(after: str, size: int) -> Mapping[str, Any]:
        body: Mapping[str, Any] = await client.get(path, {"after": after, "limit": str(size)})
        return body

    return page


async def reconcile(cpm: Pager, derms: Pager, statuses: Mapping[str, str]) -> dict[str, Any]:
    """cpm's subscriptions against the DERMS registry, through the hub's connections; DERMS's
    statuses read through ``statuses`` (the EnrollmentStatus lookup)."""
    return await differences(
        pages(cpm, "/api/v1/reconciliation/subscriptions"),
        pages(derms, "/api/v1/registry"),
        statuses=statuses,
    )


def compare(
    cpm: Mapping[str, Any] | None, derms: Mapping[str, Any] | None, statuses: Mapping[str, str]
) -> str | None:
    """The difference between the two views of one subscription, or None."""
    if derms is not None and derms["status"] not in statuses:
        return f"DERMS status {derms['status']!r} has no EnrollmentStatus value"
    derms_active = derms is not None and statuses[derms["status"]] == "Active"
    if cpm is None:
        return "active in DERMS, unknown to cpm" if derms_active else None
    if cpm["status"] == "Active":
        if derms is None:
            return "active in cpm, missing in DERMS"
        if not derms_active:
            return f"active in cpm, {derms['status']} in DERMS"
        if sorted(cpm["devices"]) != sorted(derms["devices"]):
            return (
                f"devices differ: cpm {sorted(cpm['devices'])} / DERMS {sorted(derms['devices'])}"
            )
        return None
    if derms_active:
        return f"{cpm['status']} in cpm, ACTIVE in DERMS"
    return None


async def _stream(page: Page, size: int) -> AsyncIterator[Mapping[str, Any]]:
    after = ""
    while True:
        body = await page(after, size)
        items: Iterable[Mapping[str, Any]] = body["items"]
        for item in items:
            yield item
        after = body.get("next") or ""
        if not after:
            return


async def differences(
    cpm_page: Page, derms_page: Page, *, statuses: Mapping[str, str], page_size: int = 1000
) -> dict[str, Any]:
    """Merge both ordered streams; return the counts and every difference found."""
    cpm_it = _stream(cpm_page, page_size).__aiter__()
    derms_it = _stream(derms_page, page_size).__aiter__()

    async def advance(it: AsyncIterator[Mapping[str, Any]]) -> Mapping[str, Any] | None:
        try:
            return await it.__anext__()
        except StopAsyncIteration:
            return None

    c, d = await advance(cpm_it), await advance(derms_it)
    found: list[dict[str, str]] = []
    compared = 0
    while c is not None or d is not None:
        compared += 1
        if d is None or (c is not None and c["subscriptionId"] < d["subscriptionId"]):
            left, right, c = c, None, await advance(cpm_it)
        elif c is None or d["subscriptionId"] < c["subscriptionId"]:
            left, right, d = None, d, await advance(derms_it)
        else:
            left, right = c, d
            c, d = await advance(cpm_it), await advance(derms_it)
        problem = compare(left, right, statuses)
        if problem is not None:
            sid = (left or right or {}).get("subscriptionId", "")
            found.append({"subscriptionId": str(sid), "difference": problem})
    return {"compared": compared, "differences": len(found), "items": found}
