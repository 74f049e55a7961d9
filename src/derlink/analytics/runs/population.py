"""What a run knows about the service points besides their measurements, from its options.

Every measurement run (kWh avoided, baselines, forecasts) takes the same optional inputs: the
service point file (time zone, program, weather station), DERMS's outcome files (who took part
in which event), the weather file, the holidays and the time zone of service points the file
does not list. ``read_population`` reads them, in that order, into the
``kernels.groups.Population`` the kernels take.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from derlink.analytics.kernels.baselines.names import CALTRACK_HOURLY
from derlink.analytics.kernels.events import Event, EventHistory, ServicePoints
from derlink.analytics.kernels.grid import ValueBounds
from derlink.analytics.kernels.groups import Population
from derlink.analytics.kernels.sufficiency import WarningLog
from derlink.analytics.measurements.weather import read_weather
from derlink.analytics.runs.calendars import holiday_dates, years_of
from derlink.analytics.runs.inputs import read_outcomes, read_service_points


@dataclass(frozen=True)
class RunInputs:
    """The optional inputs of a measurement run, as the CLI's options give them."""

    service_points: Path | None = None
    #: DERMS's outcome files, or folders of them (none: every event covers its program).
    outcomes: Sequence[Path] = ()
    weather: Path | None = None
    #: Holidays (a baseline day type): ``nerc``, country codes (``US-CA``) and ``YYYY-MM-DD``
    #: dates, comma separated (``calendars.holiday_dates``).
    holidays: str = ""
    #: The time zone of service points the service point file does not give one for (None:
    #: such a service point is an error row).
    time_zone: str | None = None
    #: The zone of measurement timestamps without an offset (None: such a file is refused).
    timestamps_zone: str | None = None
    #: What readings are believed (outliers, Wh-looking service points).
    bounds: ValueBounds = field(default_factory=ValueBounds)


class MissingWeather(ValueError):
    """A regression asked for without a weather file."""


def require_weather(inputs: RunInputs, methods: Sequence[str]) -> None:
    """Refuse a run of the regression without weather: it would settle nobody."""
    if CALTRACK_HOURLY in methods and inputs.weather is None:
        raise MissingWeather(
            f"{CALTRACK_HOURLY} needs the temperature: give --weather (station_id, start, "
            "temperature_f)"
        )


def read_population(
    inputs: RunInputs,
    events: Sequence[Event],
    window: Event | None = None,
    warnings: WarningLog | None = None,
) -> Population:
    """The run's population; ``events`` are the past events whose days baselines skip, and
    ``window`` a coming window the run is for (its year's holidays are wanted too). Weather
    rows that cannot be read go to ``warnings``."""
    points = (
        read_service_points(inputs.service_points, inputs.time_zone)
        if inputs.service_points
        else ServicePoints.empty(inputs.time_zone)
    )
    participation = read_outcomes(inputs.outcomes) if inputs.outcomes else None
    return Population(
        service_points=points,
        history=EventHistory.of(events, participation),
        holidays=holiday_dates(inputs.holidays, years_of([*events, *([window] if window else [])])),
        bounds=inputs.bounds,
        weather=read_weather(inputs.weather, inputs.timestamps_zone, warnings)
        if inputs.weather
        else None,
    )
