"""Schedules run on the durable runtime: the reconciliation fires on its cron, and run-now
starts it at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from derlink.cli.server import ServerProcess

from .support import client, wait_for


@pytest.mark.slow
def test_the_reconciliation_fires_on_its_cron_and_on_demand(tmp_path: Path):
    server = ServerProcess(tmp_path / "home", extra_env={"DERLINK_RECONCILE_CRON": "*/2 * * * * *"})
    server.start()
    api = client(server)
    try:
        flows = {f["code"]: f for f in api.get("/hub/api/v1/flows").json()}
        assert flows["RECONCILE"]["trigger"] == "schedule"
        assert flows["RECONCILE"]["schedule"] == "*/2 * * * * *"

        def scheduled_runs() -> list:
            found = api.get("/hub/api/v1/instances", params={"flow": "RECONCILE"}).json()
            return [
                i
                for i in found
                if i["id"].startswith("RECONCILE:scheduled-") and i["status"] == "Completed"
            ]

        wait_for(scheduled_runs, timeout_s=30, what="a scheduled reconciliation")
        started = api.post("/hub/api/v1/flows/RECONCILE/run-now").json()
        assert started["instanceId"].startswith("RECONCILE:manual-")
        wait_for(
            lambda: (
                api.get(f"/hub/api/v1/instances/{started['instanceId']}").json()["status"]
                == "Completed"
            ),
            what="the run-now reconciliation",
        )
    finally:
        api.close()
        server.stop()
