"""What the pages show, computed from plain values: sparklines, timelines, masked payloads.

No I/O here: the routes read, these functions shape what they read for the templates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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


def sparkline(
    values: Sequence[float], *, label: str, unit: str = "", ceiling: float | None = None
) -> Markup:
    """An inline SVG line of ``values`` (oldest first), labelled for screen readers."""
    width, height, pad = 120, 28, 2
    values = list(values) or [0.0]
    top = ceiling if ceiling is not None else max(max(values), 1.0)
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    points = " ".join(
        f"{pad + i * step:.1f},{height - pad - (min(v, top) / top) * (height - 2 * pad):.1f}"
        for i, v in enumerate(values)
    )
    latest, peak = values[-1], max(values)
    summary = f"{label}: last hour {latest:.0f}{unit}, peak {peak:.0f}{unit}"
    return Markup(
        '<svg class="spark" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
        'aria-label="{s}"><title>{s}</title><polyline fill="none" stroke="currentColor" '
        'stroke-width="1.5" points="{p}"/></svg>'
    ).format(w=width, h=height, s=escape(summary), p=points)


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


#: Business identifiers that name a record in another part: (page, label) by key name.
RECORD_LINKS: Mapping[str, tuple[str, str]] = {
    "enrollmentId": ("records/subscriptions", "Enrollment in cpm and DERMS"),
    "subscriptionId": ("records/subscriptions", "Enrollment in cpm and DERMS"),
    "syncRequestId": ("records/sync-requests", "Sync request in cpm"),
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
