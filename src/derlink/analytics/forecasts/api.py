"""The scheduled forecast's route: run it now (docs/analytics.md)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from derlink.analytics import scopes
from derlink.analytics.forecasts.service import ForecastOutcome, ScheduledForecast
from derlink.common.errors import BusinessError
from derlink.platform.auth import Client
from derlink.platform.openapi import body_example, documented_error, example_of
from derlink.platform.web import JsonRoute, require

Writer = Annotated[Client, Depends(require(scopes.WRITE))]


class ForecastRunCreate(BaseModel):
    """What a run is asked for: nothing (the coming day), or a local day, today or later."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=example_of({"day": "2026-07-16"}))

    day: date | None = None


class ForecastRunRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "forecastAt": "2026-07-16T06:00:00+00:00",
                "windowStart": "2026-07-17T00:00:00-07:00",
                "windowEnd": "2026-07-18T00:00:00-07:00",
                "programs": 1,
                "servicePoints": 1000,
                "forecast": 998,
                "fileName": "LRF_20260716T060000Z.csv",
                "measurements": "MEASUREMENTS_2026-07.parquet",
                "note": None,
            }
        )
    )

    forecastAt: str
    windowStart: str
    windowEnd: str
    #: Programs with Active subscriptions.
    programs: int
    #: Service points of Active subscriptions.
    servicePoints: int
    #: Service points with a whole forecast: the rows of the file.
    forecast: int
    #: The file on analytics' content server; null when nothing was forecast.
    fileName: str | None
    #: The measurement file the forecast read; null when there was none.
    measurements: str | None
    #: Why nothing was forecast; null when a file was written.
    note: str | None

    @classmethod
    def of(cls, o: ForecastOutcome) -> ForecastRunRead:
        return cls(
            forecastAt=o.forecast_at,
            windowStart=o.window_start,
            windowEnd=o.window_end,
            programs=o.programs,
            servicePoints=o.service_points,
            forecast=o.forecast,
            fileName=o.file_name,
            measurements=o.measurements,
            note=o.note,
        )


def create_router(*, forecast: ScheduledForecast) -> APIRouter:
    router = APIRouter(route_class=JsonRoute)

    @router.post(
        "/forecast-runs",
        responses=documented_error(
            422, "A day before today in the utility's zone.",
            "day 2026-07-15 is before today (2026-07-16): a forecast is of today or later",
            "AN-FORECAST-DAY",
        ),
        openapi_extra=body_example(ForecastRunCreate, {"day": "2026-07-16"}),
    )  # fmt: skip
    async def run_forecast(_: Writer, body: ForecastRunCreate | None = None) -> ForecastRunRead:
        """Forecast every service point of an Active subscription now, for the coming day or
        for ``day`` (today, for an intraday run, or later), and write the LRF file (none when
        nothing could be forecast: ``note`` says why)."""
        day = body.day if body is not None else None
        if day is not None:
            today = forecast.clock.now().astimezone(ZoneInfo(forecast.plan.time_zone)).date()
            if day < today:
                raise BusinessError(
                    f"day {day} is before today ({today}): a forecast is of today or later",
                    code="AN-FORECAST-DAY",
                )
        return ForecastRunRead.of(await forecast.run_once(day))

    return router
