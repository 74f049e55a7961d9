"""RECONCILE — Enrollment Reconciliation: a scheduled comparison of cpm with DERMS.

Not a message flow of the catalog but the hub's own check that the enrollment flows did their
job: on its schedule (daily by default) it compares cpm's subscriptions and devices with the
DERMS registry (``hub/reconcile.py``) and reports each difference as a refused record, so the
business recipients get them by e-mail and the console lists them on the instance.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from derlink.common.errors import Fault
from derlink.hub.connections import Targets
from derlink.hub.model import FlowOutcome, RecordError
from derlink.hub.reconcile import reconcile
from derlink.hub.runtime.port import FlowContext
from derlink.hub.schemas import ScheduledBatch

#: Differences kept on the instance and in the e-mail; the count is always complete.
KEEP = 1000


class EnrollmentReconciliation:
    code: ClassVar[str] = "RECONCILE"
    name: ClassVar[str] = "Enrollment Reconciliation"
    source: ClassVar[str] = "cpm+derms"
    target: ClassVar[str] = "hub"
    trigger: ClassVar[str] = "schedule"
    field: ClassVar[str] = "runs"
    batch: ClassVar[type[BaseModel]] = ScheduledBatch

    def __init__(self, targets: Targets, schedule: str) -> None:
        self.targets = targets
        self.schedule: str | None = schedule

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
        report = await reconcile(self.targets.cpm, self.targets.derms)
        report["items"] = report["items"][:KEEP]
        return report

    async def on_fault(self, ctx: FlowContext, message: dict[str, Any], fault: Fault) -> None:
        return None
