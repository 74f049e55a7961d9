"""analytics as a part, built as the composition root builds it on a test's database, with its
intake loop off unless a test turns it on; and what the part tests do with it."""

from __future__ import annotations

from pathlib import Path

from intake_world import StillClock

from derlink.analytics.app import AnalyticsPart, create_part
from derlink.analytics.settings import AnalyticsSettings
from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.platform.auth import CredentialStore
from derlink.platform.settings import Settings

API = "/api/v1"


def build(home: Path, database_url: str, **settings: object) -> AnalyticsPart:
    return create_part(
        settings=Settings(home=home, part_database_urls={"analytics": database_url}).with_part(
            AnalyticsSettings(**{"intake_interval_s": 0.0, **settings})  # type: ignore[arg-type]
        ),
        credentials=CredentialStore.load_or_create(home / "credentials.json", DEFAULT_CLIENTS),
        clock=StillClock(),
    )


def put(part: AnalyticsPart, name: str, data: bytes) -> None:
    root = Path(part.storage.location.removeprefix("file://"))
    (root / name).write_bytes(data)


def headers(part: AnalyticsPart, client: str = "operator") -> dict[str, str]:
    return CredentialStore.load(part.settings.home / "credentials.json").client(client).header()
