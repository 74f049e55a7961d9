"""The CLI's client of a running derlink: operator credentials from the data directory."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from derlink.bootstrap import settings_from_env
from derlink.platform.auth import CredentialStore
from derlink.platform.settings import Settings

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="Data directory (default: $DERLINK_HOME or ./.derlink)."),
]


def settings_for(home: Path | None = None, **overrides: Any) -> Settings:
    """The environment's settings, with the command line's data directory and overrides."""
    settings = settings_from_env()
    if home is not None:
        settings = replace(settings, home=home)
    return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


class Api:
    def __init__(self, settings: Settings, client_id: str = "operator") -> None:
        path = settings.home / "credentials.json"
        if not path.exists():
            raise typer.BadParameter(
                f"no credentials at {path}: start derlink first (derlink up), or set DERLINK_HOME"
            )
        client = CredentialStore.load(path).client(client_id)
        self.settings = settings
        self.headers = client.header()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            with httpx.Client(
                base_url=self.settings.base_url, headers=self.headers, timeout=120.0
            ) as http:
                response = http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            # ``path`` may be a whole URL (a part elsewhere): name what was actually called.
            where = path if "://" in path else self.settings.base_url
            raise typer.BadParameter(
                f"derlink is not reachable at {where} ({exc}); is it running?"
            ) from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            typer.secho(f"error {response.status_code}: {detail}", fg="red", err=True)
            raise typer.Exit(1)
        return response.json() if response.content else None
