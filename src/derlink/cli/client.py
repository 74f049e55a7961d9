"""The CLI's client of a running derlink: where it runs, and the operator's credentials.

A command finds the server it talks to, first found first: its ``--url``; ``DERLINK_URL``; the
address ``derlink up`` wrote in the data directory (``server.json``, while it runs); the
address the settings name (``DERLINK_HOST``, ``DERLINK_PORT``). It calls with the operator's
credentials from the data directory (``--home``, ``DERLINK_HOME``). What goes wrong is said in
one line that names the server and where its address came from, or the credentials file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

from derlink.common.errors import ConfigurationError
from derlink.platform.auth import CredentialStore

if TYPE_CHECKING:
    from derlink.platform.settings import Settings

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Data directory (default: $DERLINK_HOME or ./.derlink)."),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="The running derlink's address (default: $DERLINK_URL, else the address "
        "`derlink up` wrote in the data directory, else DERLINK_HOST:DERLINK_PORT).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]

#: Where ``derlink up`` writes its address and process id, in the data directory, while it runs.
SERVER_FILE = "server.json"


class CliError(Exception):
    """What a command says when it cannot do its work: one line, exit status 1."""


def settings_for(home: Path | None = None, **overrides: Any) -> Settings:
    """The environment's settings, with the command line's data directory and overrides."""
    from derlink.bootstrap import settings_from_env

    settings = settings_from_env()
    if home is not None:
        settings = replace(settings, home=home)
    return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


@dataclass(frozen=True)
class Server:
    """A running derlink's address, and how the CLI found it (said when it does not answer)."""

    url: str
    found: str


def find_server(settings: Settings, url: str | None = None) -> Server:
    """The address of the derlink a command talks to (see the module's documentation)."""
    if url:
        return Server(url.rstrip("/"), "--url")
    if os.environ.get("DERLINK_URL"):
        return Server(os.environ["DERLINK_URL"].rstrip("/"), "DERLINK_URL")
    written = settings.home / SERVER_FILE
    try:
        running = json.loads(written.read_text())
        return Server(str(running["url"]).rstrip("/"), str(written))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CliError(f"{written} cannot be read ({exc}); remove it, or give --url") from None
    return Server(settings.base_url, "DERLINK_HOST and DERLINK_PORT")


class Api:
    """Calls to a running derlink as the operator."""

    def __init__(self, settings: Settings, url: str | None = None, client_id: str = "operator"):
        self.settings = settings
        self.server = find_server(settings, url)
        self.credentials = settings.home / "credentials.json"
        if not self.credentials.exists():
            raise CliError(
                f"no credentials at {self.credentials}: start derlink first (derlink up), or "
                "name its data directory with --home or DERLINK_HOME"
            )
        try:
            client = CredentialStore.load(self.credentials).client(client_id)
        except ConfigurationError as exc:
            raise CliError(exc.message) from None
        self.headers = client.header()

    def part_url(self, part: str) -> str:
        """Where a part of the running derlink answers: its own address in scale-out
        (``DERLINK_<PART>_URL``), else under the server's."""
        return self.settings.part_base_urls.get(part, f"{self.server.url}/{part}").rstrip("/")

    def address(self, part: str, url: str | None) -> str:
        """A part's address for its commands: their ``--url`` when given, else ``part_url``."""
        return (url or self.part_url(part)).rstrip("/")

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call ``path`` (under the server's address, or a whole URL); the answer's JSON."""
        import httpx

        url = path if "://" in path else f"{self.server.url}{path}"
        try:
            with httpx.Client(headers=self.headers, timeout=120.0) as http:
                response = http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            found = f" (the address from {self.server.found})" if "://" not in path else ""
            raise CliError(
                f"derlink is not reachable at {url}{found}: {exc or type(exc).__name__}; is it "
                "running? Start it with `derlink up`, or give its address with --url or "
                "DERLINK_URL"
            ) from None
        if response.status_code == 401:
            raise CliError(
                f"{url} refused the credentials in {self.credentials} (401): is that the data "
                "directory of the derlink answering there? Name it with --home or DERLINK_HOME"
            )
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise CliError(f"{method} {url} answered {response.status_code}: {detail}")
        return response.json() if response.content else None


def api_for(home: Path | None, url: str | None = None) -> Api:
    """The operator's client of the derlink a command names (``--home``, ``--url``)."""
    return Api(settings_for(home), url)


def print_json(value: Any) -> None:
    """A command's answer as JSON on standard output (``--json``): ids and times whole."""
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def print_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    ids: Sequence[str] = (),
    title: str | None = None,
) -> None:
    """A table whose id columns (``ids``) are never cut or wrapped, however narrow the
    terminal: what an operator copies into the next command stays whole. Other columns wrap;
    where the ids (and a few characters of each other column) are wider than the terminal, the
    table is as wide as they need (rich would squeeze every column evenly, a short id to
    nothing)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    needed = 1  # the table's left edge; each column adds its padding and its right edge
    for i, name in enumerate(columns):
        if name in ids:
            width = max([len(name), *(len(row[i]) for row in rows)])
            table.add_column(name, no_wrap=True, min_width=width)
            needed += width + 3
        else:
            table.add_column(name, overflow="fold")
            needed += min(8, max([len(name), *(len(row[i]) for row in rows)])) + 3
    for row in rows:
        table.add_row(*row)
    console = Console(soft_wrap=True)
    if needed > console.width:
        console = Console(soft_wrap=True, width=needed)
    console.print(table)


def local_time(value: str | None, zone: ZoneInfo) -> str:
    """An API time in the utility's zone, to the minute, with the zone's name (``-`` for
    none)."""
    if not value:
        return "-"
    return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
