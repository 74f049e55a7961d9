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
``caltrack-hourly``, with its parameters changed by ``params``:

- for an X-of-Y rule, paths into its ``XofYRule.to_dict()`` (case ignored):
  ``lookback_days``, ``low_usage_fraction``, ``selections.WEEKDAY.y`` (``.x``, ``.min``,
  ``.pick``; the day types the rule has), ``adjustment.kind``, ``adjustment.starts_before_s``,
  ``adjustment.ends_before_s``, ``adjustment.cap_up``, ``adjustment.cap_down``;
- for the regression, its numeric settings: ``lookback_days``, ``occupancy_threshold``,
  ``min_bin_hours``, ``min_training_hours``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol

from derlink.analytics.kernels.baselines.names import CALTRACK_HOURLY
from derlink.analytics.kernels.baselines.regression import RegressionMethod
from derlink.analytics.kernels.baselines.results import EventSavings, ExpectedLoad
from derlink.analytics.kernels.baselines.rules import PRESETS, XofYRule, preset
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


class UnknownParameter(ValueError):
    """A method parameter that the method does not have, or a value it cannot take."""


#: The regression's settings a run may change.
REGRESSION_PARAMETERS = (
    "lookback_days",
    "occupancy_threshold",
    "min_bin_hours",
    "min_training_hours",
)
#: The parts of a rule that are names, not parameters.
_NOT_PARAMETERS = frozenset({"name", "citation"})


def method_of(name: str, params: Mapping[str, str] | None = None) -> BaselineMethod:
    """The method a name stands for, its parameters changed by ``params``; ``UnknownMethod``
    names the methods it knows, ``UnknownParameter`` the parameter it cannot take."""
    if name == CALTRACK_HOURLY:
        return _regression_with(params or {})
    try:
        rule = preset(name)
    except ValueError:
        raise UnknownMethod(
            f"unknown baseline method {name!r}; the methods are {', '.join(METHODS)}"
        ) from None
    return XofYMethod(_rule_with(rule, params) if params else rule)


def _typed(current: Any, text: str, path: str) -> Any:
    """``text`` as a value of ``current``'s type (a number where the rule has none yet)."""
    try:
        if isinstance(current, bool):
            return text.strip().lower() in {"1", "true", "yes"}
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float) or current is None:
            return None if text.strip().lower() in {"", "none"} else float(text)
    except ValueError:
        raise UnknownParameter(f"parameter {path}: {text!r} is not a number") from None
    return text.strip()


def _rule_with(rule: XofYRule, params: Mapping[str, str]) -> XofYRule:
    data = rule.to_dict()
    for path, text in params.items():
        node: dict[str, Any] = data
        keys = path.split(".")
        for depth, key in enumerate(keys):
            found = next((k for k in node if k.lower() == key.lower()), None)
            last = depth == len(keys) - 1
            if found is None or (depth == 0 and found in _NOT_PARAMETERS):
                raise UnknownParameter(f"{rule.name} has no parameter {path!r}")
            if last and not isinstance(node[found], dict):
                node[found] = _typed(node[found], text, path)
            elif not last and isinstance(node[found], dict):
                node = node[found]
            else:
                raise UnknownParameter(f"{rule.name} has no parameter {path!r}")
    try:
        return XofYRule.from_dict(data)
    except (ValueError, KeyError) as exc:
        raise UnknownParameter(f"{rule.name}: {exc}") from None


def _regression_with(params: Mapping[str, str]) -> RegressionMethod:
    method = RegressionMethod()
    changes = {}
    for path, text in params.items():
        if path.lower() not in REGRESSION_PARAMETERS:
            raise UnknownParameter(
                f"{CALTRACK_HOURLY} has no parameter {path!r}; it has "
                f"{', '.join(REGRESSION_PARAMETERS)}"
            )
        changes[path.lower()] = _typed(getattr(method, path.lower()), text, path)
    return dataclasses.replace(method, **changes)
