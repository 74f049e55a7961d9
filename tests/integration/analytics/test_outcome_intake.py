"""The outcome intake (EVT-OUTCOME-OUAI) on local-folder stores, on SQLite and PostgreSQL: good
and bad rows, the first refusals kept, re-deliveries, a newer file replacing a device's row and
an older one changing nothing, files refused whole, and a run that died mid-file."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from outcome_world import OutcomeWorld, open_outcome_world, outcome, outcome_file
from test_intake import StallingFolder, _until

from derlink.platform.intake.claims import FileState

NAME = "OUTCOME_20260718T010000Z_000007.csv"
NEWER = "OUTCOME_20260718T020000Z_000008.csv"
OLDER = "OUTCOME_20260717T230000Z_000006.csv"


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[OutcomeWorld]:
    """On SQLite, then on PostgreSQL."""
    yield from open_outcome_world(tmp_path, database_url)


def accepted(*numbers: int, stage: str = "SG-1") -> list[list[str]]:
    """The ack rows of rows 2, 3, … holding outcome rows ``numbers``, all plainly ACCEPTED."""
    return [
        [str(i + 2), str(n), stage, "ECOBEE-HE", f"NIC-{n}", "ACCEPTED", "", ""]
        for i, n in enumerate(numbers)
    ]


async def test_good_rows_are_kept_bad_rows_refused_by_row_and_the_file_acked(world: OutcomeWorld):
    world.put(
        NAME,
        outcome_file(
            outcome(1),
            outcome(2, Outcome="D1CN", ParticipationStartTime="", ParticipationEndTime="",
                    MeasuredKw=""),
            outcome(3, Outcome="D1XX"),
            outcome(4, ParticipationStartTime="2026-07-17T15:00:00"),
            outcome(5, MeasuredKw="lots"),
            outcome(6, NicId=""),
            outcome(7, ErrorMessage="e" * 101),
            "8,EV-1,SG-1,too,few",
            outcome(9, Outcome="D1ER", ErrorMessage="head-end timeout", MeasuredKw=""),
        ),
    )  # fmt: skip
    (summary,) = await world.outcomes_intake(batch_rows=3, chunk_size=128).run_once()

    assert (summary.name, summary.state) == (NAME, FileState.ACKED)
    assert (summary.rows, summary.accepted, summary.rejected) == (9, 3, 6)
    assert summary.output == f"ACK_{NAME}" and summary.renamed_to == f"Acked-{NAME}"
    assert world.names(world.storage) == [f"Acked-{NAME}"]
    acks = world.outcome_ack(NAME)
    assert [r[0] for r in acks] == [str(n) for n in range(2, 11)]
    assert [(r[1], r[5], r[6]) for r in acks] == [
        ("1", "ACCEPTED", ""),
        ("2", "ACCEPTED", ""),
        ("3", "REJECTED", "AN-OUTCOME-VALUE"),
        ("4", "REJECTED", "AN-OUTCOME-TIME"),
        ("5", "REJECTED", "AN-OUTCOME-VALUE"),
        ("6", "REJECTED", "AN-OUTCOME-MISSING"),
        ("7", "REJECTED", "AN-OUTCOME-LENGTH"),
        ("8", "REJECTED", "AN-OUTCOME-COLUMNS"),
        ("9", "ACCEPTED", ""),
    ]

    held = world.outcomes()
    assert sorted(held) == [("SG-1", "ECOBEE-HE", f"NIC-{n}") for n in (1, 2, 9)]
    first = held[("SG-1", "ECOBEE-HE", "NIC-1")]
    assert first | {"id": None, "received_at": None} == {
        "id": None, "stage_id": "SG-1", "head_end_system": "ECOBEE-HE", "nic_id": "NIC-1",
        "record_id": "1", "event_id": "EV-1", "program_id": "BYOT-2026", "device_id": "D-1",
        "sp_id": "SP1", "outcome": "D1SP", "error_message": "",
        "participation_start_at": "2026-07-17T22:00:00+00:00",
        "participation_end_at": "2026-07-18T00:00:00+00:00", "measured_kw": 1.5,
        "file_name": NAME, "file_seq": 7, "received_at": None,
    }  # fmt: skip
    assert first["received_at"] == world.clock.now().isoformat()
    cancelled = held[("SG-1", "ECOBEE-HE", "NIC-2")]
    assert (cancelled["outcome"], cancelled["participation_start_at"]) == ("D1CN", None)
    failed = held[("SG-1", "ECOBEE-HE", "NIC-9")]
    assert (failed["error_message"], failed["measured_kw"]) == ("head-end timeout", None)

    (claim,) = world.files()
    assert (claim["source"], claim["state"], claim["rows"], claim["accepted"]) == (
        "EVT-OUTCOME-OUAI", "Acked", 9, 3,
    )  # fmt: skip
    kept = world.refusals()
    assert [(r["file_id"], r["row_number"], r["code"]) for r in kept] == [
        (claim["id"], 4, "AN-OUTCOME-VALUE"),
        (claim["id"], 5, "AN-OUTCOME-TIME"),
        (claim["id"], 6, "AN-OUTCOME-VALUE"),
        (claim["id"], 7, "AN-OUTCOME-MISSING"),
        (claim["id"], 8, "AN-OUTCOME-LENGTH"),
        (claim["id"], 9, "AN-OUTCOME-COLUMNS"),
    ]
    assert kept[1]["reason"] == "ParticipationStartTime has no UTC offset"
    assert (kept[0]["record_id"], kept[0]["stage_id"], kept[0]["nic_id"]) == ("3", "SG-1", "NIC-3")
    assert kept[5]["reason"] == "expected 13 columns, found 5"


async def test_only_the_first_refusals_of_a_file_are_kept_and_all_are_acknowledged(
    world: OutcomeWorld,
):
    bad = [outcome(n, Outcome="D1XX") for n in range(1, 26)]
    world.put(NAME, outcome_file(*bad, outcome(26)))
    (summary,) = await world.outcomes_intake(batch_rows=4).run_once()
    assert (summary.accepted, summary.rejected) == (1, 25)
    assert [r[5] for r in world.outcome_ack(NAME)] == ["REJECTED"] * 25 + ["ACCEPTED"]
    assert [r["row_number"] for r in world.refusals()] == list(range(2, 12))


async def test_a_redelivered_file_has_no_second_effect(world: OutcomeWorld):
    data = outcome_file(outcome(1), outcome(2, Outcome="D1XX"))
    world.put(NAME, data)
    await world.outcomes_intake().run_once()
    held, ack = world.outcomes(), (world.content.root / f"ACK_{NAME}").read_bytes()
    refusals = world.refusals()

    other = NAME.replace("000007", "000009")
    world.put(NAME, data)
    world.put(other, data)
    world.clock.advance(hours=1)
    summaries = await world.outcomes_intake().run_once()

    assert [(s.name, s.state, s.renamed_to) for s in summaries] == [
        (NAME, FileState.DUPLICATE, f"Duplicate-{NAME}"),
        (other, FileState.DUPLICATE, f"Duplicate-{other}"),
    ]
    assert world.outcomes() == held  # received_at included: nothing was written again
    assert world.names(world.content) == [f"ACK_{NAME}"]
    assert (world.content.root / f"ACK_{NAME}").read_bytes() == ack
    assert world.refusals() == refusals
    assert len(world.files()) == 1


async def test_a_newer_file_s_row_replaces_the_device_s_row_an_older_file_s_changes_nothing(
    world: OutcomeWorld,
):
    world.put(NAME, outcome_file(outcome(1), outcome(2)))
    await world.outcomes_intake().run_once()
    first = world.outcomes()

    world.clock.advance(minutes=30)
    world.put(NEWER, outcome_file(
        outcome(11, NicId="NIC-1", Outcome="D1ND", ParticipationStartTime="",
                ParticipationEndTime="", MeasuredKw=""),
        outcome(3),
    ))  # fmt: skip
    (newer,) = await world.outcomes_intake().run_once()
    assert (newer.accepted, newer.rejected) == (2, 0)
    held = world.outcomes()
    replaced = held[("SG-1", "ECOBEE-HE", "NIC-1")]
    assert (replaced["outcome"], replaced["record_id"], replaced["file_name"]) == (
        "D1ND", "11", NEWER,
    )  # fmt: skip
    assert replaced["participation_start_at"] is None and replaced["measured_kw"] is None
    assert replaced["received_at"] == world.clock.now().isoformat()
    assert replaced["id"] == first[("SG-1", "ECOBEE-HE", "NIC-1")]["id"]  # its place kept
    assert held[("SG-1", "ECOBEE-HE", "NIC-2")] == first[("SG-1", "ECOBEE-HE", "NIC-2")]

    # A file DERMS wrote before those (a lower seq) comes late: its row of a device held from
    # a newer file changes nothing; its other rows are kept.
    world.put(OLDER, outcome_file(outcome(21, NicId="NIC-1", Outcome="D1ER"), outcome(4)))
    (older,) = await world.outcomes_intake().run_once()
    assert (older.accepted, older.rejected) == (2, 0)
    stale, fresh = world.outcome_ack(OLDER)
    assert stale[5:7] == ["ACCEPTED", "AN-OUTCOME-STALE"]
    assert NEWER in stale[7] and fresh[5:7] == ["ACCEPTED", ""]
    after = world.outcomes()
    assert after[("SG-1", "ECOBEE-HE", "NIC-1")] == replaced
    assert after[("SG-1", "ECOBEE-HE", "NIC-4")]["file_name"] == OLDER
    assert len(after) == 4


async def test_a_later_row_of_a_device_in_one_file_replaces_the_earlier(world: OutcomeWorld):
    world.put(
        NAME,
        outcome_file(
            outcome(1),
            outcome(2, NicId="NIC-1", Outcome="D1IO"),  # the same batch
            outcome(3),
            outcome(4),
            outcome(5, NicId="NIC-3", Outcome="D1ER"),  # a later batch
        ),
    )
    (summary,) = await world.outcomes_intake(batch_rows=2).run_once()
    assert (summary.accepted, summary.rejected) == (5, 0)
    held = world.outcomes()
    assert {k[2]: (v["outcome"], v["record_id"]) for k, v in held.items()} == {
        "NIC-1": ("D1IO", "2"),
        "NIC-3": ("D1ER", "5"),
        "NIC-4": ("D1SP", "4"),
    }


async def test_a_file_whose_name_has_no_seq_has_every_row_refused(world: OutcomeWorld):
    name = "OUTCOME_late-delivery.csv"
    world.put(name, outcome_file(outcome(1), outcome(2)))
    (summary,) = await world.outcomes_intake().run_once()
    assert (summary.state, summary.accepted, summary.rejected) == (FileState.ACKED, 0, 2)
    assert {r[6] for r in world.outcome_ack(name)} == {"AN-OUTCOME-NAME"}
    assert world.outcomes() == {}
    assert [r["code"] for r in world.refusals()] == ["AN-OUTCOME-NAME"] * 2


async def test_a_file_with_a_wrong_header_or_no_header_is_refused_whole(world: OutcomeWorld):
    world.put(NAME, outcome_file(["StageId", "NicId"], outcome(1), header=False))
    world.put(NEWER, b"")
    wrong, empty = await world.outcomes_intake().run_once()
    assert (wrong.state, wrong.renamed_to) == (FileState.REFUSED, f"Error-{NAME}")
    (row,) = world.outcome_ack(NAME)
    assert row[:7] == ["1", "", "", "", "", "REJECTED", "AN-OUTCOME-HEADER"]
    assert row[7].endswith("the first row has 2 columns, not 13")
    assert (empty.state, empty.renamed_to) == (FileState.REFUSED, f"Error-{NEWER}")
    assert world.outcome_ack(NEWER)[0][6] == "AN-OUTCOME-EMPTY"
    assert world.outcomes() == {} and world.refusals() == []
    assert [f["error"].split(":")[0] for f in world.files()] == [
        "AN-OUTCOME-HEADER",
        "AN-OUTCOME-EMPTY",
    ]


async def test_a_run_that_died_mid_file_is_taken_over_and_the_file_completes_once(
    world: OutcomeWorld,
):
    numbers = range(1, 41)
    rows = [outcome(n, Outcome="D1XX") if n % 10 == 0 else outcome(n) for n in numbers]
    world.put(NAME, outcome_file(*rows))
    stalled = world.outcomes_intake(
        StallingFolder(world.storage.root, chunks=3), batch_rows=4, chunk_size=300
    )
    task = asyncio.create_task(stalled.run_once())
    await _until(lambda: bool(world.files()) and world.files()[0]["rows"] > 0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 0 < len(world.outcomes()) < 36
    assert world.names(world.content) == []  # nothing published

    (summary,) = await world.outcomes_intake().run_once()
    assert (summary.state, summary.accepted, summary.rejected) == (FileState.ACKED, 36, 4)
    assert [r[5] for r in world.outcome_ack(NAME)] == [
        "REJECTED" if n % 10 == 0 else "ACCEPTED" for n in numbers
    ]
    assert len(world.outcomes()) == 36
    assert [r["row_number"] for r in world.refusals()] == [11, 21, 31, 41]
    assert [(f["state"], f["attempts"]) for f in world.files()] == [("Acked", 2)]
