"""The enrollment intake on local-folder stores: good files, bad input, re-deliveries, versions,
two runs at once, crashes and files that go away mid-read (OUAI-ENR, OUAI-ENR-ACK)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from intake_world import World, accepted, extract, open_world, row

from derlink.analytics.app import open_analytics_database
from derlink.analytics.enrollments.tables import file_claims
from derlink.common.clock import SystemClock
from derlink.common.errors import RemoteFault
from derlink.platform.files import CHUNK, LocalFolder
from derlink.platform.intake.claims import FileState, new_run_id
from derlink.platform.intake.driver import FileIntake
from derlink.platform.intake.refusals import MailRefusals
from derlink.platform.mail import MemoryMailer

NAME = "ENROLL_SYNC_INITIAL_20261130T230000Z_X1.csv"


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    """On SQLite, then on PostgreSQL."""
    yield from open_world(tmp_path, database_url)


any_world = world


# -- a good file -------------------------------------------------------------------------------


async def test_a_good_file_is_stored_acked_row_by_row_and_renamed_acked(any_world: World):
    w = any_world
    w.put(
        NAME,
        extract(
            row(1),
            row(2, division='North, "Zone" 2\nsecond line', endDateTimeISO="2027-05-31T23:59:59Z"),
            row(3, status="Pending", version=4, programCode=""),
        ),
    )
    (summary,) = await w.intake(batch_rows=2, chunk_size=64).run_once()

    assert (summary.name, summary.state) == (NAME, FileState.ACKED)
    assert (summary.rows, summary.accepted, summary.rejected) == (3, 3, 0)
    assert summary.output == f"ENROLL_ACK_{NAME}" and summary.renamed_to == f"Acked-{NAME}"
    assert w.ack(NAME) == accepted(1, 2, 3)
    assert w.names(w.storage) == [f"Acked-{NAME}"]
    assert w.names(w.content) == [f"ENROLL_ACK_{NAME}"]

    stored = w.subscriptions()
    assert sorted(stored) == ["SUB1", "SUB2", "SUB3"]
    assert stored["SUB2"] | {"updated_at": None} == {
        "subscription_id": "SUB2", "sync_request_id": "SR2", "program_id": "PRG1",
        "program_code": "BYOT", "cis_account_id": "A2", "cis_person_id": "P2",
        "service_point_id": "SPT2", "cis_service_point_id": "SP2", "cis_premise_id": "PR2",
        "division": 'North, "Zone" 2\nsecond line', "subscription_type": "DR",
        "status": "Active", "start_at": "2026-06-01T07:00:00.000Z",
        "end_at": "2027-05-31T23:59:59.000Z", "version": 1, "updated_at": None,
        "source_file": NAME,
    }  # fmt: skip
    assert (stored["SUB3"]["status"], stored["SUB3"]["version"]) == ("Pending", 4)
    assert stored["SUB3"]["program_code"] == ""

    (tracked,) = w.files()
    assert tracked["state"] == "Acked" and tracked["checksum"] and tracked["attempts"] == 1
    assert (tracked["rows"], tracked["accepted"], tracked["rejected"]) == (3, 3, 0)
    assert tracked["renamed_to"] == f"Acked-{NAME}" and tracked["error"] is None
    assert tracked["holder"] is None and tracked["finished_at"] is not None


async def test_a_file_with_only_the_header_is_acked_with_no_rows(world: World):
    world.put(NAME, extract())
    (summary,) = await world.intake().run_once()
    assert summary.state == FileState.ACKED and summary.rows == 0
    assert world.ack(NAME) == []


async def test_files_without_the_prefix_are_left_alone(world: World):
    world.put("OTHER.csv", extract(row(1)))
    assert await world.intake().run_once() == []
    assert world.names(world.storage) == ["OTHER.csv"]


# -- entries that cannot be taken: set aside once, reported once -------------------------------


async def test_entries_that_cannot_be_taken_are_set_aside_and_reported_once(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    secret = tmp_path / "console.key"
    secret.write_bytes(b"signing-key-material\n")
    long = "ENROLL_SYNC_" + "L" * 184 + ".csv"  # 200 characters: no room for ENROLL_ACK_
    world.put(long, extract(row(1)))
    world.put("ENROLL_SYNC_ spaced.csv", extract(row(2)))
    (world.storage.root / "ENROLL_SYNC_LINK.csv").symlink_to(secret)
    world.put(NAME, extract(row(3)))
    mailer = MemoryMailer()
    intake = world.intake(refused=MailRefusals(mailer, ["ops@utility.example"]))

    with caplog.at_level(logging.INFO, logger="derlink.intake"):
        summaries = [await intake.run_once() for _ in range(4)]

    assert [len(s) for s in summaries] == [1, 0, 0, 0]  # the good file, once
    assert world.names(world.storage) == sorted(
        [
            f"Acked-{NAME}",
            "Error-ENROLL_SYNC_" + "L" * 168,
            "Error-ENROLL_SYNC_LINK.csv",
            "Error-ENROLL_SYNC__spaced.csv",
        ]
    )
    assert (world.storage.root / "Error-ENROLL_SYNC_LINK.csv").is_symlink()
    assert world.names(world.content) == [f"ENROLL_ACK_{NAME}"]
    assert len(mailer.sent) == 3
    assert {tuple(m["to"]) for m in mailer.sent} == {("ops@utility.example",)}  # type: ignore[arg-type]
    bodies = "\n".join(str(m["body"]) for m in mailer.sent)
    assert "a symbolic link, not a file" in bodies and "signing-key" not in bodies
    refusals = [r for r in caplog.records if "set aside" in r.getMessage()]
    assert len(refusals) == 3
    assert sorted(world.subscriptions()) == ["SUB3"]


# -- bad rows and bad files ------------------------------------------------------------------------


async def test_bad_rows_are_acked_rejected_with_their_reason_and_the_good_rows_go_on(world: World):
    world.put(
        NAME,
        extract(
            row(1),
            "SR2,SUB2,too,few",
            row(3, startDateTimeISO="2026-06-01"),
            row(4, endDateTimeISO="2026-01-01T00:00:00.000Z"),
            row(5, subscriptionId=""),
            row(1, subscriptionId="SUB6"),
            row(7, status="Cancelled"),
            row(8, version="0"),
            "",
            row(9),
        ),
    )
    (summary,) = await world.intake(batch_rows=3).run_once()
    assert (summary.state, summary.rows, summary.accepted, summary.rejected) == (
        FileState.ACKED, 10, 2, 8,
    )  # fmt: skip
    acks = world.ack(NAME)
    assert [r[0] for r in acks] == [str(n) for n in range(2, 12)]
    assert [(r[1], r[3], r[4]) for r in acks] == [
        ("SR1", "ACCEPTED", ""),
        ("SR2", "REJECTED", "AN-COLUMNS"),
        ("SR3", "REJECTED", "AN-DATE"),
        ("SR4", "REJECTED", "AN-DATE"),
        ("SR5", "REJECTED", "AN-MISSING"),
        ("SR1", "REJECTED", "AN-DUPLICATE"),
        ("SR7", "REJECTED", "AN-VALUE"),
        ("SR8", "REJECTED", "AN-VALUE"),
        ("", "REJECTED", "AN-COLUMNS"),
        ("SR9", "ACCEPTED", ""),
    ]
    reasons = {r[0]: r[5] for r in acks}
    assert reasons["3"] == "expected 15 columns, found 4"
    assert reasons["6"] == "subscriptionId is blank"
    assert reasons["7"] == "syncRequestId SR1 already appeared in row 2"
    assert sorted(world.subscriptions()) == ["SUB1", "SUB9"]
    assert world.names(world.storage) == [f"Acked-{NAME}"]


async def test_a_stray_quote_rejects_its_row_and_every_data_row_gets_one_ack_row(world: World):
    rows: list[list[str] | str] = [row(n) for n in range(1, 20)]
    # Row 7 of the file (extract row 6) opens a quoted field it never closes; a later row holds
    # a quoted field of its own, whose first quote would close it, swallowing the rows between.
    rows[5] = 'SR6,SUB6,"PRG1,BYOT,A6,P6,SPT6,SP6,PR6,CA,DR,Active,2026-06-01T07:00:00.000Z,,1'
    rows[17] = row(18, division="North, Zone 1")
    world.put(NAME, extract(*rows))

    (summary,) = await world.intake(chunk_size=64).run_once()

    acks = world.ack(NAME)
    assert [r[0] for r in acks] == [str(n) for n in range(2, 21)]
    assert (summary.rows, summary.accepted, summary.rejected) == (19, 18, 1)
    rejected = [r for r in acks if r[3] == "REJECTED"]
    assert rejected == [
        [
            "7",
            "SR6",
            "SUB6",
            "REJECTED",
            "AN-COLUMNS",
            "row 7 is not readable as CSV: the quoted field in column 3 does not close",
        ]
    ]
    assert sorted(world.subscriptions()) == sorted(f"SUB{n}" for n in range(1, 20) if n != 6)


async def test_an_empty_file_is_refused_whole_unread(world: World):
    world.put(NAME, b"")
    (summary,) = await world.intake().run_once()
    assert summary.state == FileState.REFUSED and summary.renamed_to == f"Error-{NAME}"
    (ack,) = world.ack(NAME)
    assert ack[:5] == ["1", "", "", "REJECTED", "AN-EMPTY"]
    assert world.names(world.storage) == [f"Error-{NAME}"]
    (tracked,) = world.files()
    assert (tracked["state"], tracked["checksum"], tracked["output"]) == (
        "Refused", None, f"ENROLL_ACK_{NAME}",
    )  # fmt: skip
    assert tracked["error"].startswith("AN-EMPTY: the file is empty")


async def test_a_file_over_the_size_limit_is_refused_whole_unread(world: World):
    data = extract(row(1), row(2))
    world.put(NAME, data)
    (summary,) = await world.intake(max_file_bytes=len(data) - 1).run_once()
    assert summary.state == FileState.REFUSED
    assert world.ack(NAME) == [
        ["1", "", "", "REJECTED", "AN-SIZE",
         f"the file has {len(data)} bytes, over the limit of {len(data) - 1}"],
    ]  # fmt: skip
    assert world.names(world.storage) == [f"Error-{NAME}"]
    assert world.subscriptions() == {}


async def test_a_wrong_header_refuses_the_file_whole_and_its_redelivery_is_a_duplicate(
    world: World,
):
    bad = extract(["syncRequestId", "subscriptionId", "version"], row(1), header=False)
    world.put(NAME, bad)
    (summary,) = await world.intake().run_once()
    assert summary.state == FileState.REFUSED and summary.renamed_to == f"Error-{NAME}"
    (ack,) = world.ack(NAME)
    assert ack[:5] == ["1", "", "", "REJECTED", "AN-HEADER"]
    assert ack[5].endswith("; the first row has 3 columns, not 15")
    assert world.subscriptions() == {}

    world.put(NAME, bad)
    (again,) = await world.intake().run_once()
    assert again.state == FileState.DUPLICATE
    assert world.names(world.storage) == [f"Duplicate-{NAME}", f"Error-{NAME}"]
    assert len(world.files()) == 1


# -- re-delivery and versions ---------------------------------------------------------------------


async def test_a_redelivered_file_has_no_second_effect(any_world: World):
    w = any_world
    data = extract(row(1), row(2))
    w.put(NAME, data)
    await w.intake().run_once()
    ack_before = (w.content.root / f"ENROLL_ACK_{NAME}").read_bytes()
    stored_before = w.subscriptions()

    other = NAME.replace("X1", "X2")
    w.put(NAME, data)
    w.put(other, data)
    w.clock.advance(hours=1)
    summaries = await w.intake().run_once()

    assert [(s.name, s.state, s.renamed_to) for s in summaries] == [
        (NAME, FileState.DUPLICATE, f"Duplicate-{NAME}"),
        (other, FileState.DUPLICATE, f"Duplicate-{other}"),
    ]
    assert w.names(w.content) == [f"ENROLL_ACK_{NAME}"]
    assert (w.content.root / f"ENROLL_ACK_{NAME}").read_bytes() == ack_before
    assert w.subscriptions() == stored_before
    assert len(w.files()) == 1
    assert w.names(w.storage) == [f"Acked-{NAME}", f"Duplicate-{NAME}", f"Duplicate-{other}"]


async def test_the_highest_version_of_a_subscription_stands(any_world: World):
    w = any_world
    first = NAME
    w.put(first, extract(row(1, version=2), row(2, version=5)))
    await w.intake().run_once()

    second = NAME.replace("INITIAL", "INCREMENTAL")
    w.put(
        second,
        extract(
            row(21, subscriptionId="SUB1", version=3, status="Inactive"),
            row(22, subscriptionId="SUB2", version=4, status="Inactive"),
            row(23, subscriptionId="SUB2", version=5, status="Pending"),
            row(24, subscriptionId="SUB3", version=1),
            row(25, subscriptionId="SUB3", version=2, status="Pending"),
            row(26, subscriptionId="SUB3", version=1, status="Inactive"),
        ),
    )
    w.clock.advance(minutes=5)
    (summary,) = await w.intake(batch_rows=4).run_once()
    assert (summary.accepted, summary.rejected) == (6, 0)
    assert [(r[2], r[3], r[4], r[5]) for r in w.ack(second)] == [
        ("SUB1", "ACCEPTED", "", ""),
        ("SUB2", "ACCEPTED", "AN-STALE",
         "analytics holds version 5; this row's version 4 changed nothing"),
        ("SUB2", "ACCEPTED", "", ""),
        ("SUB3", "ACCEPTED", "", ""),
        ("SUB3", "ACCEPTED", "", ""),
        ("SUB3", "ACCEPTED", "AN-STALE",
         "analytics holds version 2; this row's version 1 changed nothing"),
    ]  # fmt: skip
    stored = w.subscriptions()
    assert (stored["SUB1"]["version"], stored["SUB1"]["status"]) == (3, "Inactive")
    assert stored["SUB1"]["source_file"] == second
    # The equal version changed nothing: the row from the first file stays.
    assert (stored["SUB2"]["version"], stored["SUB2"]["status"]) == (5, "Active")
    assert (stored["SUB2"]["sync_request_id"], stored["SUB2"]["source_file"]) == ("SR2", first)
    assert (stored["SUB3"]["version"], stored["SUB3"]["sync_request_id"]) == (2, "SR25")


# -- two runs at once ------------------------------------------------------------------------------


async def test_two_runs_at_once_never_take_the_same_file(any_world: World, database_url: str):
    w = any_world
    names = [NAME.replace("X1", f"X{n}") for n in range(1, 5)]
    for n, name in enumerate(names):
        w.put(name, extract(*(row(n * 100 + i) for i in range(1, 30))))
    other = World(w.root, open_analytics_database(database_url))  # a second process's engine
    try:
        first = w.intake(batch_rows=5, chunk_size=200)
        second = other.intake(batch_rows=5, chunk_size=200)
        results = await asyncio.gather(first.run_once(), second.run_once(), first.run_once())
    finally:
        other.db.dispose()

    taken = sorted(s.name for summaries in results for s in summaries)
    assert taken == names
    assert {s.state for summaries in results for s in summaries} == {FileState.ACKED}
    assert [f["attempts"] for f in w.files()] == [1, 1, 1, 1]
    assert w.names(w.storage) == sorted(f"Acked-{n}" for n in names)
    assert len(w.subscriptions()) == 4 * 29
    for n, name in enumerate(names):
        assert w.ack(name) == accepted(*(n * 100 + i for i in range(1, 30)))


# -- crashes ---------------------------------------------------------------------------------------


class StallingFolder(LocalFolder):
    """Its processing read stalls after ``chunks`` chunks, as a process that hangs mid-file."""

    def __init__(self, root: Path, chunks: int) -> None:
        super().__init__(root)
        self.chunks = chunks
        self.reads = 0

    async def read(
        self, name: str, offset: int = 0, chunk_size: int = CHUNK
    ) -> AsyncIterator[bytes]:
        self.reads += 1
        sent = 0
        async for chunk in super().read(name, offset, chunk_size):
            if self.reads > 1 and sent == self.chunks:
                await asyncio.Event().wait()
            yield chunk
            sent += 1


async def _until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_run_that_died_mid_file_is_taken_over_and_the_file_completes_once(world: World):
    numbers = range(1, 41)
    world.put(NAME, extract(*(row(n) for n in numbers)))
    stalled = world.intake(
        StallingFolder(world.storage.root, chunks=3), batch_rows=4, chunk_size=300
    )
    task = asyncio.create_task(stalled.run_once())
    await _until(lambda: bool(world.files()) and world.files()[0]["rows"] > 0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (left,) = world.files()
    assert left["state"] == "Processing" and left["holder"]
    assert 0 < len(world.subscriptions()) < 40
    assert world.names(world.content) == []  # nothing published

    (summary,) = await world.intake().run_once()
    assert summary.state == FileState.ACKED and summary.accepted == 40
    assert world.ack(NAME) == accepted(*numbers)
    (done,) = world.files()
    assert (done["state"], done["attempts"], done["rows"]) == ("Acked", 2, 40)
    assert len(world.subscriptions()) == 40


async def test_a_file_held_by_a_live_process_waits_for_its_lease_to_expire(world: World):
    world.put(NAME, extract(row(1)))
    data = (world.storage.root / NAME).read_bytes()
    alive = f"{new_run_id().split('/')[0]}/{os.getppid()}/elsewhere"
    with world.db.begin() as conn:
        conn.execute(
            file_claims.insert().values(
                source="OUAI-ENR", name=NAME, checksum=hashlib.sha256(data).hexdigest(),
                size=len(data),
                state="Processing", rows=0, accepted=0, rejected=0,
                received_at=world.clock.now().isoformat(), holder=alive,
                heartbeat_at=world.clock.now().isoformat(), attempts=1,
            )
        )  # fmt: skip
    assert await world.intake().run_once() == []
    assert world.names(world.storage) == [NAME]

    world.clock.advance(seconds=301)
    (summary,) = await world.intake().run_once()
    assert summary.state == FileState.ACKED
    assert world.files()[0]["attempts"] == 2


KILLED_RUN = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from derlink.analytics.app import open_analytics_database
    from derlink.analytics.enrollments.service import enrollment_intake
    from derlink.common.clock import SystemClock
    from derlink.platform.files import LocalFolder

    class SlowFolder(LocalFolder):
        async def read(self, name, offset=0, chunk_size=1 << 20):
            async for chunk in super().read(name, offset, chunk_size):
                yield chunk
                await asyncio.sleep(0.1)

    db = open_analytics_database(sys.argv[1])
    intake = enrollment_intake(
        db, SystemClock(), SlowFolder(Path(sys.argv[2])), LocalFolder(Path(sys.argv[3])),
        10**9, batch_rows=5, chunk_size=400,
    )
    asyncio.run(intake.run_once())
    """
)


async def test_a_killed_process_leaves_its_file_to_the_next_run_which_completes_it_once(
    any_world: World, database_url: str
):
    w = any_world
    w.clock = SystemClock()  # type: ignore[assignment]
    numbers = range(1, 201)
    w.put(NAME, extract(*(row(n) for n in numbers)))
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, database_url, str(w.storage.root), str(w.content.root)]
    )
    try:
        await _until(lambda: bool(w.files()) and w.files()[0]["rows"] >= 10)
    finally:
        child.kill()
        child.wait()
    (left,) = w.files()
    assert left["state"] == "Processing" and left["holder"].split("/")[1] == str(child.pid)
    assert w.names(w.content) == [] and w.names(w.storage) == [NAME]

    (summary,) = await w.intake().run_once()
    assert summary.state == FileState.ACKED and summary.accepted == 200
    assert w.ack(NAME) == accepted(*numbers)
    assert len(w.subscriptions()) == 200
    assert [(f["state"], f["attempts"]) for f in w.files()] == [("Acked", 2)]


async def test_an_ack_published_before_a_crash_is_not_written_again(world: World):
    world.put(NAME, extract(row(1)))
    await world.intake().run_once()
    # The crash came after the file was marked Acked and before the input was renamed.
    (world.storage.root / f"Acked-{NAME}").rename(world.storage.root / NAME)
    with world.db.begin() as conn:
        conn.execute(file_claims.update().values(renamed_to=None))
    ack = (world.content.root / f"ENROLL_ACK_{NAME}").stat().st_mtime_ns

    assert await world.intake().run_once() == []
    assert world.names(world.storage) == [f"Acked-{NAME}"]
    assert world.files()[0]["renamed_to"] == f"Acked-{NAME}"
    assert (world.content.root / f"ENROLL_ACK_{NAME}").stat().st_mtime_ns == ack


# -- files that go away, stores that fail ----------------------------------------------------------


class MovedMidRead(LocalFolder):
    """Reads in ranges, as object storage does; someone moves ``victim`` away mid-read."""

    def __init__(self, root: Path, victim: str) -> None:
        super().__init__(root)
        self.victim = victim
        self.reads = 0

    async def read(
        self, name: str, offset: int = 0, chunk_size: int = CHUNK
    ) -> AsyncIterator[bytes]:
        if name == self.victim:
            self.reads += 1
        position = offset
        while data := await self.read_range(name, position, chunk_size):
            yield data
            position += len(data)
            if name == self.victim and self.reads == 2:  # the intake's read, after its checksum
                (self.root / name).rename(self.root / f"moved-{name}")


async def test_a_file_that_goes_away_mid_read_fails_cleanly_and_the_others_go_on(world: World):
    other = NAME.replace("X1", "X2")
    world.put(NAME, extract(*(row(n) for n in range(1, 30))))
    world.put(other, extract(row(100)))
    storage = MovedMidRead(world.storage.root, NAME)
    gone, done = await world.intake(storage, batch_rows=5, chunk_size=256).run_once()

    assert gone.name == NAME and gone.state == FileState.REFUSED
    assert gone.error is not None and "went away while it was read" in gone.error
    assert gone.output is None and gone.renamed_to is None
    assert (done.name, done.state) == (other, FileState.ACKED)
    assert world.names(world.content) == [f"ENROLL_ACK_{other}"]
    assert world.leftovers() == []  # nothing half-published
    failed = world.files()[0]
    assert (failed["state"], failed["output"], failed["holder"]) == ("Refused", None, None)
    assert "went away" in failed["error"]

    # Nothing is lost: delivered again, the file is taken again and completes.
    (world.storage.root / f"moved-{NAME}").rename(world.storage.root / NAME)
    (again,) = await world.intake().run_once()
    assert again.state == FileState.ACKED and again.accepted == 29
    assert world.ack(NAME) == accepted(*range(1, 30))
    assert world.files()[0]["attempts"] == 2 and world.files()[0]["error"] is None


class BrokenReads(LocalFolder):
    """Its checksum reads work; the intake's reads fail as an unreachable server would."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads = 0

    async def read(
        self, name: str, offset: int = 0, chunk_size: int = CHUNK
    ) -> AsyncIterator[bytes]:
        self.reads += 1
        if self.reads % 2 == 0:
            raise RemoteFault("object storage unreachable")
        async for chunk in super().read(name, offset, chunk_size):
            yield chunk


async def test_a_file_that_keeps_failing_is_retried_then_given_up(world: World):
    world.put(NAME, extract(row(1)))
    storage = BrokenReads(world.storage.root)
    (first,) = await world.intake(storage, max_attempts=2).run_once()
    assert first.state == FileState.REFUSED and first.renamed_to is None
    assert first.error == "DL-REMOTE: object storage unreachable"
    assert world.names(world.storage) == [NAME]  # waits for the next run

    (second,) = await world.intake(storage, max_attempts=2).run_once()
    assert second.state == FileState.REFUSED and second.renamed_to == f"Error-{NAME}"
    assert second.error == "given up after 2 attempts; last: DL-REMOTE: object storage unreachable"
    assert world.names(world.storage) == [f"Error-{NAME}"]
    assert world.names(world.content) == [] and world.leftovers() == []
    assert await world.intake(storage, max_attempts=2).run_once() == []
    with world.db.read() as conn:
        assert conn.execute(sa.select(file_claims.c.attempts)).scalar_one() == 2


class StopsMidRead(LocalFolder):
    """Asks the intake to stop once its processing read has sent two chunks."""

    intake: FileIntake

    async def read(
        self, name: str, offset: int = 0, chunk_size: int = CHUNK
    ) -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in super().read(name, offset, chunk_size):
            yield chunk
            sent += 1
            if chunk_size < CHUNK and sent == 2:  # the intake's read, not its checksum
                self.intake.stop()


async def test_an_intake_stopped_mid_file_leaves_it_for_the_next_run(world: World):
    world.put(NAME, extract(*(row(n) for n in range(1, 30))))
    storage = StopsMidRead(world.storage.root)
    storage.intake = world.intake(storage, batch_rows=2, chunk_size=100)
    assert await storage.intake.run_once() == []
    assert world.files()[0]["state"] == "Processing"
    assert world.names(world.content) == [] and world.leftovers() == []

    (summary,) = await world.intake().run_once()
    assert summary.state == FileState.ACKED and summary.accepted == 29
    assert world.ack(NAME) == accepted(*range(1, 30))


class ChangesUnderneath(LocalFolder):
    """The intake's read finds other bytes than its checksum read did."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads = 0

    async def read(
        self, name: str, offset: int = 0, chunk_size: int = CHUNK
    ) -> AsyncIterator[bytes]:
        self.reads += 1
        async for chunk in super().read(name, offset, chunk_size):
            yield chunk
        if self.reads == 2:
            yield ",".join(row(99)).encode() + b"\n"


async def test_a_file_that_changes_while_it_is_read_publishes_nothing_and_is_read_again(
    world: World,
):
    world.put(NAME, extract(row(1), row(2)))
    (changed,) = await world.intake(ChangesUnderneath(world.storage.root)).run_once()
    assert changed.state == FileState.REFUSED
    assert changed.error is not None and changed.error.startswith("DL-INTAKE-FILE-CHANGED")
    assert world.names(world.content) == [] and world.names(world.storage) == [NAME]

    (summary,) = await world.intake().run_once()
    assert summary.state == FileState.ACKED
    assert world.ack(NAME) == accepted(1, 2)
