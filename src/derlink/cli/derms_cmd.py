"""``derlink derms``: DERMS's operator commands against a running derlink.

Mounted by the main CLI as ``app.add_typer(derms_cmd.app, name="derms")``. ``network load``
puts a model export into DERMS's model store (the store the settings name: a local folder of
the data directory by default, or the SFTP server or object storage configured) and has DERMS
take it now; the other commands call DERMS's API with the operator's credentials.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from derlink.cli import events_cmd
from derlink.cli.client import (
    Api,
    CliError,
    HomeOption,
    JsonOption,
    api_for,
    print_json,
    print_table,
)
from derlink.contracts.network_files import MODEL_PREFIX

HELP = (
    "DERMS: the network model (load a model export, write NET-LOC now, read locations), "
    "strategy types, strategies and events."
)
app = typer.Typer(help=HELP, no_args_is_help=True)
network = typer.Typer(
    help="The network model: substations, feeders, transformers, service points.",
    no_args_is_help=True,
)
app.add_typer(network, name="network")
app.add_typer(events_cmd.types_app, name="strategy-types")
app.add_typer(events_cmd.strategies_app, name="strategies")
app.add_typer(events_cmd.events_app, name="events")
app.command("unavailabilities")(events_cmd.unavailabilities)
console = Console(soft_wrap=True)

DermsUrlOption = Annotated[
    str | None,
    typer.Option(
        help="DERMS's address (default: $DERLINK_DERMS_URL, else /derms of the running derlink)."
    ),
]


@app.callback()
def _group() -> None:
    """DERMS: the network model, strategy types, strategies and events."""


def _derms(home: Path | None, url: str | None) -> tuple[Api, str]:
    api = api_for(home)
    return api, api.address("derms", url) + "/api/v1/network"


def stored_name(file: Path) -> str:
    """The name a model export takes in the model store: its own, ``NETMODEL_`` first."""
    return file.name if file.name.startswith(MODEL_PREFIX) else MODEL_PREFIX + file.name


async def _put(api: Api, file: Path, name: str) -> None:
    from derlink.platform.files import open_store

    store = open_store(api.settings.store_url("derms-model"), home=api.settings.home)
    try:

        async def chunks() -> Any:
            with file.open("rb") as handle:
                while chunk := handle.read(8 * 1024 * 1024):
                    yield chunk

        await store.write(name, chunks())
    finally:
        await store.close()


@network.command()
def load(
    file: Annotated[
        Path, typer.Argument(help="A model export (CSV: Kind,Id,ParentId,Name,EffectiveFrom).")
    ],
    home: HomeOption = None,
    url: DermsUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put a model export into DERMS's model store and have DERMS take it now; exit 1 if the
    file was refused or not taken."""
    if not file.is_file():
        raise CliError(f"{file} is not a file")
    api, base = _derms(home, url)
    name = stored_name(file)
    asyncio.run(_put(api, file, name))
    result = api.call("POST", f"{base}/model-files/intake")
    mine = [f for f in result["files"] if f["name"] == name]
    if as_json:
        print_json(result)
    else:
        for f in result["files"]:
            console.print(
                f"{f['name']}: {f['state']}, {f['rows']} row(s), {f['accepted']} accepted, "
                f"{f['rejected']} rejected; acknowledgement {f['ackFile'] or '-'}"
                + (f" ({f['error']})" if f["error"] else ""),
                highlight=False,
            )
    if not mine or mine[0]["state"] not in ("Acked", "Duplicate"):
        why = mine[0]["error"] if mine else "another run holds it, or it was not found"
        raise CliError(f"{name} was not taken: {why}")


@network.command()
def export(
    home: HomeOption = None, url: DermsUrlOption = None, as_json: JsonOption = False
) -> None:
    """Write the NET-LOC export now (every location in force today); `derlink flows run-now
    NET-LOC` then carries it to cpm."""
    api, base = _derms(home, url)
    done = api.call("POST", f"{base}/exports")
    if as_json:
        print_json(done)
        return
    console.print(
        f"{done['fileName']}: {done['rows']} location(s) in force on {done['on']}", highlight=False
    )


@network.command()
def locations(
    service_point: Annotated[str, typer.Argument(help="The CIS service point id.")],
    home: HomeOption = None,
    url: DermsUrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every version of a service point's location in the network model."""
    api, base = _derms(home, url)
    found = api.call("GET", f"{base}/service-points/{service_point}/locations")
    if as_json:
        print_json(found)
        return
    print_table(
        ["transformer", "from", "to"],
        [
            [v["transformerId"], v["effectiveFrom"], v["effectiveTo"] or "open"]
            for v in found["versions"]
        ],
        ids=["transformer"],
    )
