"""Reading a file's records from a real store (a local folder, SFTP, S3): forward as a stream,
or window by window from the position the last window returned, as a resumed step would."""

from __future__ import annotations

import pytest

from derlink.platform.files import FileMissing, FileStore, iterate
from derlink.platform.intake.reader import read_window, stream_records
from derlink.platform.intake.records import Position, Unreadable

LINES = [f"{n},name {n},{'x' * (n % 37)}" for n in range(1, 400)]
QUOTED = 'q,"a field\nover three\nlines",end'
DATA = ("id,name,value\n" + "\n".join([*LINES[:200], QUOTED, *LINES[200:]]) + "\n").encode()


def expected() -> list[tuple[int, list[str]]]:
    rows = [["id", "name", "value"]] + [line.split(",") for line in LINES[:200]]
    rows += [["q", "a field\nover three\nlines", "end"]] + [line.split(",") for line in LINES[200:]]
    return list(enumerate(rows, start=1))


async def test_a_stream_and_windows_read_the_same_records_and_windows_resume_at_positions(
    file_store: FileStore,
):
    await file_store.write("in.csv", iterate(DATA))
    streamed = []
    async for batch in stream_records(file_store, "in.csv", chunk_size=333):
        streamed.extend(batch.records)
    assert streamed == expected()

    windows, at = [], Position()
    while at.offset < len(DATA):
        batch = await read_window(file_store, "in.csv", at, size=len(DATA), window=100)
        assert batch.records and batch.next.offset > at.offset
        windows.extend(batch.records)
        at = batch.next
    assert windows == expected()
    assert at == Position(len(DATA), len(expected()) + 1)


async def test_a_stream_from_a_position_goes_on_from_there(file_store: FileStore):
    await file_store.write("in.csv", iterate(DATA))
    first = await read_window(file_store, "in.csv", Position(), size=len(DATA), window=2000)
    rest = []
    async for batch in stream_records(file_store, "in.csv", start=first.next, chunk_size=500):
        rest.extend(batch.records)
    assert first.records + rest == expected()


async def test_a_record_longer_than_a_window_is_read_whole(file_store: FileStore):
    data = b"id,name\n" + b"y" * 3000 + b"\nlast,row\n"
    await file_store.write("long.csv", iterate(data))
    batch = await read_window(file_store, "long.csv", Position(8, 2), size=len(data), window=512)
    # The line is longer than the window: the reader reads on to its end.
    assert batch.records == [(2, ["y" * 3000]), (3, ["last", "row"])]


async def test_a_file_shorter_than_listed_is_missing(file_store: FileStore):
    await file_store.write("short.csv", iterate(b"id\n1\n"))
    with pytest.raises(FileMissing, match="before its listed size"):
        await read_window(file_store, "short.csv", Position(5, 3), size=50)


async def test_a_quote_that_never_closes_costs_its_own_row_in_a_stream_and_in_windows(
    file_store: FileStore,
):
    data = b'id,v\n"open,1\n' + b"".join(b"%d,z\n" % n for n in range(3, 603))
    await file_store.write("open.csv", iterate(data))
    expected = [(1, ["id", "v"])] + [(n, [str(n), "z"]) for n in range(3, 603)]

    streamed = []
    async for batch in stream_records(file_store, "open.csv", chunk_size=100, width=2):
        streamed.extend(batch.records)
    windows, at = [], Position()
    while at.offset < len(data):
        batch = await read_window(file_store, "open.csv", at, size=len(data), window=64, width=2)
        windows.extend(batch.records)
        at = batch.next

    for records in (streamed, windows):
        assert [n for n, _ in records] == list(range(1, 603))
        assert isinstance(records[1][1], Unreadable)
        assert [r for r in records if r[0] != 2] == expected


async def test_a_line_over_the_limit_in_a_stream_is_unreadable_and_skipped(file_store: FileStore):
    data = b"id\n" + b"w" * (1024 * 1024 + 10) + b"\n2\n"
    await file_store.write("wide.csv", iterate(data))
    records = []
    async for batch in stream_records(file_store, "wide.csv", chunk_size=256 * 1024):
        records.extend(batch.records)
    assert records[0] == (1, ["id"])
    assert isinstance(records[1][1], Unreadable)
    assert records[2] == (3, ["2"])
