"""The hub checks the health of the parts the console shows: analytics only where it runs."""

from __future__ import annotations

from pathlib import Path

from derlink.bootstrap import build, settings_from_env
from derlink.hub.app import HubPart
from derlink.hub.runtime.memory import MemoryRuntime
from derlink.hub.runtime.port import RetryPolicy


def hub_targets(home: Path, parts: tuple[str, ...], **env: str) -> list[str]:
    settings = settings_from_env({"DERLINK_HOME": str(home), "DERLINK_LOAD_SAMPLE": "0", **env})
    built = build(
        settings, parts=parts, runtime=MemoryRuntime(RetryPolicy(max_attempts=1, interval_s=0))
    )
    try:
        hub = built.parts["hub"]
        assert isinstance(hub, HubPart)
        return list(hub.hub.targets.parts())
    finally:
        for part in built.parts.values():
            part.db.dispose()
        for mounted in built.app.routes:
            console = getattr(
                getattr(getattr(mounted, "app", None), "state", None), "console", None
            )
            if console is not None:
                console.sessions.db.dispose()


def test_analytics_health_is_checked_where_analytics_runs(tmp_path: Path):
    every = hub_targets(tmp_path / "all", ("hub", "cpm", "derms", "analytics"))
    assert every == ["cpm", "derms", "analytics"]
    assert hub_targets(tmp_path / "without", ("hub", "cpm", "derms")) == ["cpm", "derms"]
    elsewhere = hub_targets(
        tmp_path / "elsewhere",
        ("hub", "cpm", "derms"),
        DERLINK_ANALYTICS_URL="http://analytics.internal:8400/analytics",
    )
    assert elsewhere == ["cpm", "derms", "analytics"]
