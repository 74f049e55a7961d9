"""analytics' own settings, read from the environment with embedded defaults
(docs/configuration.md). The platform composes them with every other part's."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import ClassVar

from derlink.common.errors import ConfigurationError
from derlink.platform.settings import number

_WINDOW = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-(([01][0-9]|2[0-3]):([0-5][0-9])|24:00)$")


@dataclass(frozen=True)
class AnalyticsSettings:
    #: How often analytics looks for enrollment files in its object storage, in seconds (0:
    #: never; the API and the CLI still run it on demand).
    intake_interval_s: float = 5.0
    #: Who hears of an entry of the object storage the intake cannot take (a link, a folder, a
    #: name not allowed), set aside: the technical recipients.
    intake_notify_to: tuple[str, ...] = ("integration-ops@utility.example",)

    #: Readings are believed up to this factor × the service point's own
    #: ``outlier_percentile``-th percentile over a run's window; above it they are outliers,
    #: read as missing and reported.
    outlier_factor: float = 10.0
    outlier_percentile: float = 95.0
    #: A service point whose median reading is above this many kWh per hour is flagged as
    #: probably reading Wh (a median load of 100 kW: far above a home's or a small business's).
    wh_median_kwh_per_hour: float = 100.0

    #: The scheduled load-reduction forecast (LRF): seconds between runs, 0 for never (the API
    #: and the CLI still run it on demand).
    forecast_interval_s: float = 0.0
    #: The local hours of the coming day forecast, in the utility's zone (DERLINK_TIME_ZONE),
    #: ``HH:MM-HH:MM`` (``24:00``: midnight at its end).
    forecast_window: str = "00:00-24:00"
    #: The load prediction: a baseline method's name (checked when analytics starts).
    forecast_method: str = "caiso-10-in-10"

    def forecast_hours(self) -> tuple[time, time | None]:
        """The window's start and end (None: midnight at the end of the day)."""
        start, end = self.forecast_window.split("-")
        return time.fromisoformat(start), None if end == "24:00" else time.fromisoformat(end)

    #: The file stores analytics owns: its object storage (files in) and its content server
    #: (files out).
    stores: ClassVar[tuple[str, ...]] = ("analytics-storage", "analytics-content")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AnalyticsSettings:
        notify = env.get("DERLINK_INTAKE_NOTIFY_TO")
        percentile = number(env, "DERLINK_ANALYTICS_OUTLIER_PERCENTILE", cls.outlier_percentile)
        if percentile > 100:
            raise ConfigurationError(
                f"DERLINK_ANALYTICS_OUTLIER_PERCENTILE must be at most 100, not {percentile:g}"
            )
        window = env.get("DERLINK_FORECAST_WINDOW", cls.forecast_window)
        found = _WINDOW.match(window)
        if found is None or (found.group(3) != "24:00" and found.group(3) <= window[:5]):
            raise ConfigurationError(
                f"DERLINK_FORECAST_WINDOW must be HH:MM-HH:MM, its end after its start (24:00 "
                f"for midnight at the end of the day), not {window!r}"
            )
        return cls(
            intake_interval_s=number(env, "DERLINK_INTAKE_INTERVAL_S", cls.intake_interval_s),
            forecast_interval_s=number(
                env, "DERLINK_FORECAST_INTERVAL_S", cls.forecast_interval_s, at_least=0
            ),
            forecast_window=window,
            forecast_method=env.get("DERLINK_FORECAST_METHOD", cls.forecast_method),
            intake_notify_to=(
                tuple(a.strip() for a in notify.split(",") if a.strip())
                if notify
                else cls.intake_notify_to
            ),
            outlier_factor=number(
                env, "DERLINK_ANALYTICS_OUTLIER_FACTOR", cls.outlier_factor, at_least=1
            ),
            outlier_percentile=percentile,
            wh_median_kwh_per_hour=number(
                env, "DERLINK_ANALYTICS_WH_MEDIAN_KWH_PER_HOUR", cls.wh_median_kwh_per_hour
            ),
        )
