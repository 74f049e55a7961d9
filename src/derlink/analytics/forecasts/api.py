"""The scheduled forecast's route: run it now (docs/analytics.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from derlink.analytics import scopes
from derlink.analytics.forecasts.service import ForecastOutcome, ScheduledForecast
from derlink.platform.auth import Client
from derlink.platform.openapi import example_of
from derlink.platform.web import JsonRoute, require

Writer = Annotated[Client, Depends(require(scopes.WRITE))]


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

    @router.post("/forecast-runs")
    async def run_forecast(_: Writer) -> ForecastRunRead:
        """Forecast every service point of an Active subscription for the coming day now, and
        write the LRF file (none when nothing could be forecast: ``note`` says why)."""
        return ForecastRunRead.of(await forecast.run_once())

    return router
