"""A file's CSV records, and what the intake says of the ones it cannot take. Pure: no I/O.

- :class:`RecordSplitter` turns the file's bytes, pushed in chunks of any size, into CSV
  records numbered as the file contracts number them (the header is row 1), holding no more
  than one chunk plus one record; it says how many bytes it has consumed, so a reader can
  stop after any chunk and go on later from a :class:`Position` at a record boundary;
- :func:`header_problem` checks the first record against the header a file kind has;
- :func:`check_shape` turns records into their fields, or a :class:`RowReject` (row number,
  code, reason) for a record that is unreadable, has the wrong number of columns or holds bytes
  that were not UTF-8; the kind's own validation goes on from there;
- :func:`csv_text` writes output rows (an acknowledgement, an error report) as RFC 4180 CSV.

Lines end at ``\\n`` only (a lone ``\\r`` is data). A quoted field may hold line breaks and may
straddle two chunks, in a record that is whole (see :class:`RecordSplitter`: else a stray quote
costs its own line, never the lines after it). A line longer than ``line_max`` bytes is one
unreadable record, skipped to its end; so is a record the CSV reader refuses (a field over its
size limit). Bytes that are not UTF-8 are decoded as U+FFFD and the records of that chunk are
marked ``suspect``. What is said of a record it cannot take names where (row, column), never
what it holds: a file that is not the kind's may hold anything, a secret included.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

#: A line longer than this is not read: its record is unreadable and skipped to the line's end.
LINE_MAX_BYTES = 1024 * 1024
_NOT_UTF8 = "\ufffd"


class Position(NamedTuple):
    """Where the next record of a file starts: its byte offset and its row number."""

    offset: int = 0
    #: The header is row 1.
    row: int = 1


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A record the CSV reader could not read, or a line too long to read at all."""

    reason: str
    #: The fields read before the trouble began (what names the row in its output row).
    fields: tuple[str, ...] = ()


#: What the splitter yields: a row number and the record's fields, or why it has none.
Record = tuple[int, "list[str] | Unreadable"]


@dataclass(frozen=True, slots=True)
class RowReject:
    """A row (or a whole file: row 1) the intake did not take, and why, as data.

    ``keys`` are the row's identifying fields as far as they could be read (what an output row
    names it by: an acknowledgement's syncRequestId and subscriptionId, say)."""

    row_number: int
    code: str
    reason: str
    keys: tuple[str, ...] = ()


# -- bytes → CSV records ----------------------------------------------------------------------


class _NeedMore(Exception):
    """The lines so far end inside a quoted field: the record goes on in the next chunk."""


def _lines_then_need_more(lines: list[str], first: int, eof: bool) -> Iterator[str]:
    # From a line on without skipping the ones before it one by one: a file with many stray
    # quotes starts many times in one chunk.
    yield from (lines if first == 0 else map(lines.__getitem__, range(first, len(lines))))
    if not eof:
        raise _NeedMore


class RecordSplitter:
    """Bytes in, numbered CSV records out; push chunks with :meth:`feed`, then :meth:`finish`.

    ``consumed`` counts the bytes pushed that made complete records (or were skipped as part of
    an over-long line): a reader that stops now goes on at ``start + consumed``, row
    ``first_row + records so far``. ``suspect`` says whether the records of the last call may
    hold U+FFFD for bytes that were not UTF-8. ``width``: the number of columns a record that
    spans lines must have to stand (None: any).

    **A record that spans lines** (a quoted field holding a line break) stands only if it is
    whole: strictly quoted (every quoted field closed, each closing quote followed by a comma
    or the line's end), of ``width`` columns, and at most ``line_max`` bytes. Otherwise the
    quote that opened it was a stray one: its first line is one unreadable record, and the
    lines after it are read again as records of their own. So a stray quote costs its own row
    and no other, whatever the chunks, and every line of the input is in exactly one record.
    """

    def __init__(
        self, first_row: int = 1, line_max: int = LINE_MAX_BYTES, width: int | None = None
    ) -> None:
        self.line_max = line_max
        self.width = width
        self._tail = b""  # the bytes after the last line end seen
        # The whole lines of a record that is not finished yet, as they came (at most line_max
        # bytes with the tail: a record that grows past that is broken, and settled at once).
        self._pending = b""
        self._skipping = False  # inside a line over line_max, up to its end
        self._offsets: list[int] | None = None  # of the data being parsed, once needed
        self._number = first_row - 1
        self._fed = 0
        self.suspect = False

    @property
    def consumed(self) -> int:
        """Bytes pushed so far that complete records, or were skipped: a record boundary."""
        return self._fed - len(self._tail) - len(self._pending)

    @property
    def pending(self) -> int:
        """Bytes pushed that are not yet part of a complete record (an unfinished one)."""
        return len(self._tail) + len(self._pending)

    @property
    def skipping(self) -> bool:
        """Inside a line over the limit: what comes next up to its end is skipped."""
        return self._skipping

    def feed(self, chunk: bytes) -> list[Record]:
        """The records that end in the bytes pushed so far."""
        out: list[Record] = []
        self.suspect = False
        self._fed += len(chunk)
        data = self._tail + chunk if self._tail else chunk
        if self._skipping:
            end = data.find(b"\n")
            if end < 0:
                self._tail = b""
                return out
            self._skipping = False
            data = data[end + 1 :]
        cut = data.rfind(b"\n")
        if cut < 0:
            self._tail = data
            if self._pending and len(self._pending) + len(data) > self.line_max:
                out.extend(self._parse(b"", eof=False))  # settles the record grown too long
        else:
            self._tail = data[cut + 1 :]
            out.extend(self._parse(data[: cut + 1], eof=False))
        if len(self._tail) > self.line_max:
            out.extend(self._drop_long_line())
        return out

    def finish(self) -> list[Record]:
        """The last records, once every byte was pushed."""
        self.suspect = False
        if self._skipping:
            self._tail = b""
        data, self._tail = self._tail, b""
        if not data and not self._pending:
            return []
        return self._parse(data, eof=True)

    def _drop_long_line(self) -> list[Record]:
        """A line over the limit: one unreadable record, and skip to its end. (A record held
        before it was settled first: with this line it is over the limit.)"""
        self._tail = b""
        self._skipping = True
        self._number += 1
        return [(self._number, Unreadable(f"a line longer than {self.line_max} bytes"))]

    def _parse(self, block: bytes, *, eof: bool) -> list[Record]:
        data = self._pending + block if self._pending else block
        self._pending = b""
        self._offsets = None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("utf-8", errors="replace")
            self.suspect = True
        lines = io.StringIO(text, newline="\n").readlines()
        out: list[Record] = []
        first = self._read(lines, data, out, eof=eof) if lines else 0
        while first < len(lines):  # after a broken record: the rest, record by record
            first = self._read_checked(lines, first, data, out, eof=eof)
        return out

    def _read(self, lines: list[str], data: bytes, out: list[Record], *, eof: bool) -> int:
        """Records from ``lines`` into ``out``; the line to go on from (all read:
        ``len(lines)``).

        The hot loop reads as if each record were one line, which they nearly always are, and
        checks that after the fact (as many records as lines): where not, the lines are read
        again, record by record (:meth:`_read_checked`)."""
        append = out.append
        number = self._number
        reader = csv.reader(_lines_then_need_more(lines, 0, eof), strict=False)
        start = 0  # the line the record being read begins on
        need_more = False
        try:
            # The hot loop: one record a turn, in C but for the append.
            for fields in reader:
                number += 1
                append((number, fields))
                start = reader.line_num
        except _NeedMore:
            need_more = True
        except csv.Error:
            out.clear()
            return self._read_checked(lines, 0, data, out, eof=eof)
        if number - self._number != start:  # a record spanned lines
            out.clear()
            return self._read_checked(lines, 0, data, out, eof=eof)
        self._number = number
        if need_more:
            return self._hold(lines, start, data, out)
        return len(lines)

    def _read_checked(
        self, lines: list[str], first: int, data: bytes, out: list[Record], *, eof: bool
    ) -> int:
        """Like :meth:`_read`, checking each record that spans lines as it comes."""
        reader = csv.reader(_lines_then_need_more(lines, first, eof), strict=False)
        start = 0
        try:
            for fields in reader:
                end = reader.line_num
                if end - start > 1 and not self._whole(
                    lines, first + start, first + end, fields, data
                ):
                    return self._broken(lines, first + start, out)
                self._number += 1
                out.append((self._number, fields))
                start = end
        except _NeedMore:
            return self._hold(lines, first + start, data, out)
        except csv.Error as exc:
            if reader.line_num - start > 1:
                return self._broken(lines, first + start, out)
            self._number += 1
            out.append((self._number, Unreadable(f"not readable as CSV: {exc}")))
            return first + reader.line_num
        return len(lines)

    def _whole(
        self, lines: list[str], start: int, end: int, fields: list[str], data: bytes
    ) -> bool:
        """Whether ``lines[start:end]``, read as ``fields``, make a record that may span lines."""
        if self.width is not None and len(fields) != self.width:
            return False
        offsets = self._line_offsets(data)
        if offsets[end] - offsets[start] > self.line_max:
            return False
        try:
            strict = next(csv.reader(lines[start:end], strict=True))
        except (csv.Error, StopIteration):
            return False
        return strict == fields

    def _line_offsets(self, data: bytes) -> list[int]:
        """Where each line of the data being parsed starts (and, last, its end): found once per
        parse, and only when a record spanned lines."""
        if self._offsets is None:
            offsets = [0]
            at = data.find(b"\n")
            while at >= 0:
                offsets.append(at + 1)
                at = data.find(b"\n", at + 1)
            if offsets[-1] != len(data):
                offsets.append(len(data))
            self._offsets = offsets
        return self._offsets

    def _hold(self, lines: list[str], start: int, data: bytes, out: list[Record]) -> int:
        """``lines[start:]`` begin a record the next bytes may finish: keep them, unless it is
        over the limit already."""
        held = _last_lines_bytes(data, len(lines) - start)
        if held + len(self._tail) > self.line_max:
            return self._broken(lines, start, out)
        self._pending = data[len(data) - held :]
        return len(lines)

    def _broken(self, lines: list[str], start: int, out: list[Record]) -> int:
        """``lines[start]`` opened a quoted field that makes no whole record: that line alone is
        an unreadable record; the next line begins the next one."""
        self._number += 1
        out.append((self._number, _unclosed(lines[start])))
        return start + 1


def _unclosed(line: str) -> Unreadable:
    """A line whose quoted field runs past its end: where, never what (the fields before it
    are kept, for the row's keys)."""
    try:
        fields = next(csv.reader([line], strict=False), [])
    except csv.Error:
        return Unreadable("not readable as CSV: its quoting is broken")
    column = max(len(fields), 1)
    return Unreadable(
        f"not readable as CSV: the quoted field in column {column} does not close",
        tuple(fields[: column - 1]),
    )


def _last_lines_bytes(data: bytes, lines: int) -> int:
    """The length in bytes of the last ``lines`` lines of ``data``, which ends with ``\\n``."""
    at = len(data) - 1  # the last line's end
    for _ in range(lines):
        at = data.rfind(b"\n", 0, at)
        if at < 0:
            return len(data)
    return len(data) - (at + 1)


# -- the header -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeaderProblem:
    """Why a file's first record is not its kind's header."""

    #: The file has no record at all (it is empty).
    empty: bool
    reason: str


def header_problem(
    fields: list[str] | Unreadable | None, expected: Sequence[str]
) -> HeaderProblem | None:
    """Why the first record is not ``expected`` (the file is empty, or the header is wrong).

    Said by position and count, never by quoting the row: the first row of a file that is not
    the kind's is anything at all (a key, a secret), and the reason goes to logs, e-mails and
    acknowledgements."""
    header = ",".join(expected)
    if fields is None:
        return HeaderProblem(True, f"the file is empty: expected the header {header}")
    if isinstance(fields, Unreadable):
        return HeaderProblem(False, f"the header row is {fields.reason}")
    if tuple(fields) == tuple(expected):
        return None
    if len(fields) != len(expected):
        count = f"{len(fields)} columns" if fields else "no column"
        found = f"the first row has {count}, not {len(expected)}"
    else:
        wrong = [i for i, (f, e) in enumerate(zip(fields, expected, strict=True)) if f != e]
        listed = ", ".join(f"column {i + 1} is not {expected[i]}" for i in wrong[:5])
        more = f" and {len(wrong) - 5} more differ" if len(wrong) > 5 else ""
        found = f"in the first row, {listed}{more}"
    bom = fields and fields[0].startswith("\ufeff")
    hint = " (the file starts with a byte-order mark)" if bom else ""
    return HeaderProblem(False, f"expected header {header}; {found}{hint}")


# -- records → fields, or rejects ---------------------------------------------------------------


def no_keys(_fields: Sequence[str]) -> tuple[str, ...]:
    return ()


#: A row as the machinery hands it on: its number, and its fields or why its shape is wrong.
ShapedRow = tuple[int, "list[str] | RowReject"]


def check_shape(
    records: Sequence[Record],
    *,
    width: int,
    suspect: bool,
    columns_code: str,
    encoding_code: str,
    keys: Callable[[Sequence[str]], tuple[str, ...]] = no_keys,
) -> list[ShapedRow]:
    """Each record with its fields when it is readable, has ``width`` columns and (``suspect``:
    its chunk held bytes that were not UTF-8) no U+FFFD; else with why not, under the kind's
    codes. A good record is handed on as it is (a million rows make no new tuples).

    A blank line is a row without columns: reported, never dropped silently."""
    out: list[ShapedRow] = []
    for record in records:
        number, fields = record
        if isinstance(fields, Unreadable):
            reason = f"row {number} is {fields.reason}"
            named = keys(fields.fields) if fields.fields else ()
            out.append((number, RowReject(number, columns_code, reason, named)))
        elif len(fields) != width:
            reason = f"expected {width} columns, found {len(fields)}"
            out.append((number, RowReject(number, columns_code, reason, keys(fields))))
        elif suspect and any(_NOT_UTF8 in f for f in fields):
            reason = "the row is not valid UTF-8"
            out.append((number, RowReject(number, encoding_code, reason, keys(fields))))
        else:
            out.append(cast(ShapedRow, record))
    return out


# -- output rows → CSV text ---------------------------------------------------------------------


def csv_text(rows: Sequence[Sequence[Any]], *, header: Sequence[str] | None = None) -> str:
    """Rows as CSV text: RFC 4180 quoting, ``\\n`` line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    if "\r" not in text:
        return text
    # The csv module leaves a lone \r unquoted when the line end is \n; RFC 4180 quotes it.
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header is not None:
        writer.writerow(header)
    for row in rows:
        if any(isinstance(value, str) and "\r" in value for value in row):
            out.write(",".join(_quoted(str(value)) for value in row) + "\n")
        else:
            writer.writerow(row)
    return out.getvalue()


def _quoted(value: str) -> str:
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value
