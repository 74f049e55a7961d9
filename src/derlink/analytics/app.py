"""analytics as a part: its API application, its database, the intake loop and the scheduled
load-reduction forecast.

The composition root mounts ``part.app`` at ``/analytics`` and calls ``start``/``stop``. The
loop runs the enrollment intake, then the outcome intake, every
``AnalyticsSettings.intake_interval_s`` seconds (0: never; the API and the CLI still run each on
demand); a failed run is logged and the loop goes on, and one intake's failure does not keep
the other from its turn. An entry of the object storage an intake cannot take is set aside and
e-mailed once to ``AnalyticsSettings.intake_notify_to``. The forecast runs every
``AnalyticsSettings.forecast_interval_s`` seconds (0: never; the API and the CLI run it now).
"""

from __future__ import annotations

import logging

from derlink.analytics.enrollments import api
from derlink.analytics.enrollments.service import enrollment_intake
from derlink.analytics.forecasts import api as forecasts_api
from derlink.analytics.forecasts.service import ForecastPlan, ScheduledForecast
from derlink.analytics.migrations import SCHEMA
from derlink.analytics.outcomes import api as outcomes_api
from derlink.analytics.outcomes.service import outcome_intake
from derlink.analytics.settings import AnalyticsSettings
from derlink.common.clock import Clock
from derlink.platform.auth import CredentialStore
from derlink.platform.database import Database, open_part_database
from derlink.platform.files import FileStore, open_store
from derlink.platform.intake.refusals import MailRefusals
from derlink.platform.mail import Mailer, default_mailer
from derlink.platform.periodic import Every
from derlink.platform.settings import Settings
from derlink.platform.web import create_app

log = logging.getLogger("derlink.analytics")

#: How long ``stop`` waits for a run to finish its current chunk before cancelling it.
STOP_GRACE_S = 30.0


def open_analytics_database(url: str) -> Database:
    """Open (and migrate) analytics' database."""
    return open_part_database(url, SCHEMA)


class AnalyticsPart:
    """Analytics: API, database, and the intake of enrollment and outcome files from its object
    storage."""

    name = "analytics"

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        credentials: CredentialStore,
        clock: Clock,
        storage: FileStore,
        content: FileStore,
        mailer: Mailer,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.storage = storage
        self.content = content
        refused = MailRefusals(mailer, settings.part(AnalyticsSettings).intake_notify_to)
        self.intake = enrollment_intake(
            db, clock, storage, content, settings.max_file_bytes, refused=refused
        )
        self.outcomes = outcome_intake(
            db, clock, storage, content, settings.max_file_bytes, refused=refused
        )
        self.app = create_app(
            title="derlink analytics",
            credentials=credentials,
            max_body_bytes=settings.max_body_bytes,
        )
        own = settings.part(AnalyticsSettings)
        start, end = own.forecast_hours()
        self.forecast = ScheduledForecast(
            db=db,
            clock=clock,
            storage=storage,
            content=content,
            plan=ForecastPlan(settings.time_zone, start, end, own.forecast_method),
        )
        self.app.include_router(api.create_router(db=db, intake=self.intake), prefix="/api/v1")
        self.app.include_router(
            outcomes_api.create_router(db=db, intake=self.outcomes), prefix="/api/v1"
        )
        self.app.include_router(
            forecasts_api.create_router(forecast=self.forecast), prefix="/api/v1"
        )
        #: The intake loop while the part runs.
        self._task: Every | None = None
        #: The forecast's schedule while the part runs.
        self._forecasts: Every | None = None

    async def start(self) -> None:
        """Start the intake loop and the forecast's schedule (each unless its interval is 0)."""
        forecast_s = self.settings.part(AnalyticsSettings).forecast_interval_s
        if self._forecasts is None and forecast_s > 0:
            self._forecasts = Every("scheduled forecast", forecast_s, self._scheduled_forecast)
            self._forecasts.start()
        interval = self.settings.part(AnalyticsSettings).intake_interval_s
        if self._task is not None or interval <= 0:
            return
        self._task = Every(
            "file intake", interval, self._intakes, at_once=True, grace_s=STOP_GRACE_S
        )
        self._task.start()

    async def _intakes(self) -> None:
        """One turn of the loop: the enrollment files, then the outcome files, the outcomes'
        turn coming whatever became of the enrollments' (platform/periodic.py logs what
        either raises)."""
        try:
            await self.intake.run_once()
        finally:
            await self.outcomes.run_once()

    async def _scheduled_forecast(self) -> None:
        """One scheduled forecast (platform/periodic.py logs what it raises)."""
        done = await self.forecast.run_once()
        if done.file_name:
            log.info("forecast of %d service point(s) in %s", done.forecast, done.file_name)
        else:
            log.info("scheduled forecast wrote no file: %s", done.note)

    async def stop(self) -> None:
        """Stop the loop (a run stops at its next chunk, its file left for the next start),
        close the stores and the database."""
        self.intake.stop()
        self.outcomes.stop()
        if self._forecasts is not None:
            await self._forecasts.stop()
            self._forecasts = None
        if self._task is not None:
            await self._task.stop()
            self._task = None
        await self.storage.close()
        await self.content.close()
        self.db.dispose()


def create_part(
    *,
    settings: Settings,
    credentials: CredentialStore,
    clock: Clock,
    mailer: Mailer | None = None,
) -> AnalyticsPart:
    """Open (and migrate) analytics' database and its file stores, and build its part (its
    e-mails through ``mailer``, else the platform's default one)."""
    db = open_analytics_database(settings.database_for("analytics"))
    try:
        storage = open_store(settings.store_url("analytics-storage"), home=settings.home)
        content = open_store(settings.store_url("analytics-content"), home=settings.home)
        return AnalyticsPart(
            settings=settings,
            db=db,
            credentials=credentials,
            clock=clock,
            storage=storage,
            content=content,
            mailer=mailer or default_mailer(settings.smtp_url, settings.home),
        )
    except BaseException:
        db.dispose()
        raise
