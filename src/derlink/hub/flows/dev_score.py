"""DEV-SCORE — Device scores: cpm → DERMS.

cpm writes its device-score file (prefix ``SDCSE_``) to its content server on a schedule; the
hub reads it in windows of records (``files.py``) and delivers each row to DERMS's Device Score
service (``derms_inputs.py``), which keeps the latest score per (head-end system, NIC id). The
layout is in docs/contracts/analytics-files.md.
"""

from __future__ import annotations

from typing import ClassVar

from derlink.contracts.input_files import SCORE_HEADER
from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.flows.derms_inputs import (
    DermsInputFlow,
    Record,
    instant,
    key,
    number,
    whole,
)


class DeviceScoreFlow(DermsInputFlow):
    spec: ClassVar[FlowSpec] = FLOWS["DEV-SCORE"]
    header: ClassVar[tuple[str, ...]] = SCORE_HEADER
    derms_path: ClassVar[str] = "/api/v1/device-scores"
    derms_field: ClassVar[str] = "scores"
    row_code: ClassVar[str] = "HUB-SCORE-ROW"

    def record(self, fields: list[str]) -> Record:
        device, head_end, nic, score, events, reliability, performance, last, scored = fields
        return {
            "headEndSystem": key(head_end, "HeadEndSystem"),
            "nicId": key(nic, "NicId"),
            "deviceId": key(device, "DeviceId"),
            "score": whole(score, "Score", low=0, high=100),
            "events": whole(events, "Events", low=0, high=2**31 - 1),
            "reliability": number(reliability, "Reliability", low=0, high=1),
            "performance": (
                number(performance, "Performance", low=0, high=1) if performance.strip() else None
            ),
            "lastEventDateTime": instant(last, "LastEventDateTime") if last.strip() else None,
            "scoreDateTime": instant(scored, "ScoreDateTime"),
        }
