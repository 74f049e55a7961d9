"""``derlink cpm``: cpm's operator commands against a running derlink.

Mounted by the main CLI as ``app.add_typer(cpm_cmd.app, name="cpm")``. Commands call cpm's API
with the operator's credentials from the data directory, as the other commands do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from derlink.cli.client import (
    Api,
    CliError,
    HomeOption,
    JsonOption,
    api_for,
    local_time,
    print_json,
    print_table,
)

HELP = (
    "cpm: the enrollment extract; programs, rules and aggregators; device scores; program "
    "events, their participations and opt-outs; devices' unavailability periods."
)
app = typer.Typer(help=HELP, no_args_is_help=True)
program_events = typer.Typer(
    help="Program events: cpm's copy of each DERMS event stage (EVT-STATUS), with its history "
    "and its devices' participations (EVT-RESERVE).",
    no_args_is_help=True,
)
app.add_typer(program_events, name="program-events")
unavailability = typer.Typer(
    help="Customer unavailability: a device's periods of unavailability, each change a new "
    "version sent to DERMS (UNAVAIL).",
    no_args_is_help=True,
)
app.add_typer(unavailability, name="unavailability")
console = Console(soft_wrap=True)

CpmUrlOption = Annotated[
    str | None,
    typer.Option(
        help="cpm's address (default: $DERLINK_CPM_URL, else /cpm of the running derlink)."
    ),
]


@app.callback()
def _group() -> None:
    """cpm: the enrollment extract; programs, rules and aggregators; device scores; program
    events, their participations and opt-outs; devices' unavailability periods."""


def _cpm(home: Path | None, url: str | None) -> tuple[Api, str]:
    api = api_for(home)
    return api, api.address("cpm", url)


def _derms_sync(sync: dict[str, Any]) -> str:
    """What DERMS holds, in words: "Synchronized (version 3)", "Pending (version 4, DERMS has
    3)", "Error (version 2): <why>"."""
    state, version, held = sync["state"], sync["version"], sync["dermsVersion"]
    if state == "None":
        return "not sent (not Active)"
    words = f"{state} (version {version}"
    words += f", DERMS has {held})" if held != version else ")"
    return f"{words}: {sync['detail']}" if sync["detail"] else words


@app.command()
def programs(
    home: HomeOption = None, url: CpmUrlOption = None, as_json: JsonOption = False
) -> None:
    """Programs, and whether DERMS holds their latest rules (PROG-RULE)."""
    columns = ["program", "status", "external id", "DERMS"]
    _list(home, url, "/programs", as_json, "no programs", columns, _program_row)


def _program_row(p: dict[str, Any]) -> list[str]:
    return [p["programCode"], p["status"], p["externalId"] or "-", _derms_sync(p["dermsSync"])]


@app.command()
def rules(
    program: Annotated[str, typer.Argument(help="The program's code.")],
    home: HomeOption = None,
    url: CpmUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """The rules linked to a program."""
    api, base = _cpm(home, url)
    found: list[dict[str, Any]] = api.call("GET", f"{base}/api/v1/programs/{program}/rules")
    if as_json:
        print_json(found)
        return
    if not found:
        console.print(f"program {program} has no rules")
        return
    for r in found:
        console.print(f"rule {r['ruleId']}", highlight=False)
        console.print(_rule_words(r), highlight=False)


def _rule_words(r: dict[str, Any]) -> str:
    """A rule's terms, as lines an operator reads at any width."""
    return "\n".join(
        [
            f"  effective {r['effectiveFrom']} to {r['effectiveTo'] or 'open-ended'}",
            f"  days {', '.join(r['allowEventDays'])}; window {r['windowStart']}-{r['windowEnd']}",
            f"  duration {r['minEventDurationMin']}-{r['maxEventDurationMin']} min;"
            f" {r['maxEventsPerCycle']} events per {r['cycleFrequency']}",
            f"  overrides {r['maxOverridesPerCycle']} per cycle, opt-out cut-off"
            f" {r['optOutCutoffMin']} min; rest {r['minRestMin']} min;"
            f" overridable {'yes' if r['overridable'] else 'no'}",
        ]
    )


@app.command()
def aggregators(
    home: HomeOption = None, url: CpmUrlOption = None, as_json: JsonOption = False
) -> None:
    """Aggregators, and whether DERMS holds their latest version (AGGREGATOR)."""
    columns = ["aggregator", "status", "programs", "DERMS"]
    _list(home, url, "/aggregators", as_json, "no aggregators", columns, _aggregator_row)


def _aggregator_row(a: dict[str, Any]) -> list[str]:
    programs = ", ".join(a["programs"]) or "-"
    return [a["code"], a["status"], programs, _derms_sync(a["dermsSync"])]


@app.command("send-again")
def send_again(
    code: Annotated[str, typer.Argument(help="The program's or the aggregator's code.")],
    aggregator: Annotated[
        bool, typer.Option("--aggregator", help="CODE is an aggregator's (default: a program's).")
    ] = False,
    home: HomeOption = None,
    url: CpmUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send a program's rules (or an aggregator) to DERMS again, as the next version: after a
    refusal whose cause was fixed elsewhere, such as a lookup value."""
    api, base = _cpm(home, url)
    path = f"/aggregators/{code}/send" if aggregator else f"/programs/{code}/send-rules"
    sync: dict[str, Any] = api.call("POST", f"{base}/api/v1{path}")
    if as_json:
        print_json(sync)
    else:
        console.print(f"{code}: {_derms_sync(sync)}")


def _list(
    home: Path | None,
    url: str | None,
    path: str,
    as_json: bool,
    empty: str,
    columns: list[str],
    row: Callable[[dict[str, Any]], list[str]],
) -> None:
    """A list of cpm's as JSON, or as a table whose first column (the id) is never cut, or the
    words ``empty`` when there is nothing."""
    api, base = _cpm(home, url)
    found: list[dict[str, Any]] = api.call("GET", f"{base}/api/v1{path}")
    if as_json:
        print_json(found)
    elif not found:
        console.print(empty)
    else:
        print_table(columns, [row(f) for f in found], ids=[columns[0]])


@app.command()
def extract(
    initial: Annotated[
        bool,
        typer.Option(
            "--initial",
            help="Every Active subscription (default: incremental, what changed since the last).",
        ),
    ] = False,
    url: CpmUrlOption = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run an enrollment extract (OUAI-ENR) now: a file on cpm's content server."""
    api, base = _cpm(home, url)
    kind = "INITIAL" if initial else "INCREMENTAL"
    view: dict[str, Any] = api.call(
        "POST", f"{base}/api/v1/enrollment-extracts", json={"kind": kind}
    )
    if as_json:
        print_json(view)
    else:
        console.print(_summary(view))
    if view["state"] != "Completed":
        raise typer.Exit(1)


def _summary(view: dict[str, Any]) -> str:
    head = f"extract {view['extractId']} ({view['kind']}): {view['state']}"
    if view["state"] == "Failed":
        return f"{head}: {view['error']}"
    if not view["rows"]:
        return f"{head}, no rows, no file"
    return f"{head}, {view['rows']} row(s) in {view['fileName']}"


@app.command()
def scores(home: HomeOption = None, url: CpmUrlOption = None, as_json: JsonOption = False) -> None:
    """Run the device scores now (DEV-SCORE): take in the participation-history files waiting
    on cpm's content server, score every device of an Active subscription and write the SDCSE
    file for the hub to take to DERMS."""
    api, base = _cpm(home, url)
    run: dict[str, Any] = api.call("POST", f"{base}/api/v1/score-runs")
    if as_json:
        print_json(run)
    elif run["state"] == "Failed":
        raise CliError(f"score run {run['runId']} failed: {run['error']}")
    else:
        console.print(
            f"score run {run['runId']}: {run['rows']} device(s) scored, {run['unscored']} of an "
            f"Active subscription without participation history, {run['historyFiles']} history "
            "file(s) taken",
            highlight=False,
        )
        if run["fileName"]:
            console.print(f"file: {run['fileName']} on cpm's content server", highlight=False)
        else:
            raise CliError("nothing scored: no device of an Active subscription has history")


# -- program events ---------------------------------------------------------------------------


@program_events.command("list")
def program_events_list(
    program: Annotated[str | None, typer.Option(help="A cpm program's code.")] = None,
    event: Annotated[
        str | None, typer.Option(help="A DERMS event's id (eventExternalIdentifier).")
    ] = None,
    stage: Annotated[
        str | None, typer.Option(help="A DERMS stage's id (externalIdentifier).")
    ] = None,
    state: Annotated[
        str | None,
        typer.Option(help="Pending, Scheduled, 'In Progress', Complete or Canceled."),
    ] = None,
    program_event_id: Annotated[
        str | None, typer.Option("--id", help="cpm's id of the program event.")
    ] = None,
    after: Annotated[
        str | None, typer.Option(help="Where the list before stopped (its 'more:' line).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many.")] = 50,
    home: HomeOption = None,
    url: CpmUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Program events, the latest start first."""
    api, base = _cpm(home, url)
    params = {
        k: v
        for k, v in (
            ("program", program), ("eventExternalIdentifier", event),
            ("externalIdentifier", stage), ("state", state), ("id", program_event_id),
            ("after", after),
        )
        if v
    }  # fmt: skip
    page: dict[str, Any] = api.call(
        "GET", f"{base}/api/v1/program-events", params={**params, "limit": limit}
    )
    if as_json:
        print_json(page)
        return
    if not page["items"]:
        console.print("no program events")
        return
    zone = ZoneInfo(api.settings.time_zone)
    columns = ["id", "stage", "DERMS event", "program", "category", "state", "start", "end"]
    rows = [
        [e["id"], e["externalIdentifier"], e["eventExternalIdentifier"], e["programCode"],
         e["programEventCategory"], e["state"], local_time(e["startDateTime"], zone),
         local_time(e["endDateTime"], zone)]
        for e in page["items"]
    ]  # fmt: skip
    print_table(columns, rows, ids=["id", "stage", "DERMS event"])
    if page["next"]:
        console.print(f"more: --after '{page['next']}'", highlight=False)


@program_events.command("show")
def program_events_show(
    program_event_id: Annotated[str, typer.Argument(help="cpm's id of the program event.")],
    home: HomeOption = None,
    url: CpmUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """One program event with its history."""
    api, base = _cpm(home, url)
    e: dict[str, Any] = api.call(
        "GET", f"{base}/api/v1/program-events/{quote(program_event_id, safe='')}"
    )
    if as_json:
        print_json(e)
        return
    zone = ZoneInfo(api.settings.time_zone)
    for label, value in (
        ("id", e["id"]), ("stage", e["externalIdentifier"]),
        ("event", e["eventExternalIdentifier"]),
        ("program", f"{e['programCode']} (DERMS named it {e['programExternalIdentifier']})"),
        ("category", e["programEventCategory"]), ("state", e["state"]),
        ("window", f"{local_time(e['startDateTime'], zone)} to "
                   f"{local_time(e['endDateTime'], zone)}"),
        ("reason", e["cancelReason"] or "-"),
    ):  # fmt: skip
        console.print(f"{label:9} {value}", highlight=False)
    rows = [
        [local_time(h["at"], zone), h["action"], h["fromState"] or "-", h["toState"],
         h["detail"] or "-"]
        for h in e["history"]
    ]  # fmt: skip
    print_table(["at", "action", "from", "to", "detail"], rows, title="history")


# -- event participations ---------------------------------------------------------------------

ParticipationStateOption = Annotated[
    str | None,
    typer.Option(help="Reserved, OptedOut, Released, OutcomeRecorded or Settled."),
]
ParticipationsAfter = Annotated[
    str | None, typer.Option(help="Where the list before stopped (its 'more:' line).")
]
ParticipationsLimit = Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")]


@program_events.command("participations")
def program_events_participations(
    program_event_id: Annotated[str, typer.Argument(help="cpm's id of the program event.")],
    state: ParticipationStateOption = None,
    nic: Annotated[str | None, typer.Option(help="A device's NIC id.")] = None,
    device: Annotated[str | None, typer.Option(help="cpm's id of a device.")] = None,
    after: ParticipationsAfter = None,
    limit: ParticipationsLimit = 100,
    home: HomeOption = None,
    url: CpmUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """A program event's participations, one per device it reserved, in head-end system and
    NIC id order."""
    api, base = _cpm(home, url)
    page: dict[str, Any] = api.call(
        "GET",
        f"{base}/api/v1/program-events/{quote(program_event_id, safe='')}/participations",
        params=_given(state=state, nicId=nic, deviceId=device, after=after, limit=limit),
    )
    zone = ZoneInfo(api.settings.time_zone)
    # The subscription is in --json; `derlink cpm participations --device` shows it too.
    columns = ["id", "head end", "NIC", "device", "state", "outcome", "reservation"]
    rows = [
        [i["id"], i["headEndSystem"], i["nicId"], i["deviceId"], i["state"], i["outcome"] or "-",
         _window(i, zone)]
        for i in page["items"]
    ]  # fmt: skip
    _participations(page, as_json, columns, rows, ["id", "NIC", "device"])


@app.command()
def participations(
    device: Annotated[str | None, typer.Option(help="cpm's id of the device.")] = None,
    nic: Annotated[str | None, typer.Option(help="The device's NIC id.")] = None,
    head_end: Annotated[
        str | None, typer.Option("--head-end", help="The head-end system of --nic.")
    ] = None,
    subscription: Annotated[
        str | None, typer.Option(help="A subscription: the event history of its devices.")
    ] = None,
    state: ParticipationStateOption = None,
    after: ParticipationsAfter = None,
    limit: ParticipationsLimit = 100,
    home: HomeOption = None,
    url: CpmUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """A device's event history: its participations in program events, the newest reservation
    first, by its id, its NIC id or its subscription."""
    if not (device or nic or subscription):
        raise CliError("name the device: --device, --nic (with --head-end) or --subscription")
    api, base = _cpm(home, url)
    params = _given(deviceId=device, nicId=nic, headEndSystem=head_end,
                    subscriptionId=subscription, state=state, after=after, limit=limit)  # fmt: skip
    page: dict[str, Any] = api.call("GET", f"{base}/api/v1/participations", params=params)
    zone = ZoneInfo(api.settings.time_zone)
    columns = ["id", "program event", "stage", "DERMS event", "category", "event state",
               "device", "reservation", "state", "outcome"]  # fmt: skip
    rows = [
        [i["id"], i["programEventId"], i["externalIdentifier"], i["eventExternalIdentifier"],
         i["programEventCategory"], i["programEventState"], i["deviceId"], _window(i, zone),
         i["state"], i["outcome"] or "-"]
        for i in page["items"]
    ]  # fmt: skip
    _participations(page, as_json, columns, rows, ["id", "program event", "stage", "device"])


def _given(**params: str | int | None) -> dict[str, str | int]:
    """The query parameters a command was given (those left out are None)."""
    return {name: value for name, value in params.items() if value is not None}


def _window(participation: dict[str, Any], zone: ZoneInfo) -> str:
    return (
        f"{local_time(participation['reservationStartDateTime'], zone)} to "
        f"{local_time(participation['reservationEndDateTime'], zone)}"
    )


def _participations(
    page: dict[str, Any],
    as_json: bool,
    columns: list[str],
    rows: list[list[str]],
    ids: list[str],
) -> None:
    """A page of participations as JSON, or as a table whose ids are never cut, with the
    ``more:`` line of the next page."""
    if as_json:
        print_json(page)
        return
    if not rows:
        console.print("no participations")
        return
    print_table(columns, rows, ids=ids)
    if page["next"]:
        console.print(f"more: --after '{page['next']}'", highlight=False)


# -- opt-outs ---------------------------------------------------------------------------------


class Channel(StrEnum):
    """Who asked for an opt-out."""

    CUSTOMER = "CUSTOMER"
    CSR = "CSR"


ParticipationArgument = Annotated[str, typer.Argument(help="cpm's id of the participation.")]


@app.command("opt-out")
def opt_out(
    participation_id: ParticipationArgument,
    channel: Annotated[
        Channel, typer.Option(help="Who asked: the customer, or a customer-service agent.")
    ] = Channel.CSR,
    reason: Annotated[str, typer.Option(help="Why, in words (at most 254 characters).")] = "",
    home: HomeOption = None,
    url: CpmUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Opt a device out of a program event: its Reserved participation, before the program's
    cut-off; cpm tells DERMS (OPT-OUT). Asking again changes nothing."""
    api, base = _cpm(home, url)
    done: dict[str, Any] = api.call(
        "POST",
        f"{base}/api/v1/participations/{quote(participation_id, safe='')}/opt-out",
        json={"channel": channel.value, "reason": reason},
    )
    if as_json:
        print_json(done)
        return
    again = " (opted out already)" if done["outcome"] == "Unchanged" else ""
    _opt_out_lines(done["participation"], f"{done['outcome']}{again}", api)


@app.command("opt-out-resend")
def opt_out_resend(
    participation_id: ParticipationArgument,
    home: HomeOption = None,
    url: CpmUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send an opt-out to DERMS again, as the next version: after DERMS refused it, or never
    answered."""
    api, base = _cpm(home, url)
    found: dict[str, Any] = api.call(
        "POST", f"{base}/api/v1/participations/{quote(participation_id, safe='')}/opt-out/resend"
    )
    if as_json:
        print_json(found)
    else:
        _opt_out_lines(found, found["state"], api)


def _opt_out_lines(participation: dict[str, Any], said: str, api: Api) -> None:
    """A participation's opt-out in three lines: the id whole and what happened; when, by whom,
    how and why (in the utility's zone); what DERMS holds."""
    o = participation["optOut"]
    zone = ZoneInfo(api.settings.time_zone)
    why = f": {o['reason']}" if o["reason"] else ""
    sync = {"state": o["dermsSync"], "version": o["version"], "dermsVersion": o["dermsVersion"],
            "detail": o["dermsDetail"]}  # fmt: skip
    for line in (
        f"{participation['id']}: {said}",
        f"opted out {local_time(o['at'], zone)} by {o['by']} ({o['channel']}){why}",
        f"DERMS: {_derms_sync(sync)}",
    ):
        console.print(line, highlight=False)


# -- unavailability ---------------------------------------------------------------------------


class UnavailabilityStatus(StrEnum):
    ACTIVE = "Active"
    CANCELED = "Canceled"


UnavailabilityArgument = Annotated[
    str, typer.Argument(help="cpm's id of the unavailability period.")
]
ReasonOption = Annotated[str, typer.Option(help="Why, in words (at most 254 characters).")]
OFFSET_NEEDED = "--start and --end need their offset (e.g. 2026-07-17T15:00-07:00)"


def _moment(value: datetime | None) -> str | None:
    """A time of the command line as cpm takes it: with its offset, never guessed."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise CliError(OFFSET_NEEDED)
    return value.isoformat()


@unavailability.command("add")
def unavailability_add(
    device_id: Annotated[str, typer.Argument(help="cpm's id of the device.")],
    start: Annotated[datetime, typer.Option(help="When it starts, ISO 8601 with its offset.")],
    end: Annotated[datetime, typer.Option(help="When it ends, ISO 8601 with its offset.")],
    reason: ReasonOption = "",
    home: HomeOption = None,
    url: CpmUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a device's unavailability period (away, medical, a party); cpm tells DERMS
    (UNAVAIL), which leaves the device out of the events it overlaps."""
    api, base = _cpm(home, url)
    body = {"start": _moment(start), "end": _moment(end), "reason": reason}
    done: dict[str, Any] = api.call(
        "POST", f"{base}/api/v1/devices/{quote(device_id, safe='')}/unavailabilities", json=body
    )
    _period_answer(done, done["status"], api, as_json)


@unavailability.command("edit")
def unavailability_edit(
    unavailability_id: UnavailabilityArgument,
    start: Annotated[
        datetime | None, typer.Option(help="A new start, ISO 8601 with its offset.")
    ] = None,
    end: Annotated[
        datetime | None, typer.Option(help="A new end, ISO 8601 with its offset.")
    ] = None,
    reason: Annotated[
        str | None, typer.Option(help="A new reason (at most 254 characters).")
    ] = None,
    home: HomeOption = None,
    url: CpmUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Edit an Active period's start, end or reason: the next version, sent to DERMS; an edit
    that changes nothing sends nothing."""
    api, base = _cpm(home, url)
    body = _given(start=_moment(start), end=_moment(end), reason=reason)
    done: dict[str, Any] = api.call("PATCH", _period_path(base, unavailability_id), json=body)
    again = " (it holds that already)" if done["outcome"] == "Unchanged" else ""
    _period_answer(done, f"{done['outcome']}{again}", api, as_json)


@unavailability.command("cancel")
def unavailability_cancel(
    unavailability_id: UnavailabilityArgument,
    home: HomeOption = None,
    url: CpmUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cancel an Active period: the next version, Canceled, sent to DERMS."""
    _on_period(home, url, as_json, "POST", unavailability_id, "/cancel", said="outcome")


@unavailability.command("resend")
def unavailability_resend(
    unavailability_id: UnavailabilityArgument,
    home: HomeOption = None,
    url: CpmUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send a period to DERMS again, as the next version: after DERMS refused it, or never
    answered."""
    _on_period(home, url, as_json, "POST", unavailability_id, "/resend")


@unavailability.command("show")
def unavailability_show(
    unavailability_id: UnavailabilityArgument,
    home: HomeOption = None,
    url: CpmUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """One unavailability period, and what DERMS holds of it."""
    _on_period(home, url, as_json, "GET", unavailability_id)


@unavailability.command("list")
def unavailability_list(
    device: Annotated[str | None, typer.Option(help="cpm's id of a device.")] = None,
    nic: Annotated[str | None, typer.Option(help="A device's NIC id.")] = None,
    status: Annotated[UnavailabilityStatus | None, typer.Option(help="Active or Canceled.")] = None,
    after: ParticipationsAfter = None,
    limit: ParticipationsLimit = 100,
    home: HomeOption = None,
    url: CpmUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Unavailability periods, the latest start first, and what DERMS holds of each."""
    api, base = _cpm(home, url)
    params = _given(deviceId=device, nicId=nic, status=status.value if status else None,
                    after=after, limit=limit)  # fmt: skip
    page: dict[str, Any] = api.call("GET", f"{base}/api/v1/unavailabilities", params=params)
    if as_json:
        print_json(page)
        return
    if not page["items"]:
        console.print("no unavailability periods")
        return
    zone = ZoneInfo(api.settings.time_zone)
    rows = [
        [i["id"], i["deviceId"], i["nicId"], local_time(i["start"], zone),
         local_time(i["end"], zone), i["status"], _derms_sync(_sync_of(i)), i["reason"] or "-"]
        for i in page["items"]
    ]  # fmt: skip
    columns = ["id", "device", "NIC", "from", "to", "status", "DERMS", "reason"]
    print_table(columns, rows, ids=["id", "device"])
    if page["next"]:
        console.print(f"more: --after '{page['next']}'", highlight=False)


def _period_path(base: str, unavailability_id: str) -> str:
    return f"{base}/api/v1/unavailabilities/{quote(unavailability_id, safe='')}"


def _on_period(
    home: Path | None,
    url: str | None,
    as_json: bool,
    method: str,
    unavailability_id: str,
    action: str = "",
    *,
    said: str = "status",
) -> None:
    """Call a period's route (``action`` after its path) and print the answer, saying its
    ``said`` field first."""
    api, base = _cpm(home, url)
    answer: dict[str, Any] = api.call(method, f"{_period_path(base, unavailability_id)}{action}")
    _period_answer(answer, answer[said], api, as_json)


def _sync_of(period: dict[str, Any]) -> dict[str, Any]:
    return {"state": period["dermsSync"], "version": period["version"],
            "dermsVersion": period["dermsVersion"], "detail": period["dermsDetail"]}  # fmt: skip


def _period_answer(answer: dict[str, Any], said: str, api: Api, as_json: bool) -> None:
    """cpm's answer as JSON, or its period in five lines: the id whole and what happened; the
    device; when (in the utility's zone) and why; who added and changed it; what DERMS
    holds."""
    if as_json:
        print_json(answer)
        return
    u = answer.get("unavailability", answer)
    zone = ZoneInfo(api.settings.time_zone)
    why = f": {u['reason']}" if u["reason"] else ""
    for line in (
        f"{u['id']}: {said}",
        f"device {u['deviceId']} ({u['headEndSystem']} {u['nicId']})",
        f"unavailable {local_time(u['start'], zone)} to {local_time(u['end'], zone)}{why}",
        f"added {local_time(u['createdAt'], zone)} by {u['createdBy']}; changed "
        f"{local_time(u['updatedAt'], zone)} by {u['updatedBy']}",
        f"DERMS: {_derms_sync(_sync_of(u))}",
    ):
        console.print(line, highlight=False)
