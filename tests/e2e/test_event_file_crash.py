"""A crash mid-file of EVT-RESERVE and of EVT-OUTCOME: SIGKILL of ``derlink up`` while the hub
delivers a stage's reservation file, or an outcome file, to cpm window by window. After a
restart on the same data the instance goes on after its last finished window and completes
once: every device holds one participation in cpm (EVT-RESERVE), or every participation its one
outcome (EVT-OUTCOME); none is lost or doubled, and the file is renamed Sent- once."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bench import event_outcome, event_reserve

from derlink.cli.server import ServerProcess

from .support import client, wait_for

DEVICES = 120_000


def _reserve(home: Path, api: Any) -> tuple[str, str]:
    """Approve the seeded event: DERMS reserves its devices and sends the file; (flow, the
    message id that keys the instance)."""
    approver = api.post(
        "/derms/api/v1/events/" + _EVENTS[home] + "/approve",
        headers={"Authorization": f"Bearer approver.{_secret(home, 'approver')}"},
    )
    assert approver.status_code == 200, approver.text
    [stage] = approver.json()["event"]["stages"]
    return "EVT-RESERVE", f"{stage['id']}.R000"


def _outcome(home: Path, api: Any) -> tuple[str, str]:
    """Nothing to do: DERMS closes the seeded stage at its start and sends its outcome file."""
    return "EVT-OUTCOME", "OUTCOME.000001"


_EVENTS: dict[Path, str] = {}


def _secret(home: Path, who: str) -> str:
    clients = json.loads((home / "credentials.json").read_text())["clients"]
    return str(next(c["secret"] for c in clients if c["client_id"] == who))


def _seed_reserve(home: Path) -> None:
    _EVENTS[home] = event_reserve.seed(home, DEVICES)


def _seed_outcome(home: Path) -> None:
    event_outcome.seed(home, DEVICES)


#: Each flow: how its state is written before the start, what starts it, and what cpm holds
#: at the end (a query of one count, and the count).
FLOWS: dict[str, tuple[Callable[[Path], None], Callable[[Path, Any], tuple[str, str]], str]] = {
    "EVT-RESERVE": (
        _seed_reserve,
        _reserve,
        "SELECT COUNT(*), COUNT(DISTINCT nic_id) FROM event_participations",
    ),
    "EVT-OUTCOME": (
        _seed_outcome,
        _outcome,
        "SELECT COUNT(*), COUNT(DISTINCT nic_id) FROM event_participations "
        "WHERE state = 'OutcomeRecorded'",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_a_file_interrupted_by_a_sigkill_completes_once_from_its_last_window(
    tmp_path: Path, flow: str
) -> None:
    seed, start, query = FLOWS[flow]
    home = tmp_path / "home"
    home.mkdir()
    seed(home)
    # Nothing else moves: no sample load, no analytics intake in the way.
    server = ServerProcess(
        home,
        extra_env={"DERLINK_LOAD_SAMPLE": "0", "DERLINK_STAGE_INTERVAL_S": "1",
                   "DERLINK_INTAKE_INTERVAL_S": "3600"},
    )  # fmt: skip
    server.start()
    api = client(server)
    try:
        code, key = start(home, api)

        def instance() -> dict[str, Any] | None:
            found = api.get("/hub/api/v1/instances", params={"key": key}).json()
            return found[0] if found else None

        found = wait_for(instance, timeout_s=300, what=f"the {code} instance")

        def windows_done() -> list[str]:
            timeline = api.get(f"/hub/api/v1/instances/{found['id']}").json()["timeline"]
            return [e["step"] for e in timeline if e["outcome"] == "ok"]

        deadline = time.monotonic() + 300
        while sum(s.startswith("batch-") for s in windows_done()) < 2:
            assert time.monotonic() < deadline, "the delivery never started"
            time.sleep(0.01)
        server.kill()
        api.close()

        server.start()
        api = client(server)
        detail = wait_for(
            lambda: (
                (d := api.get(f"/hub/api/v1/instances/{found['id']}").json())["status"]
                in ("Completed", "Faulted", "Completed with errors")
                and d
            ),
            timeout_s=600,
            what="the interrupted delivery to finish",
        )
        assert detail["status"] == "Completed", detail.get("fault_message")
        ok = [e["step"] for e in detail["timeline"] if e["outcome"] == "ok"]
        windows = [s for s in ok if s.startswith("batch-")]
        # Every window finished, and none twice but the one the kill may have cut off between
        # its end and its checkpoint: the restart went on after the last finished window.
        assert len(windows) - len(set(windows)) <= 1
        assert ok.count("rename-sent") == 1
        outcome = detail["outcome"]
        assert outcome["processed"] == DEVICES
        assert outcome["succeeded"] + outcome["duplicates"] == DEVICES
        # The run after the restart is the same run: not a second instance.
        assert len(api.get("/hub/api/v1/instances", params={"flow": code}).json()) == 1
    finally:
        api.close()
        server.stop()
    with sqlite3.connect(home / "cpm.sqlite") as db:
        held = db.execute(query).fetchone()
    assert held == (DEVICES, DEVICES)
