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
straddle two chunks. A line longer than ``line_max`` bytes is one unreadable record, skipped to
its end; so is a record the CSV reader refuses (a field over its size limit). Bytes that are
not UTF-8 are decoded as U+FFFD and the records of that chunk are marked ``suspect``.
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


def _lines_then_need_more(lines: list[str], eof: bool) -> Iterator[str]:
    yield from lines
    if not eof:
        raise _NeedMore


class RecordSplitter:
    """Bytes in, numbered CSV records out; push chunks with :meth:`feed`, then :meth:`finish`.

    ``consumed`` counts the bytes pushed that made complete records (or were skipped as part of
    an over-long line): a reader that stops now goes on at ``start + consumed``, row
    ``first_row + records so far``. ``suspect`` says whether the records of the last call may
    hold U+FFFD for bytes that were not UTF-8.
    """

    def __init__(self, first_row: int = 1, line_max: int = LINE_MAX_BYTES) -> None:
        self.line_max = line_max
        self._tail = b""  # the bytes after the last line end seen
        # The whole lines of a record that is not finished yet, as text and as the bytes they
        # came from (the text of a line that was not UTF-8 is not its bytes' length).
        self._pending: list[str] = []
        self._pending_bytes = 0
        self._pending_suspect = False
        self._skipping = False  # inside a line over line_max, up to its end
        self._number = first_row - 1
        self._fed = 0
        self.suspect = False

    @property
    def consumed(self) -> int:
        """Bytes pushed so far that complete records, or were skipped: a record boundary."""
        return self._fed - len(self._tail) - self._pending_bytes

    @property
    def pending(self) -> int:
        """Bytes pushed that are not yet part of a complete record (an unfinished one)."""
        return len(self._tail) + self._pending_bytes

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
            if len(data) > self.line_max:
                out.extend(self._drop_long_line())
            return out
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
        """A line over the limit: one unreadable record, and skip to its end."""
        self._tail = b""
        self._pending = []
        self._pending_bytes = 0
        self._pending_suspect = False
        self._skipping = True
        self._number += 1
        return [(self._number, Unreadable(f"a line longer than {self.line_max} bytes"))]

    def _parse(self, data: bytes, *, eof: bool) -> list[Record]:
        try:
            text = data.decode("utf-8")
            suspect = self._pending_suspect
        except UnicodeDecodeError:
            text = data.decode("utf-8", errors="replace")
            suspect = True
        self.suspect = suspect
        lines = io.StringIO(text, newline="\n").readlines()
        pending = len(self._pending)
        if self._pending:
            lines = self._pending + lines
            self._pending = []
        held = self._pending_bytes
        self._pending_bytes = 0
        reader = csv.reader(_lines_then_need_more(lines, eof), strict=False)
        out: list[Record] = []
        append = out.append
        number = self._number
        start = 0  # the line the record being read begins on
        while True:
            try:
                # The hot loop: one record a turn, in C but for the append.
                for fields in reader:
                    number += 1
                    append((number, fields))
                    start = reader.line_num
                break
            except _NeedMore:
                self._pending = lines[start:]
                if start < pending:  # the record began in the lines held from before
                    self._pending_bytes = held + len(data)
                else:
                    self._pending_bytes = _last_lines_bytes(data, len(lines) - start)
                self._pending_suspect = suspect
                break
            except csv.Error as exc:
                number += 1
                append((number, Unreadable(f"not readable as CSV: {exc}")))
                start = reader.line_num
        self._number = number
        return out


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
    """Why the first record is not ``expected`` (the file is empty, or the header is wrong)."""
    header = ",".join(expected)
    if fields is None:
        return HeaderProblem(True, f"the file is empty: expected the header {header}")
    if isinstance(fields, Unreadable):
        return HeaderProblem(False, f"the header row is {fields.reason}")
    if tuple(fields) == tuple(expected):
        return None
    found = ",".join(fields)
    if len(found) > 300:
        found = found[:300] + "…"
    hint = " (the file starts with a byte-order mark)" if found.startswith("\ufeff") else ""
    return HeaderProblem(False, f"expected header {header}; found {found}{hint}")


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
            out.append((number, RowReject(number, columns_code, reason)))
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
