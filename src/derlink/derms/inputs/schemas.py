"""DERMS's inputs' wire schemas (docs/contracts/derms-inputs.md). Every string is no longer
than its column; a row the hub could not read never reaches here (it is a record error of the
file), so a malformed collection is a 422 whole."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from derlink.derms.db import EXT
from derlink.derms.inputs import model
from derlink.derms.inputs.tables import FILE
from derlink.platform.openapi import example_of, model_example

Key = Annotated[str, StringConstraints(min_length=1, max_length=EXT)]
FileName = Annotated[str, StringConstraints(min_length=1, max_length=FILE)]
BatchId = Annotated[str, StringConstraints(min_length=1, max_length=120)]
#: The most rows one call carries.
MAX_ROWS = 5000
#: The most intervals one forecast carries (a day of 5-minute intervals).
MAX_INTERVALS = 288
Intervals = Annotated[list[float], Field(min_length=1, max_length=MAX_INTERVALS)]

SCORE_EXAMPLE = {
    "headEndSystem": "ECOBEE-HE",
    "nicId": "NIC-1",
    "deviceId": "D-01a2410e1d7bb8cf21dda5017e",
    "score": 87,
    "events": 12,
    "reliability": 0.9167,
    "performance": 0.7712,
    "lastEventDateTime": "2026-07-15T23:00:00Z",
    "scoreDateTime": "2026-07-16T06:00:00Z",
}
FORECAST_EXAMPLE = {
    "spId": "SP1",
    "programId": "BYOT",
    "windowStartTime": "2026-07-16T23:00:00Z",
    "windowEndTime": "2026-07-17T01:00:00Z",
    "intervalSeconds": 3600,
    "forecastDateTime": "2026-07-16T06:00:00Z",
    "p10Kw": [0.42, 0.38],
    "p50Kw": [0.81, 0.77],
    "p90Kw": [1.2, 1.16],
}
FILE_EXAMPLE = "SDCSE_20260716T060000Z.csv"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeviceScore(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=example_of(SCORE_EXAMPLE))

    headEndSystem: Key
    nicId: Key
    deviceId: Key
    score: int = Field(ge=0, le=100)
    events: int = Field(ge=0, le=2**31 - 1)
    reliability: float = Field(ge=0, le=1)
    #: Null when no reduction of the device is known.
    performance: float | None = Field(default=None, ge=0, le=1)
    lastEventDateTime: AwareDatetime | None = None
    #: When the score was computed: a newer one replaces an older one.
    scoreDateTime: AwareDatetime

    def to_domain(self, file: str) -> model.DeviceScore:
        return model.DeviceScore(
            head_end_system=self.headEndSystem,
            nic_id=self.nicId,
            device_id=self.deviceId,
            score=self.score,
            events=self.events,
            reliability=self.reliability,
            performance=self.performance,
            last_event_at=self.lastEventDateTime,
            scored_at=self.scoreDateTime,
            file=file,
        )

    @classmethod
    def of(cls, s: model.DeviceScore) -> DeviceScore:
        return cls(
            headEndSystem=s.head_end_system,
            nicId=s.nic_id,
            deviceId=s.device_id,
            score=s.score,
            events=s.events,
            reliability=s.reliability,
            performance=s.performance,
            lastEventDateTime=s.last_event_at,
            scoreDateTime=s.scored_at,
        )


class DeviceScoreBatch(Strict):
    batchId: BatchId
    #: The score file the rows come from.
    file: FileName
    scores: list[DeviceScore] = Field(min_length=1, max_length=MAX_ROWS)


class Forecast(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=example_of(FORECAST_EXAMPLE))

    spId: Key
    programId: Key
    windowStartTime: AwareDatetime
    windowEndTime: AwareDatetime
    intervalSeconds: int = Field(ge=60, le=86_400)
    #: When the forecast was made: a newer one replaces an older one whole.
    forecastDateTime: AwareDatetime
    #: Per interval of the window, in order: the 10th percentile of the kW reduction, the
    #: expected one (median) and the 90th percentile; the three of one length.
    p10Kw: Intervals
    p50Kw: Intervals
    p90Kw: Intervals

    @model_validator(mode="after")
    def _one_length(self) -> Forecast:
        if not len(self.p10Kw) == len(self.p50Kw) == len(self.p90Kw):
            raise ValueError("p10Kw, p50Kw and p90Kw must have one value per interval each")
        return self

    def to_domain(self, file: str) -> model.Forecast:
        return model.Forecast(
            sp_id=self.spId,
            program_id=self.programId,
            window_start=self.windowStartTime,
            window_end=self.windowEndTime,
            interval_s=self.intervalSeconds,
            forecast_at=self.forecastDateTime,
            p10_kw=self.p10Kw,
            p50_kw=self.p50Kw,
            p90_kw=self.p90Kw,
            file=file,
        )

    @classmethod
    def of(cls, f: model.Forecast) -> Forecast:
        return cls(
            spId=f.sp_id,
            programId=f.program_id,
            windowStartTime=f.window_start,
            windowEndTime=f.window_end,
            intervalSeconds=f.interval_s,
            forecastDateTime=f.forecast_at,
            p10Kw=list(f.p10_kw),
            p50Kw=list(f.p50_kw),
            p90Kw=list(f.p90_kw),
        )


class ForecastBatch(Strict):
    batchId: BatchId
    #: The forecast file the rows come from.
    file: FileName
    forecasts: list[Forecast] = Field(min_length=1, max_length=MAX_ROWS)


class Applied(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of({"applied": 4998, "stale": 2}))

    #: Rows kept: newer than what DERMS held of their key.
    applied: int
    #: Rows that changed nothing: not newer than what DERMS held (or than another row of the
    #: call with the same key).
    stale: int


class DeviceScoreRead(DeviceScore):
    model_config = ConfigDict(json_schema_extra=example_of({**SCORE_EXAMPLE, "file": FILE_EXAMPLE}))

    file: str


class DeviceScorePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [model_example(DeviceScoreRead)], "next": None})
    )

    items: list[DeviceScoreRead]
    #: ``<headEndSystem>!<nicId>`` to pass as ``after`` for the next page; null on the last.
    next: str | None


class ForecastRead(Forecast):
    model_config = ConfigDict(
        json_schema_extra=example_of({**FORECAST_EXAMPLE, "file": "LRF_20260716T060000Z.csv"})
    )

    file: str


class ForecastPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [model_example(ForecastRead)], "next": None})
    )

    items: list[ForecastRead]
    #: The service point to pass as ``after`` for the next page; null on the last.
    next: str | None
