"""The scheduled forecast run: what it reads, what it forecasts, what it writes.

- **Who**: the service points (``cisServicePointId``) of the Active subscriptions analytics
  holds from cpm's extracts, by program code. Analytics holds no program status: a program is
  forecast while it has Active subscriptions.
- **Measurements**: the newest ``MEASUREMENTS_*`` file (CSV or Parquet, the interval layout of
  docs/contracts/analytics-files.md) in analytics' object storage; analytics keeps no interval
  data of its own.
- **Responses**: the ``KWHAVOIDED_*`` files in the object storage, if any (each service point's
  past response; without them every service point gets the program's, and a program without
  history expects no reduction).
- **Window**: the next local day in the utility's zone (``DERLINK_TIME_ZONE``), from
  ``forecast_window``'s start to its end (the whole day by default), at the service points' own
  interval length; the service points are in that zone too.
- **Out**: one file, ``LRF_<stamp>.csv``, of every program's service points with a whole
  forecast (analytics/runs/lrf.py); none when nothing could be forecast, and the run says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import sqlalchemy as sa

from derlink.analytics.enrollments.tables import subscriptions
from derlink.analytics.kernels.baselines.names import METHOD_NAMES
from derlink.analytics.runs.forecast import compute_forecast
from derlink.analytics.runs.lrf import lrf_chunks, lrf_frame, lrf_name
from derlink.analytics.runs.population import RunInputs
from derlink.analytics.runs.progress import NoProgress
from derlink.common.clock import Clock
from derlink.common.errors import ConfigurationError
from derlink.platform.database import Database
from derlink.platform.files import FileStore

log = logging.getLogger("derlink.analytics.forecasts")

#: The measurement files the run reads (the newest of them), and the past responses.
MEASUREMENTS_PREFIX = "MEASUREMENTS_"
KWH_AVOIDED_PREFIX = "KWHAVOIDED_"
#: Service points per measurement batch.
BATCH = 8192


@dataclass(frozen=True)
class ForecastPlan:
    """What the scheduled forecast is for: the local hours of the coming day in a zone, and the
    load prediction (a baseline method's name)."""

    time_zone: str
    start: time
    #: None: midnight at the end of the day.
    end: time | None
    method: str

    def next_day(self, now: datetime) -> tuple[datetime, datetime]:
        zone = ZoneInfo(self.time_zone)
        return self.window_of(now.astimezone(zone).date() + timedelta(days=1))

    def window_of(self, day: date) -> tuple[datetime, datetime]:
        """The forecast window of a local day."""
        zone = ZoneInfo(self.time_zone)
        start = datetime.combine(day, self.start, zone)
        end = datetime.combine(day + timedelta(days=1) if self.end is None else day,
                               self.end or time(0), zone)  # fmt: skip
        return start, end


@dataclass(frozen=True)
class ForecastOutcome:
    """What a run did: the file (None when nothing was forecast) and its counts."""

    forecast_at: str
    window_start: str
    window_end: str
    programs: int
    service_points: int
    forecast: int
    file_name: str | None
    measurements: str | None
    #: Why nothing was forecast; None when a file was written.
    note: str | None


class ScheduledForecast:
    def __init__(
        self, *, db: Database, clock: Clock, storage: FileStore, content: FileStore,
        plan: ForecastPlan,
    ) -> None:  # fmt: skip
        if plan.method not in METHOD_NAMES:
            raise ConfigurationError(
                f"DERLINK_FORECAST_METHOD must be one of {', '.join(METHOD_NAMES)}, "
                f"not {plan.method!r}"
            )
        self.db = db
        self.clock = clock
        self.storage = storage
        self.content = content
        self.plan = plan

    async def run_once(self, day: date | None = None) -> ForecastOutcome:
        """Forecast the coming local day, or ``day`` (today or later: an intraday run)."""
        now = self.clock.now()
        start, end = self.plan.next_day(now) if day is None else self.plan.window_of(day)
        programs = await asyncio.to_thread(self._active_service_points)
        every = sum(len(s) for s in programs.values())

        def outcome(
            forecast: int = 0,
            name: str | None = None,
            measured: str | None = None,
            note: str | None = None,
        ) -> ForecastOutcome:
            return ForecastOutcome(
                forecast_at=now.isoformat(),
                window_start=start.isoformat(),
                window_end=end.isoformat(),
                programs=len(programs),
                service_points=every,
                forecast=forecast,
                file_name=name,
                measurements=measured,
                note=note,
            )

        if not programs:
            return outcome(note="analytics holds no Active subscription: nothing to forecast")
        files = sorted(f.name for f in (await self.storage.scan(MEASUREMENTS_PREFIX)).files)
        if not files:
            return outcome(
                note=f"no {MEASUREMENTS_PREFIX}* file in analytics' object storage: nothing to "
                "forecast from"
            )
        measured = files[-1]
        with tempfile.TemporaryDirectory(prefix="derlink-forecast-") as tmp:
            folder = Path(tmp)
            measurements = await self._local(measured, folder)
            history = [
                await self._local(f.name, folder)
                for f in (await self.storage.scan(KWH_AVOIDED_PREFIX)).files
            ]
            frame = await asyncio.to_thread(
                self._forecast, programs, measurements, history, start, end, folder
            )
        rows = await asyncio.to_thread(lrf_frame, frame, now)
        if rows.height == 0:
            return outcome(
                measured=measured,
                note=f"none of the {every} service point(s) has a whole forecast from {measured}",
            )
        name = lrf_name(now)
        async with contextlib.aclosing(lrf_chunks(rows)) as chunks:
            await self.content.write(name, chunks)
        return outcome(rows.height, name, measured)

    def _active_service_points(self) -> dict[str, set[str]]:
        c = subscriptions.c
        query = sa.select(c.program_code, c.cis_service_point_id).where(c.status == "Active")
        found: dict[str, set[str]] = {}
        with self.db.read() as conn:
            for row in conn.execute(query):
                found.setdefault(row.program_code, set()).add(row.cis_service_point_id)
        return found

    async def _local(self, name: str, folder: Path) -> Path:
        """A copy of the stored file ``name`` in ``folder``, for the readers of files."""
        path = folder / name
        with path.open("wb") as out:
            async for chunk in self.storage.read(name, 0):
                out.write(chunk)
        return path

    def _forecast(
        self,
        programs: dict[str, set[str]],
        measurements: Path,
        history: Sequence[Path],
        start: datetime,
        end: datetime,
        folder: Path,
    ) -> pl.DataFrame:
        """Every program's forecast rows, of its Active service points only."""
        points = folder / "service_points.csv"
        pl.DataFrame(
            [(sp, program) for program, sps in programs.items() for sp in sps],
            schema=["SPId", "ProgramId"],
            orient="row",
        ).write_csv(points)
        inputs = RunInputs(service_points=points, time_zone=self.plan.time_zone)
        frames = []
        for program, sps in sorted(programs.items()):
            result = compute_forecast(
                measurements=measurements,
                program_id=program,
                start=start,
                end=end,
                history=history,
                method=self.plan.method,
                events=None,
                inputs=inputs,
                batch_size=BATCH,
                progress=NoProgress(),
            )
            frame = result.run.frame()
            if frame.height:
                frames.append(frame.filter(pl.col("SPId").is_in(list(sps))))
        return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
