"""What the pages show, computed from plain values: trend charts, timelines, masked payloads.

No I/O here: the routes read, these functions shape what they read for the templates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from markupsafe import Markup, escape

from derlink.hub.model import InstanceStatus
from derlink.platform.logs import mask

#: Statuses that count as errors in the error-rate sparkline.
ERROR_STATUSES = frozenset(
    {InstanceStatus.FAULTED.value, InstanceStatus.COMPLETED_WITH_ERRORS.value}
)
#: Items of a list shown in a payload before the rest is summarised.
SHOWN_ITEMS = 20


def hour_buckets(now: datetime, hours: int = 24) -> list[str]:
    """The last ``hours`` UTC hours up to ``now``'s, oldest first, as ``YYYY-MM-DDTHH``."""
    top = now.replace(minute=0, second=0, microsecond=0)
    return [(top - timedelta(hours=h)).strftime("%Y-%m-%dT%H") for h in range(hours - 1, -1, -1)]


def flow_series(
    rows: Iterable[tuple[str, str, str, int]], buckets: Sequence[str]
) -> dict[str, dict[str, list[float]]]:
    """Per flow: instances per hour and the share of them in error, one value per bucket."""
    index = {b: i for i, b in enumerate(buckets)}
    totals: dict[str, list[float]] = {}
    errors: dict[str, list[float]] = {}
    for flow, hour, status, n in rows:
        i = index.get(hour)
        if i is None:
            continue
        totals.setdefault(flow, [0.0] * len(buckets))[i] += n
        errs = errors.setdefault(flow, [0.0] * len(buckets))
        if status in ERROR_STATUSES:
            errs[i] += n
    return {
        flow: {
            "throughput": total,
            "error_rate": [
                (e / t * 100.0) if t else 0.0 for e, t in zip(errors[flow], total, strict=True)
            ],
        }
        for flow, total in totals.items()
    }


def hour_labels(buckets: Sequence[str], zone: ZoneInfo) -> list[str]:
    """Each UTC hour bucket (``YYYY-MM-DDTHH``) as the hour it is in the utility's zone."""
    return [
        datetime.fromisoformat(f"{b}:00:00+00:00").astimezone(zone).strftime("%H:%M")
        for b in buckets
    ]


def nice_ceiling(peak: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``peak`` (at least 1)."""
    if peak <= 1:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(peak))
    return next(m * magnitude for m in (1.0, 2.0, 5.0, 10.0) if m * magnitude >= peak)


#: The trend chart's size and its plot area's margins (left and right hold the axes' labels).
CHART_W, CHART_H = 440, 180
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 44, 396, 34, 146
#: Every how many hours the time axis is labelled, back from the latest hour.
HOUR_TICKS = 6


def trend_chart(
    throughput: Sequence[float],
    error_rate: Sequence[float],
    hours: Sequence[str],
    *,
    label: str,
) -> Markup:
    """A chart of one flow's last hours (oldest first): instances per hour as bars on the left
    axis, the share of them in error as a line on the right axis (0-100 %), hours along the
    bottom, and a legend; labelled for screen readers."""
    top = nice_ceiling(max(throughput, default=0.0))
    slot = (PLOT_RIGHT - PLOT_LEFT) / max(len(throughput), 1)

    def y(value: float, ceiling: float) -> float:
        return PLOT_BOTTOM - min(value, ceiling) / ceiling * (PLOT_BOTTOM - PLOT_TOP)

    bars = Markup("").join(
        Markup(
            '<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}"/>'
        ).format(
            x=PLOT_LEFT + i * slot + 1, y=y(v, top), w=max(slot - 2, 1), h=PLOT_BOTTOM - y(v, top)
        )
        for i, v in enumerate(throughput)
        if v
    )
    line = " ".join(
        f"{PLOT_LEFT + (i + 0.5) * slot:.1f},{y(v, 100.0):.1f}" for i, v in enumerate(error_rate)
    )
    summary = (
        f"{label} instances per hour: last hour {_last(throughput):.0f}, "
        f"peak {max(throughput, default=0):.0f}; error rate: last hour {_last(error_rate):.0f}%, "
        f"peak {max(error_rate, default=0):.0f}%"
    )
    return Markup(
        '<svg class="trend" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{s}"><title>{s}</title>{legend}{axes}{bars}'
        '<polyline class="err" fill="none" stroke-width="2" points="{line}"/></svg>'
    ).format(
        w=CHART_W,
        h=CHART_H,
        s=summary,
        legend=_legend(),
        axes=_axes(top, hours, slot),
        bars=bars,
        line=line,
    )


def _last(values: Sequence[float]) -> float:
    return values[-1] if values else 0.0


def _legend() -> Markup:
    return Markup(
        '<g class="legend" font-size="11">'
        '<rect class="bar" x="{l}" y="6" width="12" height="10"/>'
        '<text x="{lt}" y="15">instances per hour (left)</text>'
        '<line class="err" x1="236" y1="11" x2="250" y2="11" stroke-width="2"/>'
        '<text x="254" y="15">error rate, % (right)</text></g>'
    ).format(l=PLOT_LEFT, lt=PLOT_LEFT + 16)


def _axes(top: float, hours: Sequence[str], slot: float) -> Markup:
    """Both value axes with three ticks each, and the time axis labelled every few hours back
    from the latest."""
    parts = [
        Markup(
            '<g class="axis" font-size="10"><line x1="{l}" y1="{t}" x2="{l}" y2="{b}"/>'
            '<line x1="{r}" y1="{t}" x2="{r}" y2="{b}"/><line x1="{l}" y1="{b}" x2="{r}" y2="{b}"/>'
        ).format(l=PLOT_LEFT, r=PLOT_RIGHT, t=PLOT_TOP, b=PLOT_BOTTOM)
    ]
    parts += _value_ticks(top, percent_right=True)
    parts += _time_ticks(hours, range(len(hours) - 1, -1, -HOUR_TICKS), slot)
    parts.append(
        Markup('<text x="{x}" y="{y}" text-anchor="middle">hour received</text></g>').format(
            x=(PLOT_LEFT + PLOT_RIGHT) // 2, y=CHART_H - 4
        )
    )
    return Markup("").join(parts)


def _value_ticks(top: float, *, percent_right: bool) -> list[Markup]:
    """Three ticks of the left axis (0 to ``top``) with their grid lines, and of the right
    axis (0-100 %) when ``percent_right``."""
    ticks = []
    for share in (0.0, 0.5, 1.0):
        at = PLOT_BOTTOM - share * (PLOT_BOTTOM - PLOT_TOP)
        right = (
            Markup('<text x="{rx}" y="{ty:.1f}">{v}%</text>').format(
                rx=PLOT_RIGHT + 4, ty=at + 3, v=f"{share * 100:g}"
            )
            if percent_right
            else Markup("")
        )
        ticks.append(
            Markup(
                '<line class="grid" x1="{l}" y1="{y:.1f}" x2="{r}" y2="{y:.1f}"/>'
                '<text x="{lx}" y="{ty:.1f}" text-anchor="end">{v}</text>{right}'
            ).format(
                l=PLOT_LEFT,
                r=PLOT_RIGHT,
                y=at,
                lx=PLOT_LEFT - 4,
                ty=at + 3,
                v=f"{share * top:g}",
                right=right,
            )
        )
    return ticks


def _time_ticks(labels: Sequence[str], shown: Iterable[int], slot: float) -> list[Markup]:
    """The time axis's ticks: the labels at the indexes ``shown``, each under its slot."""
    return [
        Markup(
            '<line x1="{x:.1f}" y1="{b}" x2="{x:.1f}" y2="{tb}"/>'
            '<text x="{x:.1f}" y="{ty}" text-anchor="middle">{label}</text>'
        ).format(
            x=PLOT_LEFT + (i + 0.5) * slot,
            b=PLOT_BOTTOM,
            tb=PLOT_BOTTOM + 4,
            ty=PLOT_BOTTOM + 16,
            label=labels[i],
        )
        for i in shown
    ]


def timeline(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The instance's events with their run and, for step attempts, the attempt number.

    A run starts at reception and again at each resubmit; within a run, a step tried again
    after a remote fault shows as attempt 2, 3, … (the retry policy at work).
    """
    run = 1
    attempts: dict[tuple[int, str], int] = {}
    out: list[dict[str, Any]] = []
    for event in events:
        outcome = str(event.get("outcome") or "")
        step = str(event.get("step") or "")
        if step == "resubmit" and outcome == "requested":
            run += 1
        attempt = None
        if outcome == "ok" or outcome.startswith("failed"):
            attempt = attempts.get((run, step), 0) + 1
            attempts[(run, step)] = attempt
        out.append(
            {**event, "run": run, "attempt": attempt, "retry": bool(attempt and attempt > 1)}
        )
    return out


def retries(events: Sequence[Mapping[str, Any]]) -> int:
    """How many step attempts were retries."""
    return sum(1 for e in events if e.get("retry"))


def pretty(value: Any) -> tuple[str, list[str]]:
    """Indented JSON with secrets masked, long lists cut to their first items.

    Returns the text and a note per list that was cut, so the page can say what it left out.
    """
    notes: list[str] = []
    shown = _cut(value, "", notes)
    text = orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode()
    return mask(text), notes


def _cut(value: Any, path: str, notes: list[str]) -> Any:
    if isinstance(value, list):
        if len(value) > SHOWN_ITEMS:
            notes.append(f"{path or 'the list'}: first {SHOWN_ITEMS} of {len(value)} shown")
        return [_cut(v, f"{path}[{i}]", notes) for i, v in enumerate(value[:SHOWN_ITEMS])]
    if isinstance(value, dict):
        return {k: _cut(v, f"{path}.{k}" if path else str(k), notes) for k, v in value.items()}
    return value


def moment(iso: str | None) -> datetime | None:
    """A stored ISO timestamp (``Z``, an offset, or none: UTC) as an aware datetime, or None."""
    if not iso:
        return None
    try:
        parsed = datetime.fromisoformat(str(iso))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def in_zone(iso: str, zone: ZoneInfo) -> str:
    """A stored ISO timestamp as text in the utility's zone, to the second, with the zone's
    abbreviation (for a message); the text itself when it is no timestamp."""
    at = moment(iso)
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z") if at else iso


#: A ``datetime-local`` field's value: a date and a time to the minute, or to the second.
_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")


def from_local(value: str, field: str, zone: ZoneInfo) -> datetime | None:
    """A ``datetime-local`` field read in the utility's zone (None when empty); a ValueError
    naming ``field`` when it is not a date and time."""
    value = value.strip()
    if not value:
        return None
    if not _LOCAL.match(value):
        raise ValueError(f"{field}: expected a date and time like 2026-07-01T18:00, not {value!r}")
    return datetime.fromisoformat(value).replace(tzinfo=zone)


def local_input(iso: str | None, zone: ZoneInfo) -> str:
    """A stored ISO timestamp as a ``datetime-local`` field's value in the utility's zone: to
    the minute, or to the second when it has seconds ("" when there is none)."""
    at = moment(iso)
    if at is None:
        return ""
    local = at.astimezone(zone)
    return local.strftime("%Y-%m-%dT%H:%M:%S" if local.second else "%Y-%m-%dT%H:%M")


def when(iso: str | None, zone: ZoneInfo) -> Markup:
    """A stored ISO timestamp in the utility's zone, with the zone's abbreviation, and the UTC
    time in its ``title`` (shown on hover); a dash when there is none."""
    at = moment(iso)
    if at is None:
        return escape(str(iso) if iso else "—")
    utc = at.astimezone(UTC)
    return Markup('<time datetime="{i}" title="{u}">{s}</time>').format(
        i=utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        u=utc.strftime("%Y-%m-%d %H:%M:%S UTC"),
        s=at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z"),
    )


def duration_ms(value: float | None) -> str:
    if value is None:
        return ""
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.0f} ms"


#: What one record of each flow's batches is, for the instances' business summary.
RECORD_NOUNS: Mapping[str, str] = {
    "ENR-REQ": "enrollment request",
    "ENR-SYNC": "enrollment sync",
    "ENR-ACK": "enrollment acknowledgement",
    "DEV-STATUS": "device status check",
    "DEV-STATUS-ACK": "device status answer",
    "RECONCILE": "reconciliation run",
    "OUAI-ENR": "enrollment file",
    "OUAI-ENR-ACK": "acknowledgement file",
}


def counted(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless one: "1,900 enrollment requests"."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def business_summary(row: Mapping[str, Any], keys: Sequence[tuple[str, str]]) -> str:
    """One line of what an instance carried and what became of it: its records (what they
    are), how many were delivered and refused, and the first of their identifiers."""
    records = int(row.get("records") or 0)
    parts = [counted(records, RECORD_NOUNS.get(str(row.get("flow")), "record"))]
    if row.get("succeeded") is not None:
        parts.append(f"{row['succeeded']:,} delivered, {row.get('failed') or 0:,} refused")
    if keys:
        more = records - len(keys)
        listed = ", ".join(value for _name, value in keys)
        parts.append(f"{keys[0][0]} {listed}" + (f" and {more:,} more" if more > 0 else ""))
    return " · ".join(parts)


#: How each record of an instance fared, by the instance's status, when no error names it.
RECORD_FATES: Mapping[str, str] = {
    InstanceStatus.COMPLETED.value: "delivered",
    InstanceStatus.COMPLETED_WITH_ERRORS.value: "delivered",
    InstanceStatus.FAULTED.value: "not delivered: the instance faulted",
    InstanceStatus.DISCARDED.value: "not delivered: discarded",
}


def instance_records(
    records: Sequence[Mapping[str, Any]],
    keys_of: Callable[[dict[str, Any]], list[tuple[str, str]]],
    status: str,
    errors: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Each record of an instance with its business identifiers, its outcome and its error (a
    target's refusal names the record by one of its identifiers)."""
    by_key = {str(e.get("key")): e for e in errors}
    rows = []
    for record in records:
        keys = keys_of(dict(record))
        error = next((by_key[v] for _n, v in keys if v in by_key), None)
        rows.append(
            {
                "keys": keys,
                "outcome": "refused" if error else RECORD_FATES.get(status, "not yet delivered"),
                "error": error,
            }
        )
    return rows


def unmatched_errors(
    records: Sequence[Mapping[str, Any]],
    keys_of: Callable[[dict[str, Any]], list[tuple[str, str]]],
    errors: Sequence[Mapping[str, Any]],
) -> list[Mapping[str, Any]]:
    """The errors that name no record of the batch (a reconciliation's differences, the rows
    of a file)."""
    named = {value for record in records for _name, value in keys_of(dict(record))}
    return [e for e in errors if str(e.get("key")) not in named]


#: Business identifiers that name a record in another part: (page, label) by key name.
RECORD_LINKS: Mapping[str, tuple[str, str]] = {
    "enrollmentId": ("records/subscriptions", "Enrollment in cpm and DERMS"),
    "subscriptionId": ("records/subscriptions", "Enrollment in cpm and DERMS"),
    "syncRequestId": ("records/sync-requests", "Sync request in cpm"),
    "eventId": ("records/events", "Event in DERMS"),
}


def record_links(keys: Iterable[Mapping[str, Any]], limit: int = 50) -> list[dict[str, str]]:
    """Links to the cpm and DERMS records an instance's business identifiers name."""
    seen: set[tuple[str, str]] = set()
    links: list[dict[str, str]] = []
    for key in keys:
        target = RECORD_LINKS.get(str(key.get("name")))
        value = str(key.get("value") or "")
        if target is None or not value or (target[0], value) in seen:
            continue
        seen.add((target[0], value))
        links.append(
            {"page": target[0], "value": value, "name": str(key["name"]), "what": target[1]}
        )
        if len(links) >= limit:
            break
    return links


def forecast_chart(
    starts: Sequence[str],
    p10: Sequence[float],
    p50: Sequence[float],
    p90: Sequence[float],
    *,
    target: Sequence[float] | None = None,
) -> Markup:
    """A forecast's intervals (``starts`` their labels, oldest first): the P10-P90 range as a
    band, the P50 as a line, kW on the left axis, the intervals along the bottom, a legend;
    with ``target`` (kW per interval), the objective as a dashed line; labelled for screen
    readers."""
    top = nice_ceiling(max([*p90, *p50, *p10, *(target or ())], default=0.0))
    slot = (PLOT_RIGHT - PLOT_LEFT) / max(len(p50), 1)

    def x(i: int) -> float:
        return PLOT_LEFT + (i + 0.5) * slot

    def y(value: float) -> float:
        return PLOT_BOTTOM - max(min(value, top), 0.0) / top * (PLOT_BOTTOM - PLOT_TOP)

    band = " ".join(
        [f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(p90)]
        + [f"{x(i):.1f},{y(v):.1f}" for i, v in reversed(list(enumerate(p10)))]
    )
    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(p50))
    summary = (
        f"Forecast kW reduction over {len(p50)} intervals: P50 peak {max(p50, default=0):g} kW, "
        f"P10 to P90 from {min(p10, default=0):g} to {max(p90, default=0):g} kW"
    )
    objective = Markup("")
    if target is not None:
        summary += f"; objective up to {max(target, default=0):g} kW"
        objective = Markup(
            '<polyline class="objective" fill="none" stroke-dasharray="6 4" stroke-width="2" '
            'points="{points}"/>'
        ).format(points=" ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(target)))
    parts = [
        Markup(
            '<g class="axis" font-size="10"><line x1="{l}" y1="{t}" x2="{l}" y2="{b}"/>'
            '<line x1="{l}" y1="{b}" x2="{r}" y2="{b}"/>'
        ).format(l=PLOT_LEFT, r=PLOT_RIGHT, t=PLOT_TOP, b=PLOT_BOTTOM)
    ]
    parts += _value_ticks(top, percent_right=False)
    parts += _time_ticks(starts, range(0, len(starts), max(1, math.ceil(len(starts) / 6))), slot)
    parts.append(
        Markup(
            '<text x="{cx}" y="{cy}" text-anchor="middle">interval start</text>'
            '<text x="10" y="{my}" transform="rotate(-90 10 {my})" text-anchor="middle">kW'
            "</text></g>"
        ).format(cx=(PLOT_LEFT + PLOT_RIGHT) // 2, cy=CHART_H - 4, my=(PLOT_TOP + PLOT_BOTTOM) // 2)
    )
    legend = Markup(
        '<g class="legend" font-size="11">'
        '<rect class="band" x="{l}" y="6" width="12" height="10"/>'
        '<text x="{lt}" y="15">P10–P90 kW</text>'
        '<line class="p50" x1="150" y1="11" x2="164" y2="11" stroke-width="2"/>'
        '<text x="168" y="15">P50 kW</text>{objective}</g>'
    ).format(
        l=PLOT_LEFT,
        lt=PLOT_LEFT + 16,
        objective=Markup(
            '<line class="objective" x1="230" y1="11" x2="244" y2="11" stroke-dasharray="4 2" '
            'stroke-width="2"/><text x="248" y="15">objective kW</text>'
        )
        if target is not None
        else Markup(""),
    )
    return Markup(
        '<svg class="trend forecast" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{s}"><title>{s}</title>{legend}{axes}'
        '<polygon class="band" points="{band}"/>'
        '<polyline class="p50" fill="none" stroke-width="2" points="{line}"/>{objective}</svg>'
    ).format(
        objective=objective,
        w=CHART_W,
        h=CHART_H,
        s=summary,
        legend=legend,
        axes=Markup("").join(parts),
        band=band,
        line=line,
    )
