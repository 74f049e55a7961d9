"""``derlink``: run the platform, drive the demo, and operate the hub from a terminal.

Every command that talks to a running derlink takes ``--url`` and ``--home`` (cli/client.py);
every list and show takes ``--json``. Text output never cuts an id, says an empty result in
words and shows times in the utility's zone (``DERLINK_TIME_ZONE``). Whatever goes wrong is
one line on standard error and a non-zero exit (``run``): 2 for a wrong command line, 1 for
anything else; ``DERLINK_DEBUG=1`` shows the traceback of an unforeseen error as well.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from derlink.cli.analytics_cmd import app as analytics_app
from derlink.cli.client import (
    Api,
    CliError,
    HomeOption,
    JsonOption,
    UrlOption,
    api_for,
    print_json,
    settings_for,
)
from derlink.cli.client import print_table as _print_table
from derlink.cli.cpm_cmd import app as cpm_app
from derlink.cli.derms_cmd import app as derms_app
from derlink.common.errors import DerlinkError


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"derlink {version('derlink')}")
        raise typer.Exit()


app = typer.Typer(
    help="derlink: demand-response and DER programs, end to end.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    _version_flag: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """derlink: demand-response and DER programs, end to end."""


hospital = typer.Typer(help="The error hospital: faulted instances.", no_args_is_help=True)
flows = typer.Typer(help="The integration flows.", no_args_is_help=True)
lookups = typer.Typer(help="Lookups (value maps), editable at run time.", no_args_is_help=True)
app.add_typer(hospital, name="hospital")
app.add_typer(flows, name="flows")
app.add_typer(lookups, name="lookups")
app.add_typer(analytics_app, name="analytics")
app.add_typer(cpm_app, name="cpm")
app.add_typer(derms_app, name="derms")
console = Console(soft_wrap=True)


def _local_time(api: Api) -> Any:
    """How the commands show a moment: in the utility's zone, with the zone's name."""
    zone = ZoneInfo(api.settings.time_zone)

    def shown(iso: str | None) -> str:
        if not iso:
            return ""
        return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")

    return shown


@app.command()
def up(
    home: HomeOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    sample_customers: Annotated[
        int, typer.Option(help="Customers in the first-start sample.")
    ] = 200,
    parts: Annotated[
        str,
        typer.Option(
            help="Parts this process runs (scale-out); "
            "the others are reached at DERLINK_<PART>_URL."
        ),
    ] = "hub,cpm,derms,analytics",
) -> None:
    """Run every part, the hub and its workers in one process on the embedded defaults."""
    import asyncio

    from derlink.bootstrap import ALL_PARTS
    from derlink.cli.serve import serve

    chosen = [p.strip() for p in parts.split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(ALL_PARTS))
    if unknown or not chosen:
        raise typer.BadParameter(f"unknown part(s) {unknown}; choose from {', '.join(ALL_PARTS)}")
    settings = settings_for(home, host=host, port=port)
    try:
        asyncio.run(
            serve(settings, parts=chosen, sample_customers=sample_customers, console=console)
        )
    except KeyboardInterrupt:
        # The server passes Ctrl-C on once it has stopped: a stop asked for, not an error.
        console.print("derlink stopped")


@app.command()
def demo(
    customers: Annotated[
        int, typer.Option(min=1, help="Customers in the generated utility.")
    ] = 2000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    database_url: Annotated[
        str | None,
        typer.Option(help="PostgreSQL server URL: the demo makes a fresh database there."),
    ] = None,
    home: HomeOption = None,
    keep: Annotated[bool, typer.Option(help="Keep the data directory and database.")] = False,
    event: Annotated[
        bool,
        typer.Option(
            help="Run one event after the enrollments (about five minutes, in real time): "
            "generated, approved, reserved, an opt-out and its backfill, outcomes."
        ),
    ] = True,
) -> None:
    """Generate a sample utility and drive the whole enrollment journey live over HTTP, then
    one event from its generation to the outcomes in cpm and analytics."""
    from derlink.cli.demo import run_demo

    summary = run_demo(
        customers=customers,
        database_url=database_url,
        home=home,
        keep=keep,
        quiet=as_json,
        console=console,
        event=event,
    )
    if as_json:
        print_json(summary)
    elif "kept" in summary:
        kept = summary["kept"]
        database = f"DERLINK_DATABASE_URL={kept['database_url']} " if kept["database_url"] else ""
        console.print(
            f"the demo's data is kept in {kept['home']}: browse it with\n"
            f"  {database}derlink up --home {kept['home']}\n"
            "then open the console at the address it prints (/console/); the sign-in "
            f"credentials are in {kept['home']}/credentials.json",
            highlight=False,
        )
    if summary.get("ok") is False:
        raise typer.Exit(1)


#: The statuses a run of the reconciliation ends in.
RUN_ENDED = ("Completed", "Completed with errors", "Faulted", "Discarded")


@app.command()
def reconcile(
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
    history: Annotated[
        bool,
        typer.Option("--history", help="List the past runs (the console's too); start none."),
    ] = False,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the run to finish.", min=1)
    ] = 600.0,
) -> None:
    """Compare cpm's active subscriptions and devices with the DERMS registry: a run of the
    reconciliation, kept in the history the console shows too."""
    api = api_for(home, url)
    if history:
        _reconciliation_history(api, as_json)
        return
    started = api.call("POST", "/hub/api/v1/reconciliation/runs")
    report = _finished_run(api, started["instanceId"], wait)
    if as_json:
        print_json(report)
    else:
        console.print(
            f"compared {report['compared']} subscriptions: {report['differences']} "
            f"difference(s) (run {report['instanceId']})",
            highlight=False,
        )
        if report["items"]:
            _print_table(
                ("subscription", "difference"),
                [(i["subscriptionId"], i["difference"]) for i in report["items"]],
                ids=("subscription",),
            )
    if report["items"]:
        raise typer.Exit(1)


def _finished_run(api: Api, instance_id: str, wait: float) -> Any:
    """The run once it ended; an error when it faulted or did not end within ``wait`` s."""
    import time

    path = f"/hub/api/v1/reconciliation/runs/{quote(instance_id, safe='')}"
    deadline = time.monotonic() + wait
    while (run := api.call("GET", path))["status"] not in RUN_ENDED:
        if time.monotonic() > deadline:
            raise CliError(
                f"the run {instance_id} has not finished after {wait:g} s: it goes on; see "
                "derlink reconcile --history"
            )
        time.sleep(0.5)
    if run["status"] != "Completed" and run["compared"] is None:
        raise CliError(
            f"the run {instance_id} ended {run['status']}: see derlink hospital list, or the "
            f"instance in the console at {api.server.url}/console/instances/"
            f"{quote(instance_id, safe='')}"
        )
    return run


def _reconciliation_history(api: Api, as_json: bool) -> None:
    runs = api.call("GET", "/hub/api/v1/reconciliation/runs")
    if as_json:
        print_json(runs)
        return
    if not runs:
        console.print("the reconciliation has not run yet")
        return
    shown = _local_time(api)
    _print_table(
        ("run", "status", "started by", "received", "compared", "differences"),
        [
            (
                r["instanceId"],
                r["status"],
                r["startedBy"],
                shown(r["receivedAt"]),
                "" if r["compared"] is None else str(r["compared"]),
                "" if r["differences"] is None else str(r["differences"]),
            )
            for r in runs
        ],
        ids=("run",),
    )


@hospital.command("list")
def hospital_list(
    home: HomeOption = None,
    url: UrlOption = None,
    flow: Annotated[str | None, typer.Option(help="Only this flow.")] = None,
    category: Annotated[str | None, typer.Option(help="technical, remote or business.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the faulted instances."""
    api = api_for(home, url)
    params = {k: v for k, v in {"flow": flow, "category": category}.items() if v}
    rows = api.call("GET", "/hub/api/v1/hospital", params=params)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("the hospital is empty: no faulted instance" + _filtered(flow, category))
        return
    shown = _local_time(api)
    _print_table(
        ("instance", "flow", "category", "step", "error", "received"),
        [
            (
                r["id"],
                r["flow"],
                r["fault_category"] or "",
                r["fault_step"] or "",
                r["fault_message"] or "",
                shown(r["received_at"]),
            )
            for r in rows
        ],
        ids=("instance", "flow"),
    )
    console.print(f"{len(rows)} instance(s) in the hospital" + _filtered(flow, category))


def _filtered(flow: str | None, category: str | None) -> str:
    named = [f"flow {flow}" if flow else "", f"category {category}" if category else ""]
    return f" ({', '.join(n for n in named if n)})" if flow or category else ""


@hospital.command("show")
def hospital_show(
    instance_id: str, home: HomeOption = None, url: UrlOption = None, as_json: JsonOption = False
) -> None:
    """Show one instance: status, fault, records refused, timeline, actions."""
    api = api_for(home, url)
    detail = api.call("GET", f"/hub/api/v1/instances/{instance_id}")
    if as_json:
        print_json(detail)
        return
    shown = _local_time(api)
    console.print(f"[bold]{detail['id']}[/bold]  {detail['flow']}  {detail['status']}")
    facts = [
        ("batch", detail["batch_id"]),
        ("sender", detail["sender"]),
        ("received", shown(detail["received_at"])),
        ("finished", shown(detail.get("finished_at")) or "not yet"),
        ("records", f"{detail['records']}: {detail['succeeded'] or 0} succeeded, "
         f"{detail['failed'] or 0} failed"),
        ("runs", str(detail["runs"])),
    ]  # fmt: skip
    if detail["fault_category"]:
        facts.append(("fault", f"{detail['fault_category']} at {detail['fault_step']}"))
        facts.append(("error", detail["fault_message"] or ""))
    for label, value in facts:
        console.print(f"  {label:9} {value}", highlight=False)
    keys = ", ".join(f"{k['name']} {k['value']}" for k in detail["keys"] if k["primary_key"])
    if keys:
        console.print(f"  {'ids':9} {keys}", highlight=False)
    errors = (detail.get("outcome") or {}).get("errors") or []
    if errors:
        _print_table(
            ("record", "code", "error"),
            [(e["key"], e["code"], e["message"]) for e in errors],
            ids=("record", "code"),
            title="records refused",
        )
    _print_table(
        ("at", "step", "outcome", "ms", "detail"),
        [
            (
                shown(t["at"]),
                t["step"],
                t["outcome"],
                "" if t["elapsed_ms"] is None else f"{t['elapsed_ms']:.0f}",
                t["detail"] or "",
            )
            for t in detail["timeline"]
        ],
        title="timeline",
    )
    for a in detail["actions"]:
        console.print(f"  {a['action']} by {a['actor']} at {shown(a['at'])}: {a['note'] or ''}")


def _selection(
    ids: list[str] | None, all_: bool, flow: str | None, category: str | None, note: str
) -> dict[str, Any]:
    if not ids and not all_:
        raise typer.BadParameter("name instance ids, or --all (with --flow/--category to filter)")
    return {"ids": ids or [], "all": all_, "flow": flow, "category": category, "note": note}


Ids = Annotated[list[str] | None, typer.Argument(help="Instance ids.")]
AllOption = Annotated[bool, typer.Option("--all", help="Every instance matching the filter.")]
FlowOption = Annotated[str | None, typer.Option(help="Only this flow.")]
CategoryOption = Annotated[str | None, typer.Option(help="technical, remote or business.")]
NoteOption = Annotated[str, typer.Option(help="Why, for the record.")]


@hospital.command("resubmit")
def hospital_resubmit(
    ids: Ids = None,
    all_: AllOption = False,
    flow: FlowOption = None,
    category: CategoryOption = None,
    note: NoteOption = "",
    home: HomeOption = None,
    url: UrlOption = None,
) -> None:
    """Run faulted instances again from the beginning."""
    result = api_for(home, url).call(
        "POST", "/hub/api/v1/hospital/resubmit", json=_selection(ids, all_, flow, category, note)
    )
    _acted("resubmitted", result["resubmitted"])


@hospital.command("discard")
def hospital_discard(
    ids: Ids = None,
    all_: AllOption = False,
    flow: FlowOption = None,
    category: CategoryOption = None,
    note: NoteOption = "",
    home: HomeOption = None,
    url: UrlOption = None,
) -> None:
    """Remove faulted instances from the hospital; who did it is recorded."""
    result = api_for(home, url).call(
        "POST", "/hub/api/v1/hospital/discard", json=_selection(ids, all_, flow, category, note)
    )
    _acted("discarded", result["discarded"])


def _acted(what: str, ids: list[str]) -> None:
    console.print(f"{what} {len(ids)} instance(s)")
    for instance_id in ids:
        console.print(f"  {instance_id}", highlight=False)


@flows.command("list")
def flows_list(home: HomeOption = None, url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Every flow with its status and instance counts."""
    rows = api_for(home, url).call("GET", "/hub/api/v1/flows")
    if as_json:
        print_json(rows)
        return
    _print_table(
        ("flow", "name", "source → target", "trigger", "status", "instances"),
        [
            (
                r["code"],
                r["name"],
                f"{r['source']} → {r['target']}",
                r["trigger"] if r["trigger"] == "message" else f"schedule {r['schedule']}",
                r["status"],
                ", ".join(f"{k}: {v}" for k, v in sorted(r["instances"].items())) or "0",
            )
            for r in rows
        ],
        ids=("flow",),
    )


@flows.command("pause")
def flows_pause(code: str, home: HomeOption = None, url: UrlOption = None) -> None:
    """Hold new instances of a flow (still accepted and kept)."""
    api_for(home, url).call("POST", f"/hub/api/v1/flows/{code}/pause")
    console.print(f"{code} paused")


@flows.command("resume")
def flows_resume(code: str, home: HomeOption = None, url: UrlOption = None) -> None:
    """Resume a flow and run what it held."""
    result = api_for(home, url).call("POST", f"/hub/api/v1/flows/{code}/resume")
    console.print(f"{code} resumed; {result['released']} held instance(s) released")


@flows.command("run-now")
def flows_run_now(code: str, home: HomeOption = None, url: UrlOption = None) -> None:
    """Run a scheduled flow now."""
    result = api_for(home, url).call("POST", f"/hub/api/v1/flows/{code}/run-now")
    started = result["instances"]
    if not started:
        console.print(f"{code}: nothing to do (a file flow found no file)")
    for instance_id in started:
        console.print(f"{code} started: instance {instance_id}", highlight=False)


@lookups.command("list")
def lookups_list(
    name: Annotated[str | None, typer.Argument(help="One lookup (default: every one).")] = None,
    home: HomeOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the value maps (or one of them)."""
    tables: dict[str, dict[str, str]] = api_for(home, url).call("GET", "/hub/api/v1/lookups")
    if name is not None:
        if name not in tables:
            raise CliError(f"no lookup named {name!r}; the lookups are {', '.join(sorted(tables))}")
        tables = {name: tables[name]}
    if as_json:
        print_json(tables)
        return
    for table_name, values in sorted(tables.items()):
        if not values:
            console.print(f"{table_name}: no values")
            continue
        _print_table(("key", "value"), sorted(values.items()), ids=("key",), title=table_name)


@lookups.command("set")
def lookups_set(
    name: str,
    key: str,
    value: Annotated[str | None, typer.Argument(help="New value; omit with --delete.")] = None,
    delete: Annotated[bool, typer.Option(help="Remove the entry.")] = False,
    home: HomeOption = None,
    url: UrlOption = None,
) -> None:
    """Set one lookup value; effective at once, without a restart."""
    if value is None and not delete:
        raise typer.BadParameter("give a value, or --delete")
    api_for(home, url).call(
        "PUT", f"/hub/api/v1/lookups/{name}/{key}", json={"value": None if delete else value}
    )
    console.print(f"{name}[{key}] = {value if not delete else '(removed)'}", highlight=False)


def run(args: Sequence[str] | None = None) -> int:
    """Run the CLI on ``args`` (default: the command line); the exit status. Every error is
    one line on standard error (see the module's documentation)."""
    command = typer.main.get_command(app)
    try:
        result = command.main(
            list(sys.argv[1:] if args is None else args), prog_name="derlink", standalone_mode=False
        )
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _say("stopped")
        return 130
    except typer.TyperException as exc:  # typer's (click's) errors of the command line
        message = exc.format_message()
        if type(exc).__name__ == "NoArgsIsHelpError":  # a group named without a command
            typer.echo(message)
            return 0
        code = int(getattr(exc, "exit_code", 1))
        ctx = getattr(exc, "ctx", None)
        hint = f" (see: {ctx.command_path} --help)" if code == 2 and ctx is not None else ""
        _say(f"{message}{hint}")
        return code
    except CliError as exc:
        _say(str(exc))
        return 1
    except DerlinkError as exc:
        _say(exc.message)
        return 1
    except OSError as exc:
        _say(str(exc))
        return 1
    except Exception as exc:
        if os.environ.get("DERLINK_DEBUG"):
            raise
        _say(f"{type(exc).__name__}: {exc} (set DERLINK_DEBUG=1 for the traceback)")
        return 1
    return result if isinstance(result, int) else 0


def _say(message: str) -> None:
    typer.secho(f"error: {' '.join(message.split())}", fg="red", err=True)


def main() -> None:
    sys.exit(run())
