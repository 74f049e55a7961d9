"""Device scores' wire schemas (docs/cpm-scores.md)."""

from __future__ import annotations

from pydantic import ConfigDict

from derlink.cpm.schemas import Out
from derlink.cpm.scores.model import RunState
from derlink.platform.openapi import example_of


class ScoreRunRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "runId": "SC-01a2410e3dd32fc5421de0607e",
                "state": "Completed",
                "asOf": "2026-07-16T06:00:00+00:00",
                "rows": 1000,
                "unscored": 12,
                "historyFiles": 1,
                "fileName": "SDCSE_20260716T060000Z.csv",
                "startedAt": "2026-07-16T06:00:00+00:00",
                "finishedAt": "2026-07-16T06:00:02.310000+00:00",
                "actor": "cpm-schedule",
                "error": None,
            }
        )
    )

    runId: str
    state: RunState
    #: The scoring instant: the file's ScoreDateTime.
    asOf: str
    #: Devices scored: the rows of the file.
    rows: int
    #: Devices of Active subscriptions without participation history: not scored.
    unscored: int
    #: Participation-history files taken in at the start of the run.
    historyFiles: int
    #: The file on cpm's content server; null when nothing was scored, or the run failed.
    fileName: str | None
    startedAt: str
    finishedAt: str | None
    actor: str
    error: str | None
