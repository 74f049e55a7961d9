"""X-of-Y baseline rules, and the presets of published ISO/RTO rules.

A rule says, per day type, how many eligible like days to look at (Y, the most recent ones
within the lookback), how many of them to keep (X) and how (all, the highest by load over the
event window, or the middle ones), plus an optional day-of adjustment: additive or
multiplicative, from a window before the event start, with caps.

The presets implement the rules as the ISO/RTO documents publish them; the windows and caps are
parameters, so a program can follow a later revision of a rule without a code change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from derlink.analytics.kernels.localtime import DayType, DayTypeScheme


class Pick(StrEnum):
    ALL = "all"  # average every one of the Y days (X = Y)
    HIGHEST = "highest"  # the X days with the highest mean load over the event window
    MIDDLE = "middle"  # the X middle days by that load (drop the highest and the lowest)


class AdjustmentKind(StrEnum):
    NONE = "none"
    ADDITIVE = "additive"  # baseline + (actual − baseline) over the adjustment window
    MULTIPLICATIVE = "multiplicative"  # baseline × actual / baseline over the window


@dataclass(frozen=True)
class DaySelection:
    """Y like days, X of them kept by ``pick``; fewer than ``min_days`` → no baseline."""

    y_days: int
    x_days: int
    pick: Pick
    min_days: int

    def __post_init__(self) -> None:
        if not 1 <= self.min_days <= self.y_days or not 1 <= self.x_days <= self.y_days:
            raise ValueError("need 1 ≤ min_days ≤ Y and 1 ≤ X ≤ Y")


@dataclass(frozen=True)
class DayOfAdjustment:
    """The adjustment window is [event start − ``starts_before``, event start − ``ends_before``).

    Caps bound the adjustment: a multiplicative ratio stays within [1 − cap_down, 1 + cap_up];
    an additive shift within [−cap_down, +cap_up] × the baseline's mean over the window.
    """

    kind: AdjustmentKind = AdjustmentKind.NONE
    starts_before: timedelta = timedelta(hours=4)
    ends_before: timedelta = timedelta(hours=1)
    cap_up: float | None = None
    cap_down: float | None = None

    def __post_init__(self) -> None:
        if self.kind is not AdjustmentKind.NONE and self.starts_before <= self.ends_before:
            raise ValueError("the adjustment window must start before it ends")


@dataclass(frozen=True)
class XofYRule:
    name: str
    day_types: DayTypeScheme
    selections: Mapping[DayType, DaySelection]
    adjustment: DayOfAdjustment = field(default_factory=DayOfAdjustment)
    lookback_days: int = 45
    # Days whose mean event-window load is below this fraction of the candidates' average are
    # dropped and replaced by older ones (PJM and NYISO "low usage days").
    low_usage_fraction: float | None = None
    citation: str = ""

    def selection(self, day_type: DayType) -> DaySelection:
        return self.selections[day_type]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "day_types": self.day_types.value,
            "selections": {
                t.name: {"y": s.y_days, "x": s.x_days, "pick": s.pick.value, "min": s.min_days}
                for t, s in self.selections.items()
            },
            "adjustment": {
                "kind": self.adjustment.kind.value,
                "starts_before_s": self.adjustment.starts_before.total_seconds(),
                "ends_before_s": self.adjustment.ends_before.total_seconds(),
                "cap_up": self.adjustment.cap_up,
                "cap_down": self.adjustment.cap_down,
            },
            "lookback_days": self.lookback_days,
            "low_usage_fraction": self.low_usage_fraction,
            "citation": self.citation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> XofYRule:
        adjustment = data.get("adjustment", {})
        return cls(
            name=str(data["name"]),
            day_types=DayTypeScheme(data["day_types"]),
            selections={
                DayType[key]: DaySelection(int(v["y"]), int(v["x"]), Pick(v["pick"]), int(v["min"]))
                for key, v in data["selections"].items()
            },
            adjustment=DayOfAdjustment(
                kind=AdjustmentKind(adjustment.get("kind", "none")),
                starts_before=timedelta(seconds=float(adjustment.get("starts_before_s", 14400))),
                ends_before=timedelta(seconds=float(adjustment.get("ends_before_s", 3600))),
                cap_up=adjustment.get("cap_up"),
                cap_down=adjustment.get("cap_down"),
            ),
            lookback_days=int(data.get("lookback_days", 45)),
            low_usage_fraction=data.get("low_usage_fraction"),
            citation=str(data.get("citation", "")),
        )


# CAISO, Business Practice Manual for Metering, "Customer Load Baseline Methodology" for Proxy
# Demand Resources: the 10-in-10 non-event-day selection with a load point adjustment.
# Weekdays: the 10 most recent non-event weekdays within the 45 days before the event, all 10
# averaged, at least 5 needed; weekends and holidays: 4 of 4, at least 2. The day-of ("load
# point") adjustment is multiplicative, from the three hours that end one hour before the event
# starts, and is limited to ±20 %.
CAISO_10_IN_10 = XofYRule(
    name="caiso-10-in-10",
    day_types=DayTypeScheme.WEEKDAY_WEEKEND,
    selections={
        DayType.WEEKDAY: DaySelection(y_days=10, x_days=10, pick=Pick.ALL, min_days=5),
        DayType.WEEKEND_OR_HOLIDAY: DaySelection(y_days=4, x_days=4, pick=Pick.ALL, min_days=2),
    },
    adjustment=DayOfAdjustment(
        kind=AdjustmentKind.MULTIPLICATIVE,
        starts_before=timedelta(hours=4),
        ends_before=timedelta(hours=1),
        cap_up=0.20,
        cap_down=0.20,
    ),
    lookback_days=45,
    citation="CAISO BPM for Metering, Customer Load Baseline: 10-in-10 with load point "
    "adjustment (±20 %)",
)

# PJM Manual 11 (Energy & Ancillary Services Market Operations), section 10, Economic Load
# Response, Customer Baseline Load: weekday CBL = the highest 4 of the 5 most recent eligible
# weekdays (by average event-period usage) within 45 days, excluding event days, NERC holidays
# and low-usage days (below 25 % of the average event-period usage of the basis days); Saturday
# and Sunday/holiday CBLs = the highest 2 of the 3 most recent like days. The Symmetric Additive
# Adjustment adds the difference between actual and CBL usage over the three hours that end one
# hour before the event starts.
PJM_HIGH_4_OF_5 = XofYRule(
    name="pjm-high-4-of-5",
    day_types=DayTypeScheme.WEEKDAY_SATURDAY_SUNDAY,
    selections={
        DayType.WEEKDAY: DaySelection(y_days=5, x_days=4, pick=Pick.HIGHEST, min_days=1),
        DayType.SATURDAY: DaySelection(y_days=3, x_days=2, pick=Pick.HIGHEST, min_days=1),
        DayType.SUNDAY_OR_HOLIDAY: DaySelection(y_days=3, x_days=2, pick=Pick.HIGHEST, min_days=1),
    },
    adjustment=DayOfAdjustment(
        kind=AdjustmentKind.ADDITIVE,
        starts_before=timedelta(hours=4),
        ends_before=timedelta(hours=1),
    ),
    lookback_days=45,
    low_usage_fraction=0.25,
    citation="PJM Manual 11 §10 Customer Baseline Load: High 4 of 5 with Symmetric Additive "
    "Adjustment",
)

# NYISO Emergency Demand Response Program Manual and Installed Capacity Manual (Special Case
# Resources), Customer Baseline Load: weekday CBL = the average of the highest 5 of the 10 most
# recent like weekdays (by average event-period usage), excluding event days and low-usage days
# (below 25 % of the window's average); weekend CBL = the highest 2 of the 3 most recent like
# days. The weather-sensitive in-day adjustment is multiplicative, from the two hours that start
# four hours before the event, and is bounded to 0.8 … 1.2.
NYISO_5_OF_10 = XofYRule(
    name="nyiso-5-of-10",
    day_types=DayTypeScheme.WEEKDAY_SATURDAY_SUNDAY,
    selections={
        DayType.WEEKDAY: DaySelection(y_days=10, x_days=5, pick=Pick.HIGHEST, min_days=5),
        DayType.SATURDAY: DaySelection(y_days=3, x_days=2, pick=Pick.HIGHEST, min_days=2),
        DayType.SUNDAY_OR_HOLIDAY: DaySelection(y_days=3, x_days=2, pick=Pick.HIGHEST, min_days=2),
    },
    adjustment=DayOfAdjustment(
        kind=AdjustmentKind.MULTIPLICATIVE,
        starts_before=timedelta(hours=4),
        ends_before=timedelta(hours=2),
        cap_up=0.20,
        cap_down=0.20,
    ),
    lookback_days=30,
    low_usage_fraction=0.25,
    citation="NYISO EDRP/SCR Customer Baseline Load: highest 5 of 10 with in-day adjustment "
    "(0.8–1.2)",
)

PRESETS: Mapping[str, XofYRule] = {
    rule.name: rule for rule in (CAISO_10_IN_10, PJM_HIGH_4_OF_5, NYISO_5_OF_10)
}


def preset(name: str) -> XofYRule:
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ValueError(f"unknown baseline preset {name!r} (known: {known})") from None
