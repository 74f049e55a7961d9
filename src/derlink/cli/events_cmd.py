"""``derlink derms strategy-types|strategies|events``: DERMS's strategies and events against a
running derlink.

Mounted under ``derlink derms`` (cli/derms_cmd.py). Each command calls DERMS's API
(docs/contracts/derms-events.md) with the credentials of a client of the data directory: the
operator's, and for ``approve``, ``deny`` the approver's (``--as``; ``approve --ba`` the
balance-authority approver's). Times are shown in the utility's zone (``DERLINK_TIME_ZONE``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from derlink.cli.client import (
    Api,
    CliError,
    HomeOption,
    JsonOption,
    print_json,
    print_table,
    settings_for,
)
from derlink.cli.client import local_time as _local

console = Console(soft_wrap=True)
types_app = typer.Typer(help="Strategy types: priority and balance-authority check.",
                        no_args_is_help=True)  # fmt: skip
strategies_app = typer.Typer(help="Strategies: the templates events come from.",
                             no_args_is_help=True)  # fmt: skip
events_app = typer.Typer(
    help="Events: create, submit, approve, deny, schedule, cancel; stages and audit trail.",
    no_args_is_help=True,
)

UrlOption = Annotated[
    str | None,
    typer.Option(
        help="DERMS's address (default: $DERLINK_DERMS_URL, else /derms of the running derlink)."
    ),
]
StrategyArg = Annotated[str, typer.Argument(help="The strategy's id.")]
AsOption = Annotated[
    str | None, typer.Option("--as", help="The client of the data directory to act as.")
]


def _api(home: Path | None, url: str | None, client: str = "operator") -> tuple[Api, str]:
    api = Api(settings_for(home), client_id=client)
    return api, api.address("derms", url) + "/api/v1"


def _zone(api: Api) -> ZoneInfo:
    return ZoneInfo(api.settings.time_zone)


def _answer(done: Any, as_json: bool, line: Callable[[Any], str]) -> None:
    """A command's answer: the API's JSON (``--json``), else one line about it."""
    if as_json:
        print_json(done)
    else:
        console.print(line(done), highlight=False)


# --- Strategy types --------------------------------------------------------------------------


@types_app.command("list")
def types_list(home: HomeOption = None, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Every strategy type."""
    api, base = _api(home, url)
    found = api.call("GET", f"{base}/strategy-types")
    if as_json:
        print_json(found)
        return
    rows = [[t["code"], t["name"], str(t["priority"]), "yes" if t["baChecked"] else "no"]
            for t in found]  # fmt: skip
    print_table(["code", "name", "priority", "BA checked"], rows, ids=["code"])


@types_app.command("put")
def types_put(
    code: Annotated[str, typer.Argument(help="The type's code (A-Z, 0-9, - and _).")],
    name: Annotated[str, typer.Option(help="Its name.")],
    priority: Annotated[int, typer.Option(help="0–1000: higher preempts lower.")],
    ba_checked: Annotated[
        bool, typer.Option("--ba-checked/--no-ba-checked", help="Balance-authority check.")
    ] = False,
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create or replace a strategy type."""
    api, base = _api(home, url)
    body = {"name": name, "priority": priority, "baChecked": ba_checked}
    done = api.call("PUT", f"{base}/strategy-types/{code}", json=body)
    _answer(done, as_json, lambda d: f"strategy type {d['code']}: priority {d['priority']}")


# --- Strategies ------------------------------------------------------------------------------


def _target(
    objective: str, max_demand_mw: float | None, mw_per_hour: float | None, pct: float | None
) -> dict[str, Any]:
    target: dict[str, Any] = {"objective": objective}
    for key, value in (("maxDemandMw", max_demand_mw), ("mwPerHour", mw_per_hour),
                       ("maxIncreasePct", pct)):  # fmt: skip
        if value is not None:
            target[key] = value
    return target


def _describe_target(t: dict[str, Any]) -> str:
    figures = [f"{k} {t[k]:g}" for k in ("maxDemandMw", "mwPerHour", "maxIncreasePct")
               if t.get(k) is not None]  # fmt: skip
    return str(t["objective"]) + (f" ({', '.join(figures)})" if figures else "")


@strategies_app.command("list")
def strategies_list(
    state: Annotated[str | None, typer.Option(help="Active or Archived.")] = None,
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every strategy."""
    api, base = _api(home, url)
    found = api.call("GET", f"{base}/strategies", params={"state": state} if state else None)
    if as_json:
        print_json(found)
        return
    rows = [
        [s["id"], s["name"], s["type"], s["controlZone"], ", ".join(s["programs"]),
         _describe_target(s["target"]), s["state"]]
        for s in found
    ]  # fmt: skip
    print_table(["id", "name", "type", "zone", "programs", "objective", "state"], rows,
                ids=["id", "zone"])  # fmt: skip


@strategies_app.command("create")
def strategies_create(
    name: Annotated[str, typer.Option(help="Its name.")],
    zone: Annotated[str, typer.Option(help="The control zone: a network node's id.")],
    program: Annotated[list[str], typer.Option(help="A program code (repeat for more).")],
    kind: Annotated[str, typer.Option("--type", help="A strategy type's code.")],
    objective: Annotated[
        str,
        typer.Option(help="MANUAL, MAX_DEMAND_THRESHOLD, LOAD_REDUCTION or MAXIMUM_REDUCTION."),
    ],
    max_demand_mw: Annotated[float | None, typer.Option(help="MAX_DEMAND_THRESHOLD's cap.")] = None,
    mw_per_hour: Annotated[float | None, typer.Option(help="LOAD_REDUCTION's MW.")] = None,
    max_increase_pct: Annotated[
        float | None, typer.Option(help="LOAD_REDUCTION's snap-back limit, % of its MW.")
    ] = None,
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
    override_rules: Annotated[bool, typer.Option(help="Set overridable rules aside.")] = False,
    per_feeder: Annotated[bool, typer.Option(help="Meet the need feeder by feeder.")] = False,
    firm: Annotated[bool, typer.Option(help="Plan on the low (P10) forecast.")] = False,
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Keep a new strategy."""
    api, base = _api(home, url)
    body = {
        "name": name,
        "description": description,
        "controlZone": zone,
        "programs": program,
        "type": kind,
        "target": _target(objective, max_demand_mw, mw_per_hour, max_increase_pct),
        "overrideRules": override_rules,
        "perFeeder": per_feeder,
        "firm": firm,
    }
    done = api.call("POST", f"{base}/strategies", json=body)
    _answer(done, as_json, lambda d: f"strategy {d['id']} ({d['name']}): {d['state']}")


@strategies_app.command("show")
def strategies_show(
    strategy_id: StrategyArg,
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """One strategy."""
    api, base = _api(home, url)
    s = api.call("GET", f"{base}/strategies/{strategy_id}")
    if as_json:
        print_json(s)
        return
    for label, value in (
        ("id", s["id"]), ("name", s["name"]), ("state", s["state"]), ("type", s["type"]),
        ("zone", s["controlZone"]), ("programs", ", ".join(s["programs"])),
        ("objective", _describe_target(s["target"])),
        ("flags", ", ".join(f for f in ("overrideRules", "perFeeder", "firm") if s[f]) or "-"),
    ):  # fmt: skip
        console.print(f"{label:10} {value}", highlight=False)


@strategies_app.command("archive")
def strategies_archive(
    strategy_id: StrategyArg,
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Archive a strategy: no new event may come from it."""
    api, base = _api(home, url)
    done = api.call("POST", f"{base}/strategies/{strategy_id}/archive")
    _answer(done, as_json, lambda d: f"strategy {d['id']}: {d['state']}")


# --- Events ----------------------------------------------------------------------------------


def _event_rows(items: list[dict[str, Any]], zone: ZoneInfo) -> list[list[str]]:
    return [
        [e["id"], e["state"], e["type"], _local(e["windowStart"], zone),
         _local(e["windowEnd"], zone), e["name"]]
        for e in items
    ]  # fmt: skip


@events_app.command("list")
def events_list(
    state: Annotated[str | None, typer.Option(help="An event state, e.g. Submitted.")] = None,
    strategy: Annotated[str | None, typer.Option(help="A strategy's id.")] = None,
    program: Annotated[str | None, typer.Option(help="A program's code.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 100,
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Events, the latest window first."""
    api, base = _api(home, url)
    params = {k: v for k, v in (("state", state), ("strategyId", strategy),
                                ("program", program)) if v}  # fmt: skip
    page = api.call("GET", f"{base}/events", params={**params, "limit": limit})
    if as_json:
        print_json(page)
        return
    print_table(["id", "state", "type", "window start", "window end", "name"],
                _event_rows(page["items"], _zone(api)), ids=["id"])  # fmt: skip
    if page["next"]:
        console.print(f"more: {page['next']}", highlight=False)


def _ba(e: dict[str, Any]) -> str:
    """The balance authority's part in the event, in words."""
    if not e["baChecked"]:
        return "its type is not checked"
    if e["state"] == "New":
        return "decided on submit"
    if not e["needsBaApproval"]:
        return "not needed"
    return f"needed: {e['baApprovedBy'] or 'awaited'}"


def _show(api: Api, e: dict[str, Any]) -> None:
    zone = _zone(api)
    for label, value in (
        ("id", e["id"]), ("name", e["name"]), ("state", e["state"]), ("type", e["type"]),
        ("strategy", e["strategyId"]), ("objective", _describe_target(e["target"])),
        ("window", f"{_local(e['windowStart'], zone)} to {_local(e['windowEnd'], zone)}"),
        ("priority", str(e["priority"])), ("peak", f"{e['peakExpectedMw']:.3f} MW expected"),
        ("approved", f"{e['approvedBy'] or '-'} {_local(e['approvedAt'], zone)}"),
        ("BA", _ba(e)),
        ("reason", e["reason"] or "-"),
    ):  # fmt: skip
        console.print(f"{label:10} {value}", highlight=False)
    rows = [
        [s["id"], str(s["seq"]), s["program"], s["state"], _local(s["start"], zone),
         _local(s["end"], zone), str(s["deviceCount"]), f"{max(s['p50Kw'], default=0):.1f}"]
        for s in e.get("stages", [])
    ]  # fmt: skip
    print_table(["stage", "seq", "program", "state", "start", "end", "devices", "peak kW"],
                rows, ids=["stage"])  # fmt: skip


@events_app.command("show")
def events_show(
    event_id: Annotated[str, typer.Argument(help="The event's id.")],
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """One event with its stages."""
    api, base = _api(home, url)
    e = api.call("GET", f"{base}/events/{event_id}")
    if as_json:
        print_json(e)
    else:
        _show(api, e)


@events_app.command("create")
def events_create(
    strategy: Annotated[str, typer.Option(help="The strategy's id.")],
    name: Annotated[str, typer.Option(help="Its name.")],
    kind: Annotated[
        str, typer.Option("--type", help="ECONOMIC, EMERGENCY, RELIABILITY or DEVICE_TEST.")
    ],
    start: Annotated[datetime, typer.Option(help="Window start, ISO 8601 with its offset.")],
    end: Annotated[datetime, typer.Option(help="Window end, ISO 8601 with its offset.")],
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """A New event from a strategy over a window."""
    if start.tzinfo is None or end.tzinfo is None:
        raise CliError("--start and --end need their offset (e.g. 2026-07-17T15:00-07:00)")
    api, base = _api(home, url)
    body = {"strategyId": strategy, "name": name, "type": kind,
            "start": start.isoformat(), "end": end.isoformat()}  # fmt: skip
    done = api.call("POST", f"{base}/events", json=body)
    _answer(done, as_json, lambda d: f"event {d['id']}: {d['state']}")


def _act(
    home: Path | None,
    url: str | None,
    client: str,
    event_id: str,
    action: str,
    as_json: bool,
    body: dict[str, Any] | None = None,
) -> None:
    api, base = _api(home, url, client)
    done = api.call("POST", f"{base}/events/{event_id}/{action}", json=body)

    def line(d: Any) -> str:
        event = d.get("event", d)
        preempted = d.get("preempted")
        return f"event {event['id']}: {event['state']}" + (
            f"; preempted {', '.join(preempted)}" if preempted else ""
        )

    _answer(done, as_json, line)


EventArg = Annotated[str, typer.Argument(help="The event's id.")]


def _window(text: str) -> dict[str, str]:
    """``PROGRAM,START,END`` (ISO 8601 with offsets) as a manual stage window."""
    parts = text.split(",")
    if len(parts) != 3:
        raise CliError(f"--window {text!r}: give PROGRAM,START,END")
    return {"program": parts[0], "start": parts[1], "end": parts[2]}


@events_app.command("generate")
def events_generate(
    event_id: EventArg,
    interval: Annotated[int, typer.Option(help="The planning interval, seconds.")] = 900,
    optimise: Annotated[bool, typer.Option(help="Plan with the optimiser (HiGHS).")] = False,
    zone_load_mw: Annotated[
        str, typer.Option(help="MAX_DEMAND_THRESHOLD: the zone's load, MW per interval, a,b,c.")
    ] = "",
    window: Annotated[
        list[str] | None, typer.Option(help="MANUAL: PROGRAM,START,END (repeat for more).")
    ] = None,
    target_mw: Annotated[float | None, typer.Option(help="MANUAL: stop at this many MW.")] = None,
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Generate a New event's stages from its strategy; say what each rule left out and any
    shortfall."""
    try:
        load = [float(v) for v in zone_load_mw.split(",") if v.strip()]
    except ValueError:
        raise CliError(f"--zone-load-mw {zone_load_mw!r}: give numbers, a,b,c") from None
    body: dict[str, Any] = {
        "intervalSeconds": interval,
        "optimise": optimise,
        "zoneLoadMw": load,
        "windows": [_window(w) for w in window or []],
    }
    if target_mw is not None:
        body["targetMw"] = target_mw
    api, base = _api(home, url)
    done = api.call("POST", f"{base}/events/{event_id}/generate", json=body)
    if as_json:
        print_json(done)
        return
    plan = done["plan"]
    _show(api, done["event"])
    console.print(
        f"{plan['planner']} plan: {plan['candidates']} candidate(s), "
        f"{plan['eligibleUnused']} eligible not needed, "
        f"{plan['defaultScoreDevices']} planned with the default score; "
        + (f"short by up to {plan['maxShortfallKw']:.1f} kW" if plan["maxShortfallKw"] else
           "the need is met"),
        highlight=False,
    )  # fmt: skip
    left = [[rule, str(n)] for rule, n in plan["exclusions"].items() if n]
    if left:
        print_table(["left out by", "devices"], left)
    for note in plan["notes"]:
        console.print(f"note {note['code']}: {note['detail']}", highlight=False)


ReasonOption = Annotated[str, typer.Option(help="Why (kept with the event).")]


@events_app.command("submit")
def events_submit(
    event_id: EventArg, home: HomeOption = None, url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """New → Submitted (the balance-authority check is made here)."""
    _act(home, url, "operator", event_id, "submit", as_json)


@events_app.command("approve")
def events_approve(
    event_id: EventArg,
    ba: Annotated[bool, typer.Option("--ba", help="The balance authority's approval.")] = False,
    as_client: AsOption = None,
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a Submitted event (scheduled once it has every approval it needs)."""
    client = as_client or ("ba-approver" if ba else "approver")
    _act(home, url, client, event_id, "ba-approve" if ba else "approve", as_json)


@events_app.command("deny")
def events_deny(
    event_id: EventArg,
    reason: ReasonOption,
    as_client: AsOption = None,
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submitted → Denied."""
    _act(home, url, as_client or "approver", event_id, "deny", as_json, {"reason": reason})


@events_app.command("schedule")
def events_schedule(
    event_id: EventArg, home: HomeOption = None, url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """Try again to schedule an Approved event a conflict held back."""
    _act(home, url, "operator", event_id, "schedule", as_json)


@events_app.command("cancel")
def events_cancel(
    event_id: EventArg,
    reason: ReasonOption,
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cancel an open event and its stages not yet ended."""
    _act(home, url, "operator", event_id, "cancel", as_json, {"reason": reason})


@events_app.command("audit")
def events_audit(
    event_id: EventArg, home: HomeOption = None, url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """The event's audit trail: every action with its actor."""
    api, base = _api(home, url)
    trail = api.call("GET", f"{base}/events/{event_id}/audit")
    if as_json:
        print_json(trail)
        return
    zone = _zone(api)
    rows = [[_local(a["at"], zone), a["actor"], a["action"], a["fromState"] or "-",
             a["toState"] or "-", a["stageId"] or "-", a["detail"]] for a in trail]  # fmt: skip
    print_table(["at", "actor", "action", "from", "to", "stage", "detail"], rows,
                ids=["stage"])  # fmt: skip


@events_app.command("transitions")
def events_transitions(
    event_id: EventArg, home: HomeOption = None, url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """Every transition of the event's stages in the order they were due, with where its
    message to cpm (EVT-STATUS) stands: Pending, Delivered, Failed, or - when cpm is not told."""
    api, base = _api(home, url)
    done = api.call("GET", f"{base}/events/{event_id}/transitions")
    if as_json:
        print_json(done)
        return
    zone = _zone(api)
    rows = [[t["stageId"], t["fromState"], t["toState"], _local(t["due"], zone),
             t["cpm"] or "-", t["cpmDetail"] or "-"] for t in done]  # fmt: skip
    print_table(["stage", "from", "to", "due", "cpm", "cpm detail"], rows,
                ids=["stage", "cpm detail"])  # fmt: skip


@events_app.command("resend")
def events_resend(
    event_id: EventArg, home: HomeOption = None, url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """Send cpm again the event's stage transitions it did not take (Failed), once the cause is
    fixed (a lookup value, the program in cpm)."""
    api, base = _api(home, url)
    done = api.call("POST", f"{base}/events/{event_id}/transitions/resend")
    _answer(done, as_json, lambda d: f"event {event_id}: {d['resent']} transition(s) sent again")


@events_app.command("reservations")
def events_reservations(
    stage_id: Annotated[str, typer.Argument(help="The stage's id.")],
    state: Annotated[
        str | None, typer.Option(help="Reserved, Dispatched, Closed or Released.")
    ] = None,
    after: Annotated[
        str | None, typer.Option(help="Where the list before stopped (its 'more:' line).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=5000, help="At most this many.")] = 1000,
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """A stage's reservations by head-end system and NIC id, with their state and, when
    released, why."""
    api, base = _api(home, url)
    params = {k: v for k, v in (("state", state), ("after", after)) if v}
    page = api.call("GET", f"{base}/stages/{stage_id}/reservations",
                    params={**params, "limit": limit})  # fmt: skip
    if as_json:
        print_json(page)
        return
    rows = [[r["headEndSystem"], r["nicId"], r["deviceId"], r["spId"], r["state"],
             r["reason"] or "-", r["outcome"] or "-", str(r["recordId"])]
            for r in page["items"]]  # fmt: skip
    print_table(["head-end", "NIC", "device", "service point", "state", "reason", "outcome",
                 "record"], rows, ids=["NIC", "device", "service point"])  # fmt: skip
    if page["next"]:
        console.print(f"more: --after '{page['next']}'", highlight=False)


@events_app.command("files")
def events_files(
    event_id: EventArg, home: HomeOption = None, url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """The event's reservation files (EVT-RESERVE): written, sent, and what cpm made of each."""
    api, base = _api(home, url)
    done = api.call("GET", f"{base}/events/{event_id}/reservation-files")
    if as_json:
        print_json(done)
        return
    zone = _zone(api)
    rows = [[f["stageId"], f["fileName"], str(f["rows"]), f["state"],
             _local(f["sentAt"], zone), f["detail"] or "-"] for f in done]  # fmt: skip
    print_table(["stage", "file", "rows", "state", "sent", "cpm's answer"], rows,
                ids=["stage", "file"])  # fmt: skip


@events_app.command("opt-outs")
def events_opt_outs(
    event_id: EventArg, home: HomeOption = None, url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:  # fmt: skip
    """The opt-outs cpm sent of the event's stages (OPT-OUT), and what each did to the device's
    reservation; the stage review's alerts and backfills are in `derms events audit`."""
    api, base = _api(home, url)
    done = api.call("GET", f"{base}/events/{event_id}/opt-outs")
    if as_json:
        print_json(done)
        return
    zone = _zone(api)
    rows = [[o["stageId"], o["headEndSystem"], o["nicId"], o["participationId"], o["channel"],
             _local(o["optedOutAt"], zone), o["effect"]] for o in done]  # fmt: skip
    print_table(["stage", "head-end system", "NIC", "participation", "channel", "opted out",
                 "effect"], rows, ids=["stage", "NIC", "participation"])  # fmt: skip


def unavailabilities(
    nic: Annotated[str | None, typer.Option("--nic", help="One device's NIC id.")] = None,
    head_end: Annotated[str | None, typer.Option("--head-end", help="Its head-end system.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 100,
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The customer unavailability periods DERMS holds (UNAVAIL), the latest start first, and
    how many reservations each released."""
    api, base = _api(home, url)
    params = {k: v for k, v in (("nicId", nic), ("headEndSystem", head_end)) if v}
    done = api.call("GET", f"{base}/unavailabilities", params={**params, "limit": limit})
    if as_json:
        print_json(done)
        return
    zone = _zone(api)
    rows = [[u["unavailabilityId"], u["headEndSystem"], u["nicId"], _local(u["start"], zone),
             _local(u["end"], zone), u["status"], str(u["version"]), str(u["released"]),
             u["reason"] or "-"] for u in done]  # fmt: skip
    print_table(["id", "head-end system", "NIC", "from", "to", "status", "version", "released",
                 "reason"], rows, ids=["id", "NIC"])  # fmt: skip


@events_app.command("outcome-files")
def events_outcome_files(
    event: Annotated[
        str | None, typer.Option("--event", help="Those carrying a stage of this event.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 100,
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """DERMS's outcome files (EVT-OUTCOME), the latest first: the stages each carries, and what
    cpm and analytics made of it."""
    api, base = _api(home, url)
    params: dict[str, Any] = {"limit": limit, **({"eventId": event} if event else {})}
    done = api.call("GET", f"{base}/outcome-files", params=params)
    if as_json:
        print_json(done)
        return
    zone = _zone(api)
    rows = [[f["fileName"], str(len(f["stageIds"])), str(f["rows"]), f["state"],
             _local(f["sentAt"], zone), f["detail"] or "-"] for f in done]  # fmt: skip
    print_table(["file", "stages", "rows", "state", "sent", "answer"], rows, ids=["file"])
