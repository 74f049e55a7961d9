"""``derlink cpm``: cpm's operator commands against a running derlink.

Mounted by the main CLI as ``app.add_typer(cpm_cmd.app, name="cpm")``. Commands call cpm's API
with the operator's credentials from the data directory, as the other commands do.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from derlink.cli.client import Api, HomeOption, settings_for

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
        typer.Option(help="cpm's base URL (default: $DERLINK_CPM_URL, or the running /cpm)."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Run an enrollment extract (OUAI-ENR) now: a file on cpm's content server."""
    settings = settings_for(home)
    base = (url or settings.part_url("cpm")).rstrip("/")
    kind = "INITIAL" if initial else "INCREMENTAL"
    # An absolute URL: the client's base URL (the whole platform's) does not apply.
    view: dict[str, Any] = Api(settings).call(
        "POST", f"{base}/api/v1/enrollment-extracts", json={"kind": kind}
    )
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
