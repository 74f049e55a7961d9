"""``derlink cpm``: cpm's operator commands against a running derlink.

Mounted by the main CLI as ``app.add_typer(cpm_cmd.app, name="cpm")``. Commands call cpm's API
with the operator's credentials from the data directory, as the other commands do.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from derlink.cli.client import HomeOption, JsonOption, api_for, print_json

app = typer.Typer(help="cpm: the enrollment extract to analytics.", no_args_is_help=True)
console = Console(soft_wrap=True)


@app.callback()
def _group() -> None:
    """cpm: the enrollment extract to analytics."""


@app.command()
def extract(
    initial: Annotated[
        bool,
        typer.Option(
            "--initial",
            help="Every Active subscription (default: incremental, what changed since the last).",
        ),
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            help="cpm's address (default: $DERLINK_CPM_URL, else /cpm of the running derlink)."
        ),
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run an enrollment extract (OUAI-ENR) now: a file on cpm's content server."""
    api = api_for(home)
    base = (url or api.part_url("cpm")).rstrip("/")
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
