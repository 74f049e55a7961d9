"""``derlink up`` keeps its data private and its stores untrickable, end to end: a data
directory left open is tightened (and the log says so), everything a run writes there is the
user's alone, and links planted in the content folders to the clients' secrets and to the
console's signing key are set aside unread: never copied, never quoted anywhere."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path

import pytest

from derlink.cli.server import ServerProcess
from derlink.contracts.enrollment_files import EXTRACT_HEADER

from .support import client, wait_for

EXTRACT = "ENROLL_SYNC_INITIAL_20261130T230000Z_PRIV.csv"


def extract_file() -> bytes:
    row = {name: "" for name in EXTRACT_HEADER}
    row.update(
        syncRequestId="SR-PRIV-1", subscriptionId="SUB-PRIV-1", programId="PRG1",
        servicePointId="SPT1", status="Active", startDateTimeISO="2026-06-01T07:00:00.000Z",
        version="1",
    )  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXTRACT_HEADER)
    writer.writerow([row[name] for name in EXTRACT_HEADER])
    return out.getvalue().encode()


def files_under(root: Path) -> list[Path]:
    """Every regular file under ``root``, links never followed."""
    found = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                found.append(path)
    return found


@pytest.mark.slow
def test_a_start_keeps_the_data_private_and_planted_links_to_secrets_go_nowhere(tmp_path: Path):
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o755)
    (home / "notes.txt").write_text("left here by hand\n")
    (home / "notes.txt").chmod(0o644)
    files = home / "files"
    # An extract waiting in cpm's content folder, left open (as an older version wrote it).
    (files / "cpm-content").mkdir(parents=True)
    (files / "cpm-content" / EXTRACT).write_bytes(extract_file())
    (files / "cpm-content" / EXTRACT).chmod(0o644)
    server = ServerProcess(
        home,
        extra_env={"DERLINK_FILE_CRON": "0 0 0 1 1 *", "DERLINK_INTAKE_INTERVAL_S": "0.2"},
    )
    server.start()
    api = client(server)
    try:
        (files / "cpm-content" / "ENROLL_SYNC_INITIAL_LINK.csv").symlink_to(
            home / "credentials.json"
        )
        (files / "analytics-content" / "ENROLL_ACK_ENROLL_SYNC_KEY.csv").symlink_to(
            home / "console.key"
        )

        api.post("/hub/api/v1/flows/OUAI-ENR/run-now").raise_for_status()
        ack = files / "analytics-content" / f"ENROLL_ACK_{EXTRACT}"
        wait_for(ack.exists, what="analytics' ack file")
        api.post("/hub/api/v1/flows/OUAI-ENR-ACK/run-now").raise_for_status()
        wait_for(
            lambda: len(list((home / "outbox").glob("*.eml"))) >= 2,
            what="the e-mails about the links set aside",
        )
        wait_for(
            lambda: (files / "analytics-content" / f"Sent-ENROLL_ACK_{EXTRACT}").exists(),
            what="the ack file applied",
        )
    finally:
        api.close()
        server.stop()

    # The links were set aside, never followed: nothing of them reached analytics.
    assert sorted(p.name for p in (files / "analytics-storage").iterdir() if p.is_file()) == [
        f"Acked-{EXTRACT}"
    ]
    assert (files / "cpm-content" / "Error-ENROLL_SYNC_INITIAL_LINK.csv").is_symlink()
    assert (files / "analytics-content" / "Error-ENROLL_ACK_ENROLL_SYNC_KEY.csv").is_symlink()
    mails = "\n".join(p.read_text() for p in (home / "outbox").glob("*.eml"))
    assert "ENROLL_SYNC_INITIAL_LINK.csv" in mails and "a symbolic link, not a file" in mails

    # No file but the secrets' own holds a secret: no database, e-mail, store or log.
    credentials = json.loads((home / "credentials.json").read_text())
    secrets = [c["secret"] for c in credentials["clients"]]
    secrets.append((home / "console.key").read_text().strip())
    assert len(secrets) > 2
    keep = {home / "credentials.json", home / "console.key"}
    for path in files_under(home):
        if path in keep:
            continue
        data = path.read_bytes()
        assert not [s for s in secrets if s.encode() in data], f"{path} quotes a secret"

    # Everything is the user's alone; the start said what it tightened.
    open_entries = [
        f"{p.relative_to(home)} {stat.S_IMODE(p.lstat().st_mode):o}"
        for p in [home, *home.rglob("*")]
        if not p.is_symlink() and stat.S_IMODE(p.lstat().st_mode) & 0o077
    ]
    assert open_entries == []
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    log = (home / "server.log").read_text()
    assert "made private" in log and "notes.txt" in log
