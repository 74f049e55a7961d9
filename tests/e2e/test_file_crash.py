"""A crash mid-file: SIGKILL of ``derlink up`` while OUAI-ENR copies a large extract in parts.
After a restart on the same data the copy goes on from the last finished part, the file
arrives once and whole, and the source is renamed Sent-."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from derlink.cli.server import ServerProcess
from derlink.platform.files import CHUNK

from .support import client, wait_for

PARTS = 24


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.slow
def test_a_file_interrupted_by_a_sigkill_completes_once_from_its_last_part(tmp_path: Path):
    home = tmp_path / "home"
    source = home / "files" / "cpm-content"
    target = home / "files" / "analytics-storage" / "ENROLL_SYNC_INITIAL_CRASH.csv"
    source.mkdir(parents=True)
    with (source / "ENROLL_SYNC_INITIAL_CRASH.csv").open("wb") as handle:
        for _ in range(PARTS):
            handle.write(os.urandom(CHUNK))
    expected = _sha256(source / "ENROLL_SYNC_INITIAL_CRASH.csv")
    # Nothing else moves: no sample load, no analytics intake in the way, no scheduled listing.
    server = ServerProcess(
        home,
        extra_env={
            "DERLINK_FILE_CRON": "0 0 0 1 1 *",
            "DERLINK_INTAKE_INTERVAL_S": "3600",
        },
    )
    server.start()
    api = client(server)
    try:
        started = api.post("/hub/api/v1/flows/OUAI-ENR/run-now").json()
        (instance,) = started["instances"]

        def parts_done() -> set[str]:
            timeline = api.get(f"/hub/api/v1/instances/{instance}").json()["timeline"]
            return {e["step"] for e in timeline if e["outcome"] == "ok"}

        deadline = time.monotonic() + 60
        while not any(s.startswith("part-") for s in parts_done()):
            assert time.monotonic() < deadline, "the copy never started"
            time.sleep(0.01)
        server.kill()
        api.close()
        assert not target.exists(), "the target appeared before the copy was complete"

        server.start()
        api = client(server)
        detail = wait_for(
            lambda: (
                (d := api.get(f"/hub/api/v1/instances/{instance}").json())["status"]
                in ("Completed", "Faulted")
                and d
            ),
            timeout_s=120,
            what="the interrupted copy to finish",
        )
        assert detail["status"] == "Completed", detail.get("fault_message")
        assert _sha256(target) == expected
        assert sorted(p.name for p in source.iterdir() if not p.name.startswith(".")) == [
            "Sent-ENROLL_SYNC_INITIAL_CRASH.csv"
        ]
        ok = [e["step"] for e in detail["timeline"] if e["outcome"] == "ok"]
        parts = [s for s in ok if s.startswith("part-")]
        # Every part finished, and none twice but the one the kill may have cut off between its
        # end and its checkpoint: the restart went on after the last finished part.
        assert set(parts) == {f"part-{n}" for n in range(1, PARTS + 1)}
        assert len(parts) - PARTS <= 1
        assert ok.count("rename-sent") == 1
        # The run after the restart is the same run: not a second instance, nothing left over.
        assert len(api.get("/hub/api/v1/instances", params={"flow": "OUAI-ENR"}).json()) == 1
        leftovers = list((home / "files" / "analytics-storage" / ".uploads").glob("*"))
        assert leftovers == []
    finally:
        api.close()
        server.stop()
