"""Holiday calendars for the baseline day types, as a run's ``--holidays`` names them.

A specification is a comma separated list of any of:

- ``nerc``: the six NERC holidays (New Year's Day, Memorial Day, Independence Day, Labor Day,
  Thanksgiving Day, Christmas Day). The ``holidays`` package has no NERC calendar, so they are
  taken from its United States calendar (dates not moved) with NERC's observance rule: a holiday
  on a Sunday is observed on the Monday after it; one on a Saturday is not moved;
- a country code, optionally with a subdivision (``US``, ``US-CA``, ``CA-ON``): that calendar of
  the ``holidays`` package, with its own observance rules (the utility's calendar);
- a date ``YYYY-MM-DD``.

Calendars are expanded for the years a run looks at (the events' years and the year before,
for the lookback).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

import holidays as holiday_calendars

from derlink.analytics.kernels.events import Event

NERC = "nerc"
#: The NERC holidays, as the ``holidays`` package's United States calendar names them.
NERC_HOLIDAYS = (
    "New Year's Day",
    "Memorial Day",
    "Independence Day",
    "Labor Day",
    "Thanksgiving Day",
    "Christmas Day",
)
SUNDAY = 6
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_REGION = re.compile(r"^([A-Za-z]{2,3})(?:-([A-Za-z0-9]{1,5}))?$")


class UnknownHolidays(ValueError):
    """A holiday specification naming no calendar the run knows."""


def nerc_holidays(years: Iterable[int]) -> frozenset[date]:
    """NERC's six holidays in ``years``: Sunday ones observed on Monday, Saturday ones kept."""
    us = holiday_calendars.country_holidays(
        "US", years=sorted(years), observed=False, language="en_US"
    )
    days = set()
    for day, names in us.items():
        if any(name in NERC_HOLIDAYS for name in names.split("; ")):
            days.add(day + timedelta(days=1) if day.weekday() == SUNDAY else day)
    return frozenset(days)


def _region_holidays(code: str, years: Sequence[int]) -> frozenset[date]:
    match = _REGION.match(code)
    if match is None:
        raise UnknownHolidays(_unknown(code))
    country, subdivision = match.group(1).upper(), match.group(2)
    try:
        calendar = holiday_calendars.country_holidays(
            country, subdiv=subdivision.upper() if subdivision else None, years=years
        )
    except NotImplementedError:
        raise UnknownHolidays(_unknown(code)) from None
    return frozenset(calendar)


def _unknown(token: str) -> str:
    return (
        f"unknown holidays {token!r}: give nerc, a country code with an optional subdivision "
        "(US, US-CA) or dates YYYY-MM-DD, comma separated"
    )


def holiday_dates(spec: str, years: Iterable[int]) -> frozenset[date]:
    """The holidays a specification names, over ``years``; ``UnknownHolidays`` otherwise."""
    wanted = sorted(set(years))
    found: set[date] = set()
    for token in (t.strip() for t in spec.split(",")):
        if not token:
            continue
        if token.lower() == NERC:
            found |= nerc_holidays(wanted)
        elif _DATE.match(token):
            try:
                found.add(date.fromisoformat(token))
            except ValueError:
                raise UnknownHolidays(f"{token!r} is not a date") from None
        else:
            found |= _region_holidays(token, wanted)
    return frozenset(found)


def years_of(events: Iterable[Event]) -> list[int]:
    """The years a run's baselines may look at: each event's year and the year before it."""
    years = set()
    for event in events:
        years |= {event.start.year - 1, event.start.year, event.end.year}
    return sorted(years)
