"""Schedules in words: the cron expressions the flows run on (``DERLINK_RECONCILE_CRON``,
``DERLINK_FILE_CRON``: six fields, seconds first, UTC) as an operator reads them.

The forms put in words: every N seconds, every minute or every N minutes, every hour or every N
hours at a minute, and daily (or on one weekday, or on weekdays) at a time; any field may be a
single number where the form allows it. Five fields are read as minute-first cron (seconds 0).
Anything else is not put in words: ``in_words`` answers None and the page shows the expression
itself, with a note on how to read it.
"""

from __future__ import annotations

import re

_STEP = re.compile(r"^\*/([1-9]\d*)$")
_NUMBER = re.compile(r"^\d{1,2}$")
DAYS = ("Sundays", "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays")


def in_words(cron: str) -> str | None:
    """``cron`` in words, e.g. ``0 */5 * * * *`` as "every 5 minutes"; None for a form this
    does not put in words."""
    fields = cron.split()
    if len(fields) == 5:
        fields = ["0", *fields]
    if len(fields) != 6:
        return None
    second, minute, hour, day, month, weekday = fields
    days = _days(weekday)
    if day != "*" or month != "*" or days is None:
        return None
    if _number(hour, 23) is not None and _number(minute, 59) is not None:
        at = f"{int(hour):02d}:{int(minute):02d}"
        seconds = _number(second, 59)
        if seconds is None:
            return None
        return f"{days or 'daily'} at {at}{f':{seconds:02d}' if seconds else ''} UTC"
    if days:
        return None
    return _repeating(second, minute, hour)


def _repeating(second: str, minute: str, hour: str) -> str | None:
    """Every N seconds, minutes or hours (the day, month and weekday being any)."""
    at_second = _number(second, 59)
    if minute == hour == "*":
        if second == "*":
            return "every second"
        if step := _step(second):
            return _every(step, "second")
        return None if at_second is None else _at_second("every minute", at_second)
    if at_second is None:
        return None
    if hour == "*" and (step := _step(minute)):
        return _at_second(_every(step, "minute"), at_second)
    at_minute = _number(minute, 59)
    if at_minute is None:
        return None
    if hour == "*":
        every = "every hour"
    elif step := _step(hour):
        every = _every(step, "hour")
    else:
        return None
    at = "on the hour" if at_minute == 0 else f"at minute {at_minute}"
    return _at_second(f"{every} {at}", at_second)


def _days(weekday: str) -> str | None:
    """ "" for any day, the day's name, "on weekdays" (1-5), or None for another form."""
    if weekday in ("*", "?"):
        return ""
    if weekday == "1-5":
        return "on weekdays"
    number = _number(weekday, 7)
    return None if number is None else f"on {DAYS[number % 7]}"


def _number(field: str, most: int) -> int | None:
    if not _NUMBER.match(field) or int(field) > most:
        return None
    return int(field)


def _step(field: str) -> int | None:
    match = _STEP.match(field)
    return int(match.group(1)) if match else None


def _every(step: int, unit: str) -> str:
    return f"every {unit}" if step == 1 else f"every {step} {unit}s"


def _at_second(words: str, second: int) -> str:
    return words if second == 0 else f"{words}, at second {second}"
