"""``derlink``: run the platform, drive the demo, and operate the hub from a terminal."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from derlink.cli.analytics_cmd import app as analytics_app
from derlink.cli.client import HomeOption, settings_for
from derlink.cli.cpm_cmd import app as cpm_app
from derlink.platform.settings import Settings

app = typer.Typer(
    help="derlink: demand-response and DER programs, end to end.", no_args_is_help=True
)
hospital = typer.Typer(help="The error hospital: faulted instances.", no_args_is_help=True)
flows = typer.Typer(help="The integration flows.", no_args_is_help=True)
lookups = typer.Typer(help="Lookups (value maps), editable at run time.", no_args_is_help=True)
app.add_typer(hospital, name="hospital")
app.add_typer(flows, name="flows")
app.add_typer(lookups, name="lookups")
app.add_typer(analytics_app, name="analytics")
app.add_typer(cpm_app, name="cpm")
console = Console(soft_wrap=True)


def _settings(home: Path | None = None, **overrides: Any) -> Settings:
    return settings_for(home, **overrides)


def _api(home: Path | None) -> Any:
    from derlink.cli.client import Api

    return Api(_settings(home))


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
    from derlink.bootstrap import ALL_PARTS
    from derlink.cli.serve import serve

    chosen = [p.strip() for p in parts.split(",") if p.strip()]
    unknown = sorted(set(chosen) - set(ALL_PARTS))
    if unknown or not chosen:
        raise typer.BadParameter(f"unknown part(s) {unknown}; choose from {', '.join(ALL_PARTS)}")
    settings = _settings(home, host=host, port=port)
    asyncio.run(serve(settings, parts=chosen, sample_customers=sample_customers, console=console))


@app.command()
def demo(
    customers: Annotated[int, typer.Option(help="Customers in the generated utility.")] = 2000,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    database_url: Annotated[
        str | None,
        typer.Option(help="PostgreSQL server URL: the demo makes a fresh database there."),
    ] = None,
    home: HomeOption = None,
    keep: Annotated[bool, typer.Option(help="Keep the data directory and database.")] = False,
) -> None:
    """Generate a sample utility and drive the whole enrollment journey live over HTTP."""
    from derlink.cli.demo import run_demo

    summary = run_demo(
        customers=customers,
        database_url=database_url,
        home=home,
        keep=keep,
        quiet=as_json,
        console=console,
    )
    if as_json:
        typer.echo(json.dumps(summary))
    if summary.get("ok") is False:
        raise typer.Exit(1)


@app.command()
def reconcile(home: HomeOption = None) -> None:
    """Compare cpm's active subscriptions and devices with the DERMS registry."""
    report = _api(home).call("GET", "/hub/api/v1/reconciliation")
    console.print(
        f"compared {report['compared']} subscriptions: {report['differences']} difference(s)"
    )
    if report["items"]:
        table = Table("subscription", "difference")
        for item in report["items"]:
            table.add_row(item["subscriptionId"], item["difference"])
        console.print(table)
        raise typer.Exit(1)


@hospital.command("list")
def hospital_list(
    home: HomeOption = None,
    flow: Annotated[str | None, typer.Option(help="Only this flow.")] = None,
    category: Annotated[str | None, typer.Option(help="technical, remote or business.")] = None,
) -> None:
    """List the faulted instances."""
    params = {k: v for k, v in {"flow": flow, "category": category}.items() if v}
    rows = _api(home).call("GET", "/hub/api/v1/hospital", params=params)
    table = Table("instance", "flow", "category", "step", "error", "received")
    for r in rows:
        table.add_row(
            r["id"],
            r["flow"],
            r["fault_category"] or "",
            r["fault_step"] or "",
            (r["fault_message"] or "")[:80],
            r["received_at"][:19],
        )
    console.print(table)
    console.print(f"{len(rows)} instance(s) in the hospital")


@hospital.command("show")
def hospital_show(instance_id: str, home: HomeOption = None) -> None:
    """Show one instance: status, fault, timeline, actions and payload."""
    detail = _api(home).call("GET", f"/hub/api/v1/instances/{instance_id}")
    console.print_json(json.dumps(detail))


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
) -> None:
    """Run faulted instances again from the beginning."""
    result = _api(home).call(
        "POST", "/hub/api/v1/hospital/resubmit", json=_selection(ids, all_, flow, category, note)
    )
    console.print(f"resubmitted {len(result['resubmitted'])} instance(s)")


@hospital.command("discard")
def hospital_discard(
    ids: Ids = None,
    all_: AllOption = False,
    flow: FlowOption = None,
    category: CategoryOption = None,
    note: NoteOption = "",
    home: HomeOption = None,
) -> None:
    """Remove faulted instances from the hospital; who did it is recorded."""
    result = _api(home).call(
        "POST", "/hub/api/v1/hospital/discard", json=_selection(ids, all_, flow, category, note)
    )
    console.print(f"discarded {len(result['discarded'])} instance(s)")


@flows.command("list")
def flows_list(home: HomeOption = None) -> None:
    """Every flow with its status and instance counts."""
    rows = _api(home).call("GET", "/hub/api/v1/flows")
    table = Table("flow", "name", "source → target", "trigger", "status", "instances")
    # trigger: "message", or the cron of a scheduled flow
    for r in rows:
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(r["instances"].items()))
        table.add_row(
            r["code"],
            r["name"],
            f"{r['source']} → {r['target']}",
            r["trigger"] if r["trigger"] == "message" else f"schedule {r['schedule']}",
            r["status"],
            counts,
        )
    console.print(table)


@flows.command("pause")
def flows_pause(code: str, home: HomeOption = None) -> None:
    """Hold new instances of a flow (still accepted and kept)."""
    _api(home).call("POST", f"/hub/api/v1/flows/{code}/pause")
    console.print(f"{code} paused")


@flows.command("resume")
def flows_resume(code: str, home: HomeOption = None) -> None:
    """Resume a flow and run what it held."""
    result = _api(home).call("POST", f"/hub/api/v1/flows/{code}/resume")
    console.print(f"{code} resumed; {result['released']} held instance(s) released")


@flows.command("run-now")
def flows_run_now(code: str, home: HomeOption = None) -> None:
    """Run a scheduled flow now."""
    result = _api(home).call("POST", f"/hub/api/v1/flows/{code}/run-now")
    started = result["instances"]
    if not started:
        console.print(f"{code}: nothing to do (a file flow found no file)")
    for instance_id in started:
        console.print(f"{code} started: instance {instance_id}")


@lookups.command("list")
def lookups_list(
    name: Annotated[str | None, typer.Argument()] = None, home: HomeOption = None
) -> None:
    """Show the value maps (or one of them)."""
    tables = _api(home).call("GET", "/hub/api/v1/lookups")
    for table_name, values in sorted(tables.items()):
        if name and table_name != name:
            continue
        table = Table("key", "value", title=table_name)
        for key, value in sorted(values.items()):
            table.add_row(key, value)
        console.print(table)


@lookups.command("set")
def lookups_set(
    name: str,
    key: str,
    value: Annotated[str | None, typer.Argument(help="New value; omit with --delete.")] = None,
    delete: Annotated[bool, typer.Option(help="Remove the entry.")] = False,
    home: HomeOption = None,
) -> None:
    """Set one lookup value; effective at once, without a restart."""
    if value is None and not delete:
        raise typer.BadParameter("give a value, or --delete")
    _api(home).call(
        "PUT", f"/hub/api/v1/lookups/{name}/{key}", json={"value": None if delete else value}
    )
    console.print(f"{name}[{key}] = {value if not delete else '(removed)'}")


def main() -> None:
    app()
