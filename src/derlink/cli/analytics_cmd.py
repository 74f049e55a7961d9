"""``derlink analytics``: baselines, kWh avoided and forecasts over files, and the enrollment
intake, the event outcomes and the scheduled forecast of a running derlink.

Mounted by the main CLI as ``app.add_typer(analytics_cmd.app, name="analytics")``. Every file
command reads the documented input files (docs/contracts/analytics-files.md), streams
measurements in batches of whole service points with a progress bar, and writes its output files
plus a ``warnings.csv`` of data-sufficiency warnings. ``intake`` asks the running analytics part
to take the enrollment files waiting in its object storage now, ``outcomes intake`` the outcome
files; ``outcomes list`` and ``outcomes files`` read what the outcome intake took
(docs/analytics.md).

The work is ``derlink.analytics.runs``'s: a command parses its options, hands the run a progress
bar, and prints what was written or why nothing was (an unusable file: ``error:`` and exit 2; an
unknown event or method: a usage error).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from derlink.analytics.errors import AnalyticsError
from derlink.analytics.kernels.baselines.names import METHOD_NAMES

if TYPE_CHECKING:
    from derlink.analytics.runs.kwh_avoided import RunSummary
    from derlink.analytics.runs.population import RunInputs
    from derlink.analytics.runs.summary import WarningKind
from derlink.cli.client import Api, HomeOption, JsonOption, api_for, print_json, print_table

# The runs (polars, pyarrow, numpy) are imported by the commands that use them: the CLI's help
# and its other commands do not wait for them.
from derlink.common.clock import parse_iso

app = typer.Typer(
    help="Analytics: baselines, kWh avoided, kW drop, forecasts.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
AnalyticsUrlOption = Annotated[
    str | None,
    typer.Option(
        help="analytics' address (default: $DERLINK_ANALYTICS_URL, else /analytics of the "
        "running derlink)."
    ),
]
err_console = Console(soft_wrap=True, stderr=True)


@app.callback()
def _setup() -> None:
    """Analytics: baselines, kWh avoided, kW drop, forecasts."""
    from derlink.analytics.runs.memory import keep_freed_memory

    keep_freed_memory()  # batch runs reuse their memory instead of faulting it in again


MeasurementsOption = Annotated[
    Path,
    typer.Option(
        "--measurements",
        "-m",
        exists=True,
        dir_okay=False,
        help="Interval data: CSV, Parquet or ESPI XML.",
    ),
]
ServicePointsOption = Annotated[
    Path | None,
    typer.Option(
        exists=True,
        dir_okay=False,
        help="Service points CSV: SPId, TimeZone, ProgramId, StationId.",
    ),
]


def _zone(name: str | None) -> str | None:
    """An IANA time zone name, checked (a usage error otherwise)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(
            f"unknown time zone {name!r} (an IANA name: America/New_York)"
        ) from None
    return name


TimeZoneOption = Annotated[
    str | None,
    typer.Option(
        "--time-zone",
        callback=_zone,
        help="Time zone of service points the service point file gives none for (without it, "
        "such a service point is an error).",
    ),
]
TimestampsZoneOption = Annotated[
    str | None,
    typer.Option(
        "--timestamps-zone",
        callback=_zone,
        help="Zone of measurement timestamps without a UTC offset (naive local times); without "
        "it such a file is refused.",
    ),
]
WeatherOption = Annotated[
    Path | None,
    typer.Option(
        exists=True, dir_okay=False, help="Hourly temperature: station_id, start, temperature_f."
    ),
]
HolidaysOption = Annotated[
    str,
    typer.Option(
        help="Holidays (a baseline day type), comma separated: nerc (NERC's six), a country "
        "code with an optional subdivision (US, US-CA: that calendar), dates YYYY-MM-DD."
    ),
]
BatchOption = Annotated[int, typer.Option(help="Service points per batch.")]
OutlierFactorOption = Annotated[
    float | None,
    typer.Option(
        min=1.0,
        help="A reading above this × the service point's own percentile (--outlier-percentile) "
        "is an outlier, read as missing (default: DERLINK_ANALYTICS_OUTLIER_FACTOR, 10).",
    ),
]
OutlierPercentileOption = Annotated[
    float | None,
    typer.Option(
        min=1.0,
        max=100.0,
        help="The percentile of the outlier rule (default: "
        "DERLINK_ANALYTICS_OUTLIER_PERCENTILE, 95).",
    ),
]
WhMedianOption = Annotated[
    float | None,
    typer.Option(
        "--wh-median",
        min=1.0,
        help="A service point whose median reading is above this many kWh per hour is flagged "
        "as reading Wh (default: DERLINK_ANALYTICS_WH_MEDIAN_KWH_PER_HOUR, 100).",
    ),
]


OutcomesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--outcomes",
        exists=True,
        help="DERMS's outcome file (OUTCOME_*.csv), or a folder of them (repeatable): who took "
        "part in each event (StageId = EventId; every outcome but D1CN). Without it an event "
        "covers its program's service points.",
    ),
]


def _inputs(
    service_points: Path | None,
    outcomes: list[Path] | None,
    weather: Path | None,
    holidays: str,
    zones: tuple[str | None, str | None],
    rule: tuple[float | None, float | None, float | None],
) -> RunInputs:
    """A run's inputs from its options; the reading rule's defaults are the settings'."""
    import os

    from derlink.analytics.kernels.grid import ValueBounds
    from derlink.analytics.runs.population import RunInputs
    from derlink.analytics.settings import AnalyticsSettings

    settings = AnalyticsSettings.from_env(os.environ)
    factor, percentile, wh_median = rule
    bounds = ValueBounds(
        outlier_factor=settings.outlier_factor if factor is None else factor,
        outlier_percentile=settings.outlier_percentile if percentile is None else percentile,
        wh_median_kwh_per_hour=(
            settings.wh_median_kwh_per_hour if wh_median is None else wh_median
        ),
    )
    return RunInputs(service_points, tuple(outcomes or ()), weather, holidays, *zones, bounds)


MethodOption = Annotated[str, typer.Option(help=f"Baseline: {', '.join(METHOD_NAMES)}.")]


class _ProgressBar:
    """A run's progress (``runs.progress.Progress``) as a bar of the rows read."""

    def __init__(self, to_stderr: bool = False) -> None:
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TimeElapsedColumn(),
            console=err_console if to_stderr else console,
            transient=False,
        )
        self._task: TaskID | None = None

    def start(self) -> None:
        self._bar.start()

    def expect(self, label: str, total_rows: int | None) -> None:
        self._task = self._bar.add_task(label, total=total_rows)

    def advance(self, rows: int) -> None:
        if self._task is not None:
            self._bar.advance(self._task, rows)

    def stop(self) -> None:
        self._bar.stop()


@contextmanager
def _reported(usage_errors: tuple[type[ValueError], ...] = ()) -> Iterator[None]:
    """A run's errors as the CLI shows them: an unusable file as ``error:`` and exit 2; an
    unknown event or method, or another bad value (``usage_errors``), as a usage error."""
    from derlink.analytics.kernels.baselines.methods import UnknownMethod, UnknownParameter
    from derlink.analytics.runs.calendars import UnknownHolidays
    from derlink.analytics.runs.inputs import UnknownEvent
    from derlink.analytics.runs.population import MissingWeather

    usage: tuple[type[Exception], ...] = (
        UnknownEvent,
        UnknownMethod,
        UnknownParameter,
        UnknownHolidays,
        MissingWeather,
        *usage_errors,
    )
    try:
        yield
    except AnalyticsError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(code=2) from exc
    except usage as exc:
        raise typer.BadParameter(str(exc)) from exc


def _print_warnings(kinds: Sequence[WarningKind]) -> None:
    """Each kind of warning with the first service points (and rows or intervals) it names."""
    if not kinds:
        console.print("  no warnings")
    for kind in kinds:
        more = " …" if kind.service_points > len(kind.examples) else ""
        console.print(
            f"  {kind.severity} {kind.name}: {kind.description} — {kind.service_points} "
            f"service point(s): {'; '.join(kind.examples)}{more}",
            highlight=False,
        )


def _print_run_summary(summary: RunSummary) -> None:
    """A settlement's end in words: what it settled, what it could not, each kind of warning
    with the first service points it names (every one is in the warnings file)."""
    console.print(
        f"{summary.event_id} ({summary.method}): settled {summary.settled} of "
        f"{summary.participants} participating service point(s): "
        f"{summary.total_kwh_avoided:.4f} kWh avoided in all; "
        f"{summary.without_baseline} without a baseline, {summary.errors} of them in error",
        highlight=False,
    )
    _print_warnings(summary.warnings)


def _params(values: list[str] | None) -> dict[str, str]:
    """``--param KEY=VALUE`` options as a mapping (a usage error without ``=``)."""
    params = {}
    for value in values or []:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="--param")
        params[key.strip()] = text.strip()
    return params


ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        help="A method parameter KEY=VALUE (repeatable): lookback_days=30, "
        "selections.WEEKDAY.y=5, selections.WEEKDAY.x=5, adjustment.cap_up=0.3, "
        "min_training_hours=336 … (docs/analytics.md).",
    ),
]


@app.command("kwh-avoided")
def kwh_avoided(
    measurements: MeasurementsOption,
    events: Annotated[
        Path,
        typer.Option(
            exists=True, dir_okay=False, help="Events CSV: EventId, ProgramId, StartTime, …"
        ),
    ],
    event_id: Annotated[
        list[str], typer.Option(help="An event to settle (repeatable: one pass for all).")
    ],
    out_dir: Annotated[Path, typer.Option(help="Folder for the kWh avoided and kW drop files.")],
    method: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Baseline (repeatable; default caiso-10-in-10): {', '.join(METHOD_NAMES)}."
        ),
    ] = None,
    param: ParamOption = None,
    program_methods: Annotated[
        Path | None,
        typer.Option(
            exists=True, dir_okay=False, help="CSV ProgramId, Method: the baseline per program."
        ),
    ] = None,
    service_points: ServicePointsOption = None,
    outcomes: OutcomesOption = None,
    weather: WeatherOption = None,
    holidays: HolidaysOption = "",
    time_zone: TimeZoneOption = None,
    timestamps_zone: TimestampsZoneOption = None,
    outlier_factor: OutlierFactorOption = None,
    outlier_percentile: OutlierPercentileOption = None,
    wh_median: WhMedianOption = None,
    batch_size: BatchOption = 8192,
    as_json: JsonOption = False,
) -> None:
    """Settle events: kWh avoided and kW drop per service point, per event and method."""
    from derlink.analytics.runs.kwh_avoided import (
        Asked,
        compute_kwh_avoided,
        summarize,
        write_kwh_avoided,
    )

    asked = Asked(event_id, method or ["caiso-10-in-10"], program_methods, _params(param))
    with _reported():
        results = compute_kwh_avoided(
            measurements=measurements,
            events=events,
            asked=asked,
            inputs=_inputs(
                service_points,
                outcomes,
                weather,
                holidays,
                (time_zone, timestamps_zone),
                (outlier_factor, outlier_percentile, wh_median),
            ),
            batch_size=batch_size,
            progress=_ProgressBar(as_json),
        )
    answers = []
    for result in results:
        files = write_kwh_avoided(result, out_dir)
        summary = summarize(result)
        answers.append((files, summary))
        if not as_json:
            console.print(
                f"kWh avoided: {files.kwh_avoided}\nkW drop:     {files.kw_drop}\n"
                f"warnings:    {files.warnings}",
                highlight=False,
            )
            _print_run_summary(summary)
    if as_json:
        print_json(
            [{"files": {k: str(v) for k, v in asdict(f).items()}, **asdict(s)} for f, s in answers]
        )
    failed = [s for _, s in answers if not s.settled]
    if failed:
        _fail(
            "nothing settled for "
            + ", ".join(
                f"{s.event_id} ({s.method}, {s.participants} participant(s))" for s in failed
            )
            + ": no participant has a baseline (see the warnings)"
        )


def _fail(message: str) -> None:
    """A run that produced nothing: one line on standard error, exit 1."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


@app.command()
def baseline(
    measurements: MeasurementsOption,
    events: Annotated[
        Path,
        typer.Option(
            exists=True, dir_okay=False, help="Events CSV: EventId, EventType, ProgramId, …"
        ),
    ],
    event_id: Annotated[str, typer.Option(help="The event whose baseline to compute.")],
    out: Annotated[Path, typer.Option(help="Output CSV: SPId, IntervalStart, BaselineKwh, …")],
    method: MethodOption = "caiso-10-in-10",
    service_points: ServicePointsOption = None,
    outcomes: OutcomesOption = None,
    weather: WeatherOption = None,
    holidays: HolidaysOption = "",
    time_zone: TimeZoneOption = None,
    timestamps_zone: TimestampsZoneOption = None,
    outlier_factor: OutlierFactorOption = None,
    outlier_percentile: OutlierPercentileOption = None,
    wh_median: WhMedianOption = None,
    batch_size: BatchOption = 8192,
) -> None:
    """Baseline kWh per service point per event interval, beside the actual kWh."""
    from derlink.analytics.runs.baselines import compute_baselines, write_baselines
    from derlink.analytics.runs.kwh_avoided import summarize

    with _reported():
        result = compute_baselines(
            measurements=measurements,
            events=events,
            event_id=event_id,
            method=method,
            inputs=_inputs(
                service_points,
                outcomes,
                weather,
                holidays,
                (time_zone, timestamps_zone),
                (outlier_factor, outlier_percentile, wh_median),
            ),
            batch_size=batch_size,
            progress=_ProgressBar(),
        )
    rows = write_baselines(result, out)
    console.print(f"baselines: {out} ({rows} rows)")
    summary = summarize(result)
    _print_run_summary(summary)
    if not summary.settled:
        _fail(
            f"no baseline for any of the {summary.participants} service point(s) of "
            f"{summary.event_id}'s program (see the warnings)"
        )


@app.command()
def forecast(
    measurements: MeasurementsOption,
    program_id: Annotated[str, typer.Option(help="The program the window is for.")],
    start: Annotated[str, typer.Option(help="Window start, ISO with offset.")],
    end: Annotated[str, typer.Option(help="Window end, ISO with offset.")],
    out: Annotated[Path, typer.Option(help="Output forecast CSV.")],
    history: Annotated[
        list[Path] | None,
        typer.Option(exists=True, dir_okay=False, help="Past kWh avoided files (repeatable)."),
    ] = None,
    method: Annotated[str, typer.Option(help=f"Load prediction: {', '.join(METHOD_NAMES)}.")] = (
        "caiso-10-in-10"
    ),
    events: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Past events (excluded days).")
    ] = None,
    service_points: ServicePointsOption = None,
    outcomes: OutcomesOption = None,
    weather: WeatherOption = None,
    holidays: HolidaysOption = "",
    time_zone: TimeZoneOption = None,
    timestamps_zone: TimestampsZoneOption = None,
    outlier_factor: OutlierFactorOption = None,
    outlier_percentile: OutlierPercentileOption = None,
    wh_median: WhMedianOption = None,
    batch_size: BatchOption = 8192,
    as_json: JsonOption = False,
) -> None:
    """Expected kW reduction per service point for a coming event window, with P10–P90."""
    from derlink.analytics.runs.forecast import (
        compute_forecast,
        summarize_forecast,
        write_forecast,
    )

    # A window that ends before it starts, or a holiday or a time that is not ISO, is a usage
    # error as well.
    with _reported((ValueError,)):
        result = compute_forecast(
            measurements=measurements,
            program_id=program_id,
            start=parse_iso(start),
            end=parse_iso(end),
            history=history or [],
            method=method,
            events=events,
            inputs=_inputs(
                service_points,
                outcomes,
                weather,
                holidays,
                (time_zone, timestamps_zone),
                (outlier_factor, outlier_percentile, wh_median),
            ),
            batch_size=batch_size,
            progress=_ProgressBar(as_json),
        )
    write_forecast(result, out)
    summary = summarize_forecast(result)
    if as_json:
        print_json({"file": str(out), **asdict(summary)})
    else:
        console.print(f"forecast: {out}", highlight=False)
        console.print(
            f"forecast {summary.forecast} of {summary.service_points} service point(s) of "
            f"{summary.program_id}: {summary.expected_kw:.4f} kW expected in all; "
            f"{summary.without_forecast} without a forecast, {summary.errors} of them in error",
            highlight=False,
        )
        _print_warnings(summary.warnings)
    if not summary.forecast:
        _fail(
            f"nothing forecast: none of the {summary.service_points} service point(s) of "
            f"{summary.program_id} has an expected load (see the warnings)"
        )


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


def _analytics(home: Path | None, url: str | None) -> tuple[Api, str]:
    """The operator's client of the running derlink, and analytics' address in it."""
    api = api_for(home)
    return api, api.address("analytics", url)


@app.command("forecast-now")
def forecast_now(
    url: AnalyticsUrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the scheduled forecast now (LRF): every service point of an Active subscription, for
    the coming day, from the newest MEASUREMENTS_ file in analytics' object storage."""
    api, base = _analytics(home, url)
    run = api.call("POST", f"{base}/api/v1/forecast-runs")
    if as_json:
        print_json(run)
        return
    console.print(
        f"forecast {run['forecast']} of {run['servicePoints']} service point(s) of "
        f"{run['programs']} program(s) for {run['windowStart']} to {run['windowEnd']}",
        highlight=False,
    )
    if run["fileName"] is None:
        _fail(f"nothing forecast: {run['note']}")
    console.print(
        f"file: {run['fileName']} on analytics' content server (from {run['measurements']})",
        highlight=False,
    )


@app.command()
def intake(
    url: AnalyticsUrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Take the enrollment files waiting in analytics' object storage now (OUAI-ENR)."""
    _run_intake(home, url, as_json, "enrollment-files", "enrollment")


def _run_intake(home: Path | None, url: str | None, as_json: bool, route: str, kind: str) -> None:
    """Run one of analytics' intakes now (``POST /<route>/intake``) and show each file taken."""
    api, base = _analytics(home, url)
    result = api.call("POST", f"{base}/api/v1/{route}/intake")
    files = result["files"]
    if as_json:
        print_json(result)
        return
    if not files:
        console.print(f"no {kind} file was waiting: nothing taken")
        return
    columns = ["file", "state", "rows", "accepted", "rejected", "ack file", "renamed to", "note"]
    rows = [
        [f["name"], f["state"], str(f["rows"]), str(f["accepted"]), str(f["rejected"]),
         f["ackFile"] or "", f["renamedTo"] or "", f["error"] or ""]
        for f in files
    ]  # fmt: skip
    # The file names are what an operator looks for next: never cut, however narrow.
    print_table(columns, rows, ids=["file", "ack file", "renamed to"])
    console.print(f"{len(files)} {kind} file(s) taken")


# -- outcomes (EVT-OUTCOME-OUAI) ---------------------------------------------------------------

outcomes_app = typer.Typer(
    help="Event outcomes: what DERMS's outcome files said of each device called to a stage.",
    no_args_is_help=True,
)
app.add_typer(outcomes_app, name="outcomes")


@outcomes_app.command("intake")
def outcomes_intake(
    url: AnalyticsUrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Take the outcome files waiting in analytics' object storage now (EVT-OUTCOME-OUAI)."""
    _run_intake(home, url, as_json, "outcome-files", "outcome")


@outcomes_app.command("list")
def outcomes_list(
    stage: Annotated[str | None, typer.Option(help="A stage (the events file's EventId).")] = None,
    event: Annotated[str | None, typer.Option(help="A DERMS event.")] = None,
    sp: Annotated[str | None, typer.Option(help="A service point.")] = None,
    nic: Annotated[str | None, typer.Option(help="A device's NIC id.")] = None,
    outcome: Annotated[str | None, typer.Option(help="D1SP, D1ND, D1IO, D1ER or D1CN.")] = None,
    after: Annotated[
        int | None, typer.Option(help="Where the list before stopped (its 'more:' line).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=5000, help="At most this many.")] = 100,
    url: AnalyticsUrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """The devices' outcomes in stages, in the order analytics took them."""
    api, base = _analytics(home, url)
    given = {"stageId": stage, "eventId": event, "spId": sp, "nicId": nic, "outcome": outcome,
             "after": after, "limit": limit}  # fmt: skip
    page = api.call(
        "GET",
        f"{base}/api/v1/event-outcomes",
        params={k: v for k, v in given.items() if v is not None},
    )
    if as_json:
        print_json(page)
        return
    if not page["items"]:
        console.print("no outcomes")
        return
    columns = ["stage", "event", "head end", "NIC", "service point", "outcome", "kW", "error",
               "file"]  # fmt: skip
    rows = [
        [o["stageId"], o["eventId"], o["headEndSystem"], o["nicId"], o["spId"], o["outcome"],
         "" if o["measuredKw"] is None else f"{o['measuredKw']:g}", o["errorMessage"],
         o["sourceFile"]]
        for o in page["items"]
    ]  # fmt: skip
    print_table(columns, rows, ids=["stage", "event", "NIC", "service point", "file"])
    if page["next"] is not None:
        console.print(f"more: --after {page['next']}", highlight=False)


@outcomes_app.command("files")
def outcomes_files(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 100,
    url: AnalyticsUrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """The outcome files analytics took, newest first, with their counts and first refusals."""
    api, base = _analytics(home, url)
    files = api.call("GET", f"{base}/api/v1/outcome-files", params={"limit": limit})
    if as_json:
        print_json(files)
        return
    if not files:
        console.print("no outcome file taken")
        return
    rows = [
        [f["name"], f["state"], str(f["rows"]), str(f["accepted"]), str(f["rejected"]),
         f["ackFile"] or "", f["error"] or ""]
        for f in files
    ]  # fmt: skip
    columns = ["file", "state", "rows", "accepted", "rejected", "ack file", "note"]
    print_table(columns, rows, ids=["file", "ack file"])
    refusals = [
        [f["name"], str(r["rowNumber"]), r["recordId"], r["stageId"], r["nicId"], r["reasonCode"],
         r["reason"]]
        for f in files
        for r in f["refusals"]
    ]  # fmt: skip
    if refusals:
        print_table(
            ["file", "row", "record", "stage", "NIC", "code", "reason"],
            refusals,
            ids=["file", "stage", "NIC", "code"],
            title="first refusals",
        )
