"""The demo's DERMS inputs: device scores (DEV-SCORE) and load-reduction forecasts (LRF).

Scores and forecasts come from a history of past events, which a new utility does not have.
The demo draws one with analytics' synthetic population, over the sample utility's own service
points (``SP00000000``…, the ids the sample customers have): hourly interval data for the
weeks before today, with weekday-afternoon events in which most service points took part and
cut their load by a known share. From that history:

- analytics' kWh avoided run settles each past event (baseline ``caiso-10-in-10``) for the
  service points DERMS's outcome file of the history (an ``OUTCOME_`` file in the EVT-OUTCOME
  layout: ``D1SP`` for a service point that took part, ``D1CN`` for one that did not) gives as
  taking part; its ``KWHAVOIDED_`` files and the interval data (``MEASUREMENTS_demo.parquet``)
  go into analytics' object storage, where the scheduled forecast reads them;
- each enrolled device's part in the events (took part and what it saved, or did not respond)
  goes to cpm's content server as a ``PARTICIPATION_`` history file, the score run's input
  until cpm records event outcomes itself. A device that replaced another after the events
  has no history and is not scored.

Then, over the platform's APIs, cpm's score run and analytics' forecast run go now, DEV-SCORE
and LRF deliver their files, and the demo reads what DERMS holds. Files are put into the
stores (folders of the demo's data directory) whole: written beside them, then renamed in.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from derlink.common.errors import BusinessFault

#: The synthetic history: weeks of hourly data before today, and its events.
HISTORY_DAYS = 35
HISTORY_EVENTS = 3
#: The baseline that settles the past events.
METHOD = "caiso-10-in-10"
#: A page of DERMS's holdings.
PAGE = 1000
SCORE_RUN_PATIENCE_S = 120.0


@dataclass(frozen=True)
class Device:
    """An enrolled device and its service point."""

    service_point: str
    head_end_system: str
    nic_id: str


@dataclass(frozen=True)
class History:
    """The drawn history, as the files the parts take in."""

    measurements: Path
    kwh_avoided: list[Path]
    participation: Path
    events: int
    devices_with_history: int


def draw_history(
    folder: Path, *, customers: int, devices: Sequence[Device], time_zone: str, today: date
) -> History:
    """The history of ``customers`` service points up to ``today`` (in ``time_zone``), settled
    event by event, and the devices' participation file. CPU-bound: run it off the loop."""
    from derlink.analytics.kernels.synthetic import PopulationSpec
    from derlink.analytics.runs.kwh_avoided import Asked, compute_kwh_avoided, write_kwh_avoided
    from derlink.analytics.runs.population import RunInputs
    from derlink.analytics.runs.progress import NoProgress
    from derlink.analytics.runs.synthetic import write_population
    from derlink.cpm.scores.model import HISTORY_HEADER

    spec = PopulationSpec(
        service_points=customers,
        first_day=today - timedelta(days=HISTORY_DAYS),
        days=HISTORY_DAYS,
        events=HISTORY_EVENTS,
        time_zones=(time_zone,),
        final_event=True,
        seed=11,
    )
    # Small batches: the drawn loads of 1,024 service points at a time (~200 MB at most).
    paths = write_population(
        folder / "population", service_points=customers, spec=spec, sps_per_batch=1024
    )
    events = pl.read_csv(paths["events"], infer_schema_length=0)
    event_ids = events["EventId"].to_list()
    settled = compute_kwh_avoided(
        measurements=paths["measurements"],
        events=paths["events"],
        asked=Asked(event_ids, [METHOD], None, {}),
        inputs=RunInputs(service_points=paths["service_points"], outcomes=(paths["outcomes"],)),
        batch_size=8192,
        progress=NoProgress(),
    )
    out = folder / "kwh-avoided"
    out.mkdir()
    kwh_avoided = [write_kwh_avoided(result, out).kwh_avoided for result in settled]

    hours = spec.event_hours
    truth = pl.read_parquet(paths["truth"]).join(
        events.select(
            pl.col("EventId").alias("event_id"), pl.col("StartTime").alias("EventStartTime")
        ),
        on="event_id",
    )
    held = pl.DataFrame(
        [(d.service_point, d.head_end_system, d.nic_id) for d in devices],
        schema=["sp_id", "HeadEndSystem", "NicId"],
        orient="row",
    )
    rows = truth.join(held, on="sp_id").select(
        pl.lit("").alias("DeviceId"),
        "HeadEndSystem",
        "NicId",
        pl.col("event_id").alias("EventId"),
        "EventStartTime",
        pl.when(pl.col("takes_part"))
        .then(pl.lit("D1SP"))
        .otherwise(pl.lit("D1ND"))
        .alias("Outcome"),
        pl.when(pl.col("takes_part"))
        .then((pl.col("saved_kwh") / hours).round(3))
        .otherwise(None)
        .alias("ReductionKw"),
    )
    participation = folder / f"PARTICIPATION_demo_{today:%Y%m%d}.csv"
    rows.select(list(HISTORY_HEADER)).sort("HeadEndSystem", "NicId", "EventId").write_csv(
        participation, null_value=""
    )
    return History(
        measurements=paths["measurements"],
        kwh_avoided=kwh_avoided,
        participation=participation,
        events=len(event_ids),
        devices_with_history=rows.select("HeadEndSystem", "NicId").unique().height,
    )


def put(store: Path, source: Path, name: str) -> None:
    """Put ``source`` into the store folder as ``name``, whole: copied beside it, then
    renamed in, so that no run ever reads half of it."""
    store.mkdir(parents=True, exist_ok=True)
    staged = store.parent / f"{store.name}.staged-{name}"
    shutil.copyfile(source, staged)
    staged.chmod(0o600)
    staged.replace(store / name)


Get = Callable[[str, dict[str, str] | None], Awaitable[Any]]


async def held(get: Get, path: str) -> list[dict[str, Any]]:
    """Every item of a paged DERMS list (``items`` and ``next``)."""
    items: list[dict[str, Any]] = []
    after = None
    while True:
        params = {"limit": str(PAGE), **({"after": after} if after else {})}
        page = await get(path, params)
        items.extend(page["items"])
        after = page["next"]
        if not after:
            return items


def expected_kw(forecasts: Sequence[dict[str, Any]]) -> float:
    """The reduction expected of every service point together: the sum of their mean P50 kW
    over the forecast window."""
    total = sum(float(sum(f["p50Kw"])) / len(f["p50Kw"]) for f in forecasts if f["p50Kw"])
    return round(total, 1)


async def run_scores(post: Callable[[str, Any], Awaitable[Any]]) -> dict[str, Any]:
    """cpm's score run, now; a scheduled run under way is waited for."""
    deadline = time.monotonic() + SCORE_RUN_PATIENCE_S
    while True:
        try:
            run: dict[str, Any] = await post("/cpm/api/v1/score-runs", {})
            return run
        except BusinessFault as fault:
            if fault.status != 409 or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def local_today(time_zone: str) -> date:
    return datetime.now(ZoneInfo(time_zone)).date()
