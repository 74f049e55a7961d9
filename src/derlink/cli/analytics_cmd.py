"""``derlink analytics``: baselines, kWh avoided, forecasts and device scores over files, and
the enrollment intake of a running derlink.

Mounted by the main CLI as ``app.add_typer(analytics_cmd.app, name="analytics")``. Every file
command reads the documented input files (docs/contracts/analytics-files.md), streams
measurements in batches of whole service points with a progress bar, and writes its output files
plus a ``warnings.csv`` of data-sufficiency warnings. ``intake`` asks the running analytics part
to take the enrollment files waiting in its object storage now (docs/analytics.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from derlink.analytics.errors import AnalyticsError
from derlink.analytics.kernels.baselines.methods import (
    METHODS,
    BaselineMethod,
    UnknownMethod,
)
from derlink.analytics.kernels.baselines.methods import method_of as named_method
from derlink.analytics.kernels.events import Event, EventHistory, ServicePoints
from derlink.analytics.kernels.forecast import ResponseStats, forecast_window
from derlink.analytics.kernels.grid import ValueBounds
from derlink.analytics.kernels.groups import Population
from derlink.analytics.kernels.intervals import IntervalBatch
from derlink.analytics.kernels.kwh_avoided import event_kwh_avoided
from derlink.analytics.kernels.scores import device_scores
from derlink.analytics.kernels.sufficiency import WarningLog
from derlink.analytics.measurements.batches import iter_batches, rows_in
from derlink.analytics.measurements.weather import read_weather
from derlink.analytics.runs.inputs import (
    read_events,
    read_history,
    read_participation,
    read_service_points,
)
from derlink.analytics.runs.memory import keep_freed_memory
from derlink.analytics.runs.outputs import write_csv
from derlink.analytics.runs.scores import write_scores
from derlink.cli.client import HomeOption, settings_for
from derlink.common.clock import parse_iso

app = typer.Typer(
    help="Analytics: baselines, kWh avoided, kW drop, forecasts, device scores.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)


@app.callback()
def _setup() -> None:
    """Analytics: baselines, kWh avoided, kW drop, forecasts, device scores."""
    keep_freed_memory()  # batch runs reuse their memory instead of faulting it in again


MeasurementsOption = Annotated[
    Path, typer.Option("--measurements", "-m", help="Interval data: CSV, Parquet or ESPI XML.")
]
ServicePointsOption = Annotated[
    Path | None,
    typer.Option(help="Service points CSV: SPId, TimeZone, ProgramId, StationId."),
]
TimeZoneOption = Annotated[
    str, typer.Option("--time-zone", help="Time zone of service points the file does not list.")
]
WeatherOption = Annotated[
    Path | None, typer.Option(help="Hourly temperature: station_id, start, temperature_f.")
]
HolidaysOption = Annotated[
    str, typer.Option(help="Holidays (baseline day type), comma separated YYYY-MM-DD.")
]
BatchOption = Annotated[int, typer.Option(help="Service points per batch.")]
MethodOption = Annotated[str, typer.Option(help=f"Baseline: {', '.join(METHODS)}.")]


def method_of(name: str) -> BaselineMethod:
    try:
        return named_method(name)
    except UnknownMethod as exc:
        raise typer.BadParameter(str(exc)) from exc


def _population(
    service_points: Path | None,
    time_zone: str,
    events: list[Event],
    participation: Path | None,
    weather: Path | None,
    holidays: str,
) -> Population:
    points = (
        read_service_points(service_points, time_zone)
        if service_points
        else ServicePoints.empty(time_zone)
    )
    return Population(
        service_points=points,
        history=EventHistory(events, read_participation(participation) if participation else None),
        holidays=frozenset(date.fromisoformat(d.strip()) for d in holidays.split(",") if d.strip()),
        bounds=ValueBounds(),
        weather=read_weather(weather) if weather else None,
    )


def _tracked(
    path: Path, batch_size: int, warnings: WarningLog, label: str
) -> Iterator[IntervalBatch]:
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(label, total=rows_in(path))
        for batch in iter_batches(path, batch_size, warnings):
            yield batch
            progress.advance(task, batch.rows)


def _event(events: list[Event], event_id: str) -> Event:
    for event in events:
        if event.event_id == event_id:
            return event
    raise typer.BadParameter(f"event {event_id!r} is not in the events file")


def _fail(exc: AnalyticsError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc.message}")
    return typer.Exit(code=2)


@app.command("kwh-avoided")
def kwh_avoided(
    measurements: MeasurementsOption,
    events: Annotated[Path, typer.Option(help="Events CSV: EventId, EventType, ProgramId, …")],
    event_id: Annotated[str, typer.Option(help="The event to settle.")],
    out_dir: Annotated[Path, typer.Option(help="Folder for the kWh avoided and kW drop files.")],
    method: MethodOption = "caiso-10-in-10",
    program_methods: Annotated[
        Path | None, typer.Option(help="CSV ProgramId, Method: the baseline per program.")
    ] = None,
    service_points: ServicePointsOption = None,
    participation: Annotated[
        Path | None, typer.Option(help="Participation CSV: EventId, SPId.")
    ] = None,
    weather: WeatherOption = None,
    holidays: HolidaysOption = "",
    time_zone: TimeZoneOption = "UTC",
    batch_size: BatchOption = 8192,
) -> None:
    """Settle one event: kWh avoided and kW drop per service point (SPEC §2.3 layouts)."""
    try:
        all_events = read_events(events)
        event = _event(all_events, event_id)
        chosen = method
        if program_methods is not None:
            table = pl.read_csv(program_methods, infer_schema=False)
            match = table.filter(pl.col(table.columns[0]) == event.program_id)
            if match.height:
                chosen = str(match.row(0)[1])
        population = _population(
            service_points, time_zone, all_events, participation, weather, holidays
        )
        participants = None
        if participation is not None:
            rows = read_participation(participation).filter(pl.col("event_id") == event_id)
            participants = frozenset(rows["sp_id"].to_list()) if rows.height else None
        log = WarningLog()
        run = event_kwh_avoided(
            _tracked(measurements, batch_size, log, f"{event_id} ({chosen})"),
            event=event,
            method=method_of(chosen),
            population=population,
            participants=participants,
        )
        log.extend(run.warnings)
    except AnalyticsError as exc:
        raise _fail(exc) from exc
    stem = f"{event_id}_{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    kwh = write_csv(run.kwh_avoided(), out_dir / f"KWHAVOIDED_{stem}.csv")
    kw = write_csv(run.kw_drop(), out_dir / f"KWDROP_{stem}.csv")
    warnings_path = write_csv(log.to_frame(), out_dir / f"WARNINGS_{stem}.csv")
    console.print(f"kWh avoided: {kwh}\nkW drop:     {kw}\nwarnings:    {warnings_path}")


@app.command()
def baseline(
    measurements: MeasurementsOption,
    events: Annotated[Path, typer.Option(help="Events CSV: EventId, EventType, ProgramId, …")],
    event_id: Annotated[str, typer.Option(help="The event whose baseline to compute.")],
    out: Annotated[Path, typer.Option(help="Output CSV: SPId, IntervalStart, BaselineKwh, …")],
    method: MethodOption = "caiso-10-in-10",
    service_points: ServicePointsOption = None,
    participation: Annotated[Path | None, typer.Option(help="Participation CSV.")] = None,
    weather: WeatherOption = None,
    holidays: HolidaysOption = "",
    time_zone: TimeZoneOption = "UTC",
    batch_size: BatchOption = 8192,
) -> None:
    """Baseline kWh per service point per event interval, beside the actual kWh."""
    try:
        all_events = read_events(events)
        event = _event(all_events, event_id)
        population = _population(
            service_points, time_zone, all_events, participation, weather, holidays
        )
        log = WarningLog()
        run = event_kwh_avoided(
            _tracked(measurements, batch_size, log, f"{event_id} baseline"),
            event=event,
            method=method_of(method),
            population=population,
        )
        log.extend(run.warnings)
    except AnalyticsError as exc:
        raise _fail(exc) from exc
    parts = []
    for s in run.savings:
        k = s.baseline.shape[1]
        parts.append(
            pl.DataFrame(
                {
                    "SPId": s.sp_ids.repeat(k).tolist(),
                    "IntervalStart": pl.Series(
                        list(s.interval_starts_us) * len(s.sp_ids), dtype=pl.Int64
                    )
                    .cast(pl.Datetime("us", "UTC"))
                    .dt.convert_time_zone(s.time_zone)
                    .dt.to_string("%Y-%m-%dT%H:%M:%S%:z"),
                    "IntervalSize(Seconds)": s.interval_s,
                    "BaselineKwh": s.baseline.ravel(),
                    "ActualKwh": s.actual.ravel(),
                }
            ).with_columns(pl.col(pl.Float64).fill_nan(None).round(4))
        )
    frame = pl.concat(parts) if parts else pl.DataFrame({"SPId": []})
    write_csv(frame, out)
    write_csv(log.to_frame(), out.with_name(out.stem + "_warnings.csv"))
    console.print(f"baselines: {out} ({frame.height} rows)")


@app.command()
def forecast(
    measurements: MeasurementsOption,
    program_id: Annotated[str, typer.Option(help="The program the window is for.")],
    start: Annotated[str, typer.Option(help="Window start, ISO with offset.")],
    end: Annotated[str, typer.Option(help="Window end, ISO with offset.")],
    out: Annotated[Path, typer.Option(help="Output forecast CSV.")],
    history: Annotated[
        list[Path] | None, typer.Option(help="Past kWh avoided files (repeatable).")
    ] = None,
    method: Annotated[str, typer.Option(help=f"Load prediction: {', '.join(METHODS)}.")] = (
        "caiso-10-in-10"
    ),
    events: Annotated[Path | None, typer.Option(help="Past events (excluded days).")] = None,
    service_points: ServicePointsOption = None,
    participation: Annotated[Path | None, typer.Option(help="Participation CSV.")] = None,
    weather: WeatherOption = None,
    holidays: HolidaysOption = "",
    time_zone: TimeZoneOption = "UTC",
    batch_size: BatchOption = 8192,
) -> None:
    """Expected kW reduction per service point for a coming event window, with P10–P90."""
    try:
        window = Event("FORECAST", program_id, "", parse_iso(start), parse_iso(end))
        past = read_events(events) if events else []
        population = _population(service_points, time_zone, past, participation, weather, holidays)
        frames = [pl.read_csv(p, infer_schema_length=0) for p in history or []]
        rows = (
            pl.concat(
                [
                    f.select(
                        "SPId",
                        pl.col("TotalKwh").cast(pl.Float64, strict=False),
                        pl.col("TotalKwhSavedForPeriod").cast(pl.Float64, strict=False),
                    )
                    for f in frames
                ]
            )
            if frames
            else pl.DataFrame(
                schema={
                    "SPId": pl.Utf8,
                    "TotalKwh": pl.Float64,
                    "TotalKwhSavedForPeriod": pl.Float64,
                }
            )
        )
        log = WarningLog()
        run = forecast_window(
            _tracked(measurements, batch_size, log, "forecast"),
            window=window,
            responses=ResponseStats.from_history(rows),
            population=population,
            method=method_of(method),
        )
        log.extend(run.warnings)
    except (AnalyticsError, ValueError) as exc:
        if isinstance(exc, AnalyticsError):
            raise _fail(exc) from exc
        raise typer.BadParameter(str(exc)) from exc
    frame = run.frame()
    write_csv(frame, out)
    write_csv(log.to_frame(), out.with_name(out.stem + "_warnings.csv"))
    console.print(f"forecast: {out} ({frame.height} service points)")


@app.command()
def scores(
    history: Annotated[
        Path,
        typer.Option(help="Participation history: DeviceId, HeadEndSystem, NicId, EventId, …"),
    ],
    out_dir: Annotated[Path, typer.Option(help="Folder for the SDCSE score file.")],
    as_of: Annotated[
        str | None, typer.Option(help="Scoring instant, ISO with offset (default: now).")
    ] = None,
) -> None:
    """Device scores (0–100) from participation history, as an SDCSE file."""
    moment = parse_iso(as_of) if as_of else datetime.now(UTC)
    frame = device_scores(read_history(history), as_of=moment)
    path = write_scores(frame, out_dir, moment)
    console.print(f"device scores: {path} ({frame.height} devices)")


@app.command()
def synthetic(
    out_dir: Annotated[Path, typer.Option(help="Folder for the generated files.")],
    service_points: Annotated[int, typer.Option(help="Number of service points.")] = 1000,
    days: Annotated[int, typer.Option(help="Days of hourly history.")] = 46,
    events: Annotated[int, typer.Option(help="DR events in the period.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Generate a synthetic population with known ground truth (for trials and benchmarks)."""
    from derlink.analytics.runs.synthetic import write_population

    written = write_population(
        out_dir, service_points=service_points, days=days, events=events, seed=seed
    )
    for name, path in written.items():
        console.print(f"{name:>16}: {path}")


@app.command()
def intake(
    url: Annotated[
        str | None,
        typer.Option(help="analytics' base URL (default: the running derlink's /analytics)."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Take the enrollment files waiting in analytics' object storage now (OUAI-ENR)."""
    from derlink.cli.client import Api

    settings = settings_for(home)
    base = (url or settings.part_url("analytics")).rstrip("/")
    result = Api(settings).call("POST", f"{base}/api/v1/enrollment-files/intake")
    files = result["files"]
    table = Table("file", "state", "rows", "accepted", "rejected", "ack file", "renamed to", "note")
    for f in files:
        table.add_row(
            f["name"],
            f["state"],
            str(f["rows"]),
            str(f["accepted"]),
            str(f["rejected"]),
            f["ackFile"] or "",
            f["renamedTo"] or "",
            f["error"] or "",
        )
    console.print(table)
    console.print(f"{len(files)} enrollment file(s) taken")
