"""A crash mid-file of DEV-SCORE and of LRF: SIGKILL of ``derlink up`` while the hub delivers a
large score or forecast file to DERMS window by window. After a restart on the same data the
instance goes on after its last finished window and completes once: every device (service
point) is in DERMS once, the file is renamed Sent-, and the window the kill may have cut off is
the only one delivered twice (its rows are stale the second time)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from derlink.cli.server import ServerProcess
from derlink.contracts.input_files import FORECAST_HEADER, SCORE_HEADER

from .support import client, wait_for

ROWS = 200_000


def _score_file(path: Path) -> None:
    with path.open("w") as out:
        out.write(",".join(SCORE_HEADER) + "\n")
        for n in range(ROWS):
            out.write(
                f"D-{n},ECOBEE-HE,NIC-{n:07d},{n % 101},4,0.9,0.5,"
                "2026-07-15T23:00:00.000Z,2026-07-16T06:00:00.000Z\n"
            )


def _forecast_file(path: Path) -> None:
    band = ";".join(["0.4"] * 24)
    with path.open("w") as out:
        out.write(",".join(FORECAST_HEADER) + "\n")
        for n in range(ROWS):
            out.write(
                f"2026-07-16T06:00:00Z,BYOT,SP{n:08d},2026-07-17T00:00:00-07:00,"
                f"2026-07-18T00:00:00-07:00,3600,3,0.2,0.4,{band},{band},{band}\n"
            )


#: Each flow: its source store, a file of ``ROWS`` rows, and what DERMS keeps (table, key).
FLOWS = {
    "DEV-SCORE": ("cpm-content", "SDCSE_20260716T060000Z.csv", _score_file,
                  "device_scores", "nic_id"),
    "LRF": ("analytics-content", "LRF_20260716T060000Z.csv", _forecast_file, "forecasts",
            "sp_id"),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("flow", sorted(FLOWS))
def test_a_file_interrupted_by_a_sigkill_completes_once_from_its_last_window(
    tmp_path: Path, flow: str
):
    store, name, write, table, key = FLOWS[flow]
    home = tmp_path / "home"
    source = home / "files" / store
    source.mkdir(parents=True)
    write(source / name)
    # Nothing else moves: no sample load, no analytics intake in the way, no scheduled listing.
    server = ServerProcess(
        home,
        extra_env={"DERLINK_FILE_CRON": "0 0 0 1 1 *", "DERLINK_INTAKE_INTERVAL_S": "3600"},
    )
    server.start()
    api = client(server)
    try:
        started = api.post(f"/hub/api/v1/flows/{flow}/run-now").json()
        (instance,) = started["instances"]

        def windows_done() -> list[str]:
            timeline = api.get(f"/hub/api/v1/instances/{instance}").json()["timeline"]
            return [e["step"] for e in timeline if e["outcome"] == "ok"]

        deadline = time.monotonic() + 120
        while sum(s.startswith("batch-") for s in windows_done()) < 2:
            assert time.monotonic() < deadline, "the delivery never started"
            time.sleep(0.01)
        server.kill()
        api.close()
        assert (source / name).exists(), "the file was renamed before the delivery was complete"

        server.start()
        api = client(server)
        detail = wait_for(
            lambda: (
                (d := api.get(f"/hub/api/v1/instances/{instance}").json())["status"]
                in ("Completed", "Faulted", "Completed with errors")
                and d
            ),
            timeout_s=300,
            what="the interrupted delivery to finish",
        )
        assert detail["status"] == "Completed", detail.get("fault_message")
        assert sorted(p.name for p in source.iterdir() if not p.name.startswith(".")) == [
            f"Sent-{name}"
        ]
        ok = [e["step"] for e in detail["timeline"] if e["outcome"] == "ok"]
        windows = [s for s in ok if s.startswith("batch-")]
        # Every window finished, and none twice but the one the kill may have cut off between
        # its end and its checkpoint: the restart went on after the last finished window.
        assert len(windows) - len(set(windows)) <= 1
        assert ok.count("rename-sent") == 1
        outcome = detail["outcome"]
        assert outcome["processed"] == ROWS
        assert outcome["applied"] + outcome["stale"] == ROWS
        # The run after the restart is the same run: not a second instance.
        assert len(api.get("/hub/api/v1/instances", params={"flow": flow}).json()) == 1
    finally:
        api.close()
        server.stop()
    with sqlite3.connect(home / "derms.sqlite") as db:
        held = db.execute(f"SELECT COUNT(*), COUNT(DISTINCT {key}) FROM {table}").fetchone()
    assert held == (ROWS, ROWS)
