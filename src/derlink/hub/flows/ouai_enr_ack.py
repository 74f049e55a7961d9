"""OUAI-ENR-ACK — Analytics enrollment acknowledgement: analytics → cpm.

Analytics writes an acknowledgement file (prefix ``ENROLL_ACK``) to its content server for each
extract OUAI-ENR (``ouai_enr.py``) copied. The hub reads those files in windows of records
(``files.py``) and turns every row into cpm's update-and-transition of the row's sync request:
ACCEPTED → Synchronized, REJECTED → Error with the reason. A syncRequestId cpm has seen already
is suppressed as a duplicate, not an error. The layouts are in
docs/contracts/enrollment-files.md.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from derlink.contracts.enrollment_files import (
    ACCEPTED,
    ACK_HEADER,
    REJECTED,
)
from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.flows.delivery import acknowledge, record_error, rejected
from derlink.hub.flows.files import RecordFileFlow, RowsResult
from derlink.hub.model import RecordError

RESULTS = (ACCEPTED, REJECTED)
#: What a reason code looks like (AN-MISSING): the only text of a row without an id repeated.
_CODE = re.compile(r"[A-Z][A-Z0-9-]{0,39}")


class AnalyticsEnrollmentAcknowledgement(RecordFileFlow):
    spec: ClassVar[FlowSpec] = FLOWS["OUAI-ENR-ACK"]
    header: ClassVar[tuple[str, ...]] = ACK_HEADER
    delivers_to = "cpm"

    async def deliver(self, name: str, rows: list[tuple[int, list[str]]]) -> RowsResult:
        acks: list[dict[str, Any]] = []
        numbers: list[int] = []
        errors: list[RecordError] = []
        positive = negative = 0
        for number, (_row, sync_id, _subscription, result, code, reason) in rows:
            sync_id, result = sync_id.strip(), result.strip()
            if not sync_id:
                # Analytics' own code says why it could read no id; its text is not repeated.
                detail = "no syncRequestId" + (
                    f" (analytics: {code})" if _CODE.fullmatch(code) else ""
                )
                errors.append(RecordError(f"row {number}", "HUB-ACK-NO-SYNC-REQUEST", detail))
                continue
            if result not in RESULTS:
                errors.append(
                    RecordError(
                        f"row {number}",
                        "HUB-ACK-RESULT",
                        f"{sync_id}: the result is neither ACCEPTED nor REJECTED",
                    )
                )
                continue
            accepted = result == ACCEPTED
            positive += accepted
            negative += not accepted
            # cpm's postAcknowledgement; an accepted row needs nothing but its id.
            acks.append(
                {"syncRequestId": sync_id}
                if accepted
                else {
                    "syncRequestId": sync_id,
                    "hasError": True,
                    "exceptionInfo": [
                        {
                            "messageCategory": "ANALYTICS",
                            "messageNumber": code or "REJECTED",
                            "messageParameters": [],
                            "comments": reason,
                        }
                    ],
                }
            )
            numbers.append(number)
        results = await acknowledge(self.targets, acks) if acks else []
        duplicates = rejected_by_cpm = 0
        for number, outcome in zip(numbers, results, strict=True):
            if outcome.get("outcome") == "Duplicate":
                duplicates += 1
            elif rejected(outcome):
                rejected_by_cpm += 1
                errors.append(
                    record_error(outcome, f"row {number}", about=outcome["syncRequestId"])
                )
        return RowsResult(
            succeeded=len(acks) - rejected_by_cpm,
            duplicates=duplicates,
            errors=errors,
            counts={"ackedPositive": positive, "ackedNegative": negative},
        )
