"""Baselines: X-of-Y day matching (with the ISO/RTO presets) and the CalTRACK-hourly regression."""

from derlink.analytics.baselines.regression import HourlyModels, RegressionMethod, fit_hourly
from derlink.analytics.baselines.rules import (
    CAISO_10_IN_10,
    NYISO_5_OF_10,
    PJM_HIGH_4_OF_5,
    PRESETS,
    AdjustmentKind,
    DayOfAdjustment,
    DaySelection,
    Pick,
    XofYRule,
    preset,
)
from derlink.analytics.baselines.windows import PriorDays, prior_days
from derlink.analytics.baselines.xofy import XofYResult, xofy_baseline

__all__ = [
    "CAISO_10_IN_10",
    "NYISO_5_OF_10",
    "PJM_HIGH_4_OF_5",
    "PRESETS",
    "AdjustmentKind",
    "DayOfAdjustment",
    "DaySelection",
    "HourlyModels",
    "Pick",
    "PriorDays",
    "RegressionMethod",
    "XofYResult",
    "XofYRule",
    "fit_hourly",
    "preset",
    "prior_days",
    "xofy_baseline",
]
