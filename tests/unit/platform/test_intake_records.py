"""The intake's records: splitting bytes into numbered CSV records, where a reader may stop and go
on, the header, the shape of each row, and the output's CSV."""

from __future__ import annotations

import csv
import io

import pytest

from derlink.platform.intake.records import (
    Position,
    RecordSplitter,
    RowReject,
    Unreadable,
    check_shape,
    csv_text,
    header_problem,
)

HEADER = ("id", "name", "value")


def split(data: bytes, chunk: int, **options: int) -> list[tuple[int, list[str] | Unreadable]]:
    splitter = RecordSplitter(**options)
    out = []
    for start in range(0, len(data), chunk):
        out.extend(splitter.feed(data[start : start + chunk]))
    out.extend(splitter.finish())
    assert splitter.consumed == len(data)
    return out


def resumed(data: bytes, chunk: int, **options: int) -> list[tuple[int, list[str] | Unreadable]]:
    """The records, read as a reader that stops after every chunk and goes on from the position
    the splitter gave it (a fresh splitter each time, as after a crash)."""
    out: list[tuple[int, list[str] | Unreadable]] = []
    at = Position()
    while at.offset < len(data):
        splitter = RecordSplitter(first_row=at.row, **options)
        piece = data[at.offset : at.offset + chunk]
        records = splitter.feed(piece)
        if at.offset + len(piece) >= len(data):
            records += splitter.finish()
        if not records and not splitter.skipping:
            chunk *= 2  # a record longer than the chunk: read more at once
            continue
        out.extend(records)
        at = Position(at.offset + splitter.consumed, at.row + len(records))
    return out


DATA = (
    "h1,h2\n"
    + 'SR1,SUB1,"a ""quoted"", comma",x\n'
    + 'SR2,"line one\nline two\n",z\n'
    + "SR3,é,ü\r\n"
    + "SR4,last,no newline"
).encode()
RECORDS = [
    (1, ["h1", "h2"]),
    (2, ["SR1", "SUB1", 'a "quoted", comma', "x"]),
    (3, ["SR2", "line one\nline two\n", "z"]),
    (4, ["SR3", "é", "ü"]),
    (5, ["SR4", "last", "no newline"]),
]


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 100_000])
def test_records_come_out_the_same_whatever_the_chunks_and_quoted_newlines_stay_in_their_field(
    chunk: int,
):
    assert split(DATA, chunk) == RECORDS


@pytest.mark.parametrize("chunk", [1, 3, 9, 20, 100_000])
def test_a_reader_that_stops_after_any_chunk_goes_on_at_a_record_boundary(chunk: int):
    assert resumed(DATA, chunk) == RECORDS


def test_consumed_stops_before_a_record_that_is_not_finished():
    splitter = RecordSplitter(first_row=7)
    records = splitter.feed(b'a,b\n"c\nc\nd')
    assert records == [(7, ["a", "b"])]
    assert splitter.consumed == len(b"a,b\n")
    assert splitter.pending == len(b'"c\nc\nd')
    records = splitter.feed(b'",e\nf,g\nh')
    assert records == [(8, ["c\nc\nd", "e"]), (9, ["f", "g"])]
    assert splitter.consumed == len(b'a,b\n"c\nc\nd",e\nf,g\n')
    assert splitter.pending == 1


def test_consumed_counts_the_bytes_of_a_record_that_is_not_utf8():
    line = b"x\xff,y\n"
    splitter = RecordSplitter()
    ((number, fields),) = splitter.feed(line + b'"open\xff')
    assert splitter.suspect and number == 1 and fields == ["x\ufffd", "y"]
    assert splitter.consumed == len(line)


def test_a_lone_carriage_return_is_data_and_only_newline_ends_a_line():
    records = split(b'h\n"a\rb",c\nd\x0bx,e\n', 3)
    assert records == [(1, ["h"]), (2, ["a\rb", "c"]), (3, ["d\x0bx", "e"])]


def test_a_line_over_the_limit_is_one_unreadable_record_and_the_next_lines_go_on():
    data = b"h\n" + b"x" * 120 + b"\nnext,row\n"
    records = split(data, 16, line_max=50)
    assert [n for n, _ in records] == [1, 2, 3]
    assert isinstance(records[1][1], Unreadable)
    assert "longer than 50 bytes" in records[1][1].reason
    assert records[2] == (3, ["next", "row"])


def test_a_field_too_large_for_the_csv_reader_is_an_unreadable_record():
    data = b"h\n" + b'a,"' + b"y" * 200_000 + b'"\nb,c\n'
    records = split(data, 65536)
    assert isinstance(records[1][1], Unreadable)
    assert "not readable as CSV" in records[1][1].reason
    assert records[-1] == (3, ["b", "c"])


# -- broken quoting: a row of its own, and the next rows read ----------------------------------


def rows(*lines: str) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


#: Row 7 opens a quoted field it never closes; row 20 holds a quoted field of its own, whose
#: first quote would otherwise close row 7's, swallowing rows 8 to 19.
STRAY = rows(
    "id,name,value",
    *[f"SR{n},n{n},v{n}" for n in range(2, 7)],
    'SR7,"s3cr3t,v7',
    *[f"SR{n},n{n},v{n}" for n in range(8, 20)],
    'SR20,"twenty, quoted",v20',
    "SR21,n21,v21",
)


def expected_stray() -> list[tuple[int, list[str] | Unreadable]]:
    out: list[tuple[int, list[str] | Unreadable]] = [(1, ["id", "name", "value"])]
    out += [(n, [f"SR{n}", f"n{n}", f"v{n}"]) for n in range(2, 7)]
    out += [
        (
            7,
            Unreadable(
                "not readable as CSV: the quoted field in column 2 does not close", ("SR7",)
            ),
        )
    ]
    out += [(n, [f"SR{n}", f"n{n}", f"v{n}"]) for n in range(8, 20)]
    out += [(20, ["SR20", "twenty, quoted", "v20"]), (21, ["SR21", "n21", "v21"])]
    return out


@pytest.mark.parametrize("chunk", [1, 5, 16, 64, 100_000])
def test_a_stray_quote_is_one_unreadable_row_and_every_row_after_it_is_read(chunk: int):
    assert split(STRAY, chunk, width=3) == expected_stray()


@pytest.mark.parametrize("chunk", [3, 16, 64, 100_000])
def test_a_reader_resumed_anywhere_reads_the_rows_after_a_stray_quote(chunk: int):
    assert resumed(STRAY, chunk, width=3) == expected_stray()


@pytest.mark.parametrize("chunk", [1, 7, 100_000])
def test_a_stray_quote_that_never_closes_loses_no_row(chunk: int):
    data = rows("a,b,c", 'x,"open,y', "1,2,3", "4,5,6") + b"7,8,9"
    records = split(data, chunk, width=3)
    assert [n for n, _ in records] == [1, 2, 3, 4, 5]
    assert isinstance(records[1][1], Unreadable)
    assert records[2:] == [(3, ["1", "2", "3"]), (4, ["4", "5", "6"]), (5, ["7", "8", "9"])]


@pytest.mark.parametrize("chunk", [1, 9, 100_000])
def test_a_quoted_field_open_over_the_line_limit_is_cut_there_and_loses_no_row(chunk: int):
    many = [f"{n},{n},{n}" for n in range(3, 40)]
    data = rows("a,b,c", 'x,"open,y', *many, '"late",q,r')
    records = split(data, chunk, width=3, line_max=60)
    assert [n for n, _ in records] == list(range(1, 41))
    assert isinstance(records[1][1], Unreadable)
    assert [r[1] for r in records[2:39]] == [[str(n)] * 3 for n in range(3, 40)]
    assert records[-1] == (40, ["late", "q", "r"])


@pytest.mark.parametrize("chunk", [5, 100_000])
def test_a_stray_quote_on_every_line_is_still_one_record_per_line(chunk: int):
    data = rows("a,b,c", *['"x,y,z'] * 300, "1,2,3")
    records = split(data, chunk, width=3)
    assert [n for n, _ in records] == list(range(1, 303))
    assert all(isinstance(fields, Unreadable) for _, fields in records[1:300])
    assert records[-1] == (302, ["1", "2", "3"])


def test_a_quoted_line_break_stays_in_a_record_of_the_right_width():
    data = rows("a,b,c", 'SR2,"line one', 'line two",z', "SR3,y,z")
    assert split(data, 4, width=3) == [
        (1, ["a", "b", "c"]),
        (2, ["SR2", "line one\nline two", "z"]),
        (3, ["SR3", "y", "z"]),
    ]


def test_lines_that_a_quote_joins_into_a_record_of_the_wrong_width_are_rows_of_their_own():
    data = rows("a,b,c", 'SR2,"x', 'SR3,y",z,w', "SR4,y,z")
    records = split(data, 100, width=3)
    assert [n for n, _ in records] == [1, 2, 3, 4]
    assert isinstance(records[1][1], Unreadable)
    assert records[2] == (3, ["SR3", 'y"', "z", "w"])
    assert records[3] == (4, ["SR4", "y", "z"])


def test_a_broken_row_is_described_by_its_shape_never_by_its_content():
    ((_, what),) = [r for r in split(STRAY, 100_000, width=3) if r[0] == 7]
    assert isinstance(what, Unreadable)
    assert "s3cr3t" not in what.reason and "SR7" not in what.reason


# -- the header --------------------------------------------------------------------------------


def test_the_header_passes_and_no_record_at_all_is_an_empty_file():
    assert header_problem(list(HEADER), HEADER) is None
    empty = header_problem(None, HEADER)
    assert empty is not None and empty.empty
    assert empty.reason == "the file is empty: expected the header id,name,value"


@pytest.mark.parametrize(
    ("found", "hint"),
    [
        (["id", "name"], "the first row has 2 columns"),
        (["id", "nom", "valeur"], "in the first row, column 2 is not name, column 3 is not value"),
        (
            ["\ufeffid", "name", "value"],
            "column 1 is not id (the file starts with a byte-order mark)",
        ),
        (Unreadable("a line longer than 9 bytes"), "the header row is a line longer"),
        ([], "the first row has no column"),
    ],
)
def test_a_wrong_header_says_what_was_expected_and_where_it_differs(found, hint):
    problem = header_problem(found, HEADER)
    assert problem is not None and not problem.empty
    assert hint in problem.reason
    if not isinstance(found, Unreadable):
        assert problem.reason.startswith("expected header id,name,value; ")


def test_a_wrong_header_never_quotes_the_first_row():
    secret = ["-----BEGIN OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXktdjEAAAAA", "x"]
    for found in (secret, secret[:1], [*secret, "more"]):
        problem = header_problem(found, HEADER)
        assert problem is not None
        assert "OPENSSH" not in problem.reason and "b3Bl" not in problem.reason


# -- the shape of each row ---------------------------------------------------------------------


def test_each_badly_shaped_row_is_rejected_as_data_and_the_good_ones_pass():
    shaped = check_shape(
        [
            (2, ["1", "a", "x"]),
            (3, ["2", "b"]),
            (4, []),
            (5, Unreadable("not readable as CSV: field larger than field limit")),
            (6, ["3", "c\ufffd", "y"]),
        ],
        width=3,
        suspect=True,
        columns_code="COLS",
        encoding_code="UTF8",
        keys=lambda fields: tuple(fields[:1]),
    )
    assert shaped == [
        (2, ["1", "a", "x"]),
        (3, RowReject(3, "COLS", "expected 3 columns, found 2", ("2",))),
        (4, RowReject(4, "COLS", "expected 3 columns, found 0", ())),
        (5, RowReject(5, "COLS", "row 5 is not readable as CSV: field larger than field limit")),
        (6, RowReject(6, "UTF8", "the row is not valid UTF-8", ("3",))),
    ]


def test_a_replacement_character_is_data_where_every_byte_was_utf8():
    (row,) = check_shape(
        [(2, ["1", "c\ufffd", "y"])], width=3, suspect=False, columns_code="C", encoding_code="U"
    )
    assert row == (2, ["1", "c\ufffd", "y"])


# -- output rows -------------------------------------------------------------------------------


def test_the_output_quotes_as_rfc_4180_asks_and_reads_back():
    rows = [(2, "SR1", "ACCEPTED", ""), (3, "SR,2", 'S"2', "line\nbreak"), (4, "SR\r3", "", "cr")]
    text = csv_text(rows, header=("rowNumber", "id", "result", "reason"))
    assert text.splitlines()[0] == "rowNumber,id,result,reason"
    assert '3,"SR,2","S""2","line\nbreak"\n' in text
    assert '4,"SR\r3",,cr\n' in text
    back = list(csv.reader(io.StringIO(text, newline="")))
    assert back[1:] == [[str(c) for c in row] for row in rows]
