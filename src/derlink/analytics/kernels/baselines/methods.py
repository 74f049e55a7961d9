"""Baseline methods: one protocol for the X-of-Y rules and the CalTRACK-hourly regression, and
the names a program or an analyst chooses them by.

Whatever the method, kWh avoided (``kernels/kwh_avoided.py``) and forecasts
(``kernels/forecast.py``) call it the same way, for one group of service points at a time (one
time zone, one interval length):

- ``event_baseline``: for a past event, each service point's baseline beside its actual load
  over the event's intervals (``results.EventSavings``);
- ``expected_load``: for a coming window, each service point's expected load and its spread,
  in kW (``results.ExpectedLoad``).

A method that cannot give a baseline for a group answers None, and says why in the warnings.
``method_of`` turns a name into a method: a preset of ``rules.py`` (``caiso-10-in-10``, …) or
``caltrack-hourly``.
"""

from __future__ import annotations

from typing import Protocol

from derlink.analytics.kernels.baselines.names import CALTRACK_HOURLY
from derlink.analytics.kernels.baselines.regression import RegressionMethod
from derlink.analytics.kernels.baselines.results import EventSavings, ExpectedLoad
from derlink.analytics.kernels.baselines.rules import PRESETS, preset
from derlink.analytics.kernels.baselines.xofy import XofYMethod
from derlink.analytics.kernels.events import Event
from derlink.analytics.kernels.groups import Group, Population
from derlink.analytics.kernels.sufficiency import WarningLog

#: Every method by name: the presets, then the regression (the same as ``names.METHOD_NAMES``).
METHODS = [*sorted(PRESETS), CALTRACK_HOURLY]


class BaselineMethod(Protocol):
    """What kWh avoided and forecasts need of a baseline method, for one group at a time."""

    def event_baseline(
        self, group: Group, event: Event, population: Population, warnings: WarningLog
    ) -> EventSavings | None:
        """Each service point's baseline beside its actual load over ``event``'s intervals."""
        ...

    def expected_load(
        self, group: Group, window: Event, population: Population, warnings: WarningLog
    ) -> ExpectedLoad | None:
        """Each service point's expected load (mean and spread, kW) over a coming window."""
        ...


class UnknownMethod(ValueError):
    """A method name that is neither a preset nor the regression."""


def method_of(name: str) -> BaselineMethod:
    """The method a name stands for; ``UnknownMethod`` names the presets it knows."""
    if name == CALTRACK_HOURLY:
        return RegressionMethod()
    try:
        return XofYMethod(preset(name))
    except ValueError:
        raise UnknownMethod(
            f"unknown baseline method {name!r}; the methods are {', '.join(METHODS)}"
        ) from None
