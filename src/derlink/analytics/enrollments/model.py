"""The enrollment extract's rows (SPEC OUAI-ENR) and the ack file's rows (OUAI-ENR-ACK). Pure.

The layouts are docs/contracts/enrollment-files.md. Three same-shaped steps, none doing I/O:

- :class:`RecordSplitter` turns the file's bytes, pushed in chunks of any size, into CSV
  records numbered as the contract numbers them (the header is row 1), so the intake never
  holds more than one chunk plus one record in memory. A quoted field may hold line breaks and
  may straddle two chunks;
- :func:`header_problem` checks the header; :class:`ExtractRows` turns each record after it
  into a :class:`SubscriptionRecord` or a :class:`RowReject` (row number, reason code, reason);
- :func:`accepted_row` / :func:`rejected_row` give the ack file's row for each.

Reason codes (the contract's, plus ``AN-SIZE``): ``AN-EMPTY`` and ``AN-HEADER`` refuse a file
whole, as ``AN-SIZE`` does one over the size limit; ``AN-COLUMNS``, ``AN-MISSING``,
``AN-DATE``, ``AN-VALUE`` and ``AN-DUPLICATE`` reject one row; ``AN-STALE`` accepts a row that
changed nothing because analytics holds a newer version. Beyond the contract's cases, a record
the CSV reader cannot read (or a line over ``LINE_MAX_BYTES``) is ``AN-COLUMNS``, and a field
wider than ``FIELD_MAX`` or a row that is not UTF-8 is ``AN-VALUE``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from derlink.analytics.enrollments.fields import FIELD_MAX
from derlink.contracts.enrollment_files import ACCEPTED, ACK_HEADER, EXTRACT_HEADER, REJECTED

HEADER = EXTRACT_HEADER


# Reason codes (docs/contracts/enrollment-files.md).
AN_EMPTY = "AN-EMPTY"
AN_HEADER = "AN-HEADER"
AN_SIZE = "AN-SIZE"
AN_COLUMNS = "AN-COLUMNS"
AN_MISSING = "AN-MISSING"
AN_DATE = "AN-DATE"
AN_VALUE = "AN-VALUE"
AN_DUPLICATE = "AN-DUPLICATE"
AN_STALE = "AN-STALE"

#: cpm's subscription statuses, the only ones an extract row may carry.
STATUSES = frozenset({"Pending", "Active", "Inactive"})

#: The largest version analytics stores (a 32-bit integer column on both databases).
VERSION_MAX = 2**31 - 1

#: A line longer than this is not read: its record is rejected and skipped to the next line end.
LINE_MAX_BYTES = 1024 * 1024

_COLUMNS = len(HEADER)
# Required fields, by index: blank → AN-MISSING (the contract's list).
_REQUIRED = tuple(
    (i, name)
    for i, name in enumerate(HEADER)
    if name
    in (
        "syncRequestId",
        "subscriptionId",
        "programId",
        "servicePointId",
        "status",
        "startDateTimeISO",
        "version",
    )
)
# YYYY-MM-DDThh:mm:ss(.fff)Z, UTC (the MsgAck timestamp shape, SPEC §2.2).
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z")
_NOT_UTF8 = "\ufffd"


class SubscriptionRecord(NamedTuple):
    """One accepted-so-far extract row; timestamps as ``YYYY-MM-DDThh:mm:ss.fffZ``.

    A named tuple, its fields after ``row_number`` in the file's column order: a million are
    made per large file, and a tuple is made and stored fastest."""

    row_number: int
    sync_request_id: str
    subscription_id: str
    program_id: str
    program_code: str
    cis_account_id: str
    cis_person_id: str
    service_point_id: str
    cis_service_point_id: str
    cis_premise_id: str
    division: str
    subscription_type: str
    status: str
    start_at: str
    end_at: str | None
    version: int


@dataclass(frozen=True, slots=True)
class RowReject:
    """A row (or a whole file, row 1) that analytics did not take, and why."""

    row_number: int
    code: str
    reason: str
    sync_request_id: str = ""
    subscription_id: str = ""


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A record the CSV reader could not read, or a line too long to read at all."""

    reason: str


#: What the splitter yields: a row number and the record's fields, or why it has none.
Record = tuple[int, "list[str] | Unreadable"]


# -- bytes → CSV records -------------------------------------------------------------------


class _NeedMore(Exception):
    """The lines so far end inside a quoted field: the record goes on in the next chunk."""


def _lines_then_need_more(lines: list[str], eof: bool) -> Iterator[str]:
    yield from lines
    if not eof:
        raise _NeedMore


class RecordSplitter:
    """Bytes in, numbered CSV records out; push chunks with :meth:`feed`, then :meth:`finish`.

    Lines are cut at ``\\n`` only (a lone ``\\r`` is data) and decoded as UTF-8; a chunk that
    is not valid UTF-8 is decoded with U+FFFD in place of the bad bytes and its records are
    marked ``suspect`` so that :class:`ExtractRows` can reject them. Records are numbered from
    1 (the header) in the order they come, whatever lines they span.
    """

    def __init__(self) -> None:
        self._tail = b""  # the bytes after the last line end seen
        self._pending: list[str] = []  # whole lines of a record that is not finished yet
        self._pending_suspect = False
        self._skipping = False  # inside a line over LINE_MAX_BYTES, up to its end
        self._number = 0
        #: Whether the records of the last call may hold U+FFFD for bytes that were not UTF-8.
        self.suspect = False

    def feed(self, chunk: bytes) -> list[Record]:
        """The records that end in the bytes pushed so far."""
        out: list[Record] = []
        self.suspect = False
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
            if len(data) > LINE_MAX_BYTES:
                out.extend(self._drop_long_line())
            return out
        self._tail = data[cut + 1 :]
        out.extend(self._parse(data[: cut + 1], eof=False))
        if len(self._tail) > LINE_MAX_BYTES:
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
        self._pending_suspect = False
        self._skipping = True
        self._number += 1
        return [(self._number, Unreadable(f"a line longer than {LINE_MAX_BYTES} bytes"))]

    def _parse(self, data: bytes, *, eof: bool) -> list[Record]:
        try:
            text = data.decode("utf-8")
            suspect = self._pending_suspect
        except UnicodeDecodeError:
            text = data.decode("utf-8", errors="replace")
            suspect = True
        self.suspect = suspect
        lines = io.StringIO(text, newline="\n").readlines()
        if self._pending:
            lines = self._pending + lines
            self._pending = []
        reader = csv.reader(_lines_then_need_more(lines, eof), strict=False)
        out: list[Record] = []
        while True:
            start = reader.line_num
            try:
                fields = next(reader)
            except StopIteration:
                break
            except _NeedMore:
                self._pending = lines[start:]
                self._pending_suspect = suspect
                break
            except csv.Error as exc:
                self._number += 1
                out.append((self._number, Unreadable(f"not readable as CSV: {exc}")))
                continue
            self._number += 1
            out.append((self._number, fields))
        return out


# -- records → subscriptions or rejects ------------------------------------------------------


def empty_file() -> RowReject:
    return RowReject(1, AN_EMPTY, f"the file is empty: expected the header {','.join(HEADER)}")


def header_problem(fields: list[str] | Unreadable | None) -> RowReject | None:
    """Why the first record is not the contract's header (AN-EMPTY, AN-HEADER), or None."""
    if fields is None:
        return empty_file()
    if isinstance(fields, Unreadable):
        return RowReject(1, AN_HEADER, f"the header row is {fields.reason}")
    if tuple(fields) == HEADER:
        return None
    found = ",".join(fields)
    if len(found) > 300:
        found = found[:300] + "…"
    hint = " (the file starts with a byte-order mark)" if found.startswith("\ufeff") else ""
    return RowReject(1, AN_HEADER, f"expected header {','.join(HEADER)}; found {found}{hint}")


def canonical_timestamp(text: str) -> str | None:
    """``text`` as ``YYYY-MM-DDThh:mm:ss.fffZ`` if it is a valid UTC timestamp, else None.

    Canonical texts of one shape compare as the instants they name."""
    if _TIMESTAMP.fullmatch(text) is None:
        return None
    try:
        datetime.fromisoformat(text)  # the calendar: no 2026-02-30, no 24:00:00
    except ValueError:
        return None
    return text if len(text) == 24 else text[:-1] + ".000Z"


def _positive_int(text: str) -> int | None:
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= VERSION_MAX else None


class SeenSyncIds:
    """The syncRequestIds of one file so far and the row each first appeared in, compactly.

    The ids of the last rows are kept as text; every ``SEGMENT`` ids they move into sorted
    arrays of their 128-bit BLAKE2b digests (24 bytes an id instead of about 140 as text: a
    1,000,000-row file's ids take 24 MB). A digest match stands for the same id: two ids
    sharing a 128-bit digest are not expected in the life of the universe.
    """

    SEGMENT = 65_536

    def __init__(self) -> None:
        self._keys = np.empty(0, np.uint64)  # sorted: the digests' first halves
        self._checks = np.empty(0, np.uint64)  # their second halves
        self._rows = np.empty(0, np.int64)
        self._recent: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._keys) + len(self._recent)

    def first_rows(self, ids: Sequence[tuple[str, int]]) -> list[int | None]:
        """For each (id, row), in file order: the earlier row the id appeared in, or None if
        this is its first row (and from now on it is seen)."""
        earlier = self._in_segments([i for i, _ in ids])
        out: list[int | None] = []
        for (sync_id, row), before in zip(ids, earlier, strict=True):
            if before >= 0:
                out.append(before)
                continue
            first = self._recent.setdefault(sync_id, row)
            out.append(None if first == row else first)
        if len(self._recent) >= self.SEGMENT:
            self._freeze()
        return out

    def _in_segments(self, ids: list[str]) -> list[int]:
        if not len(self._keys) or not ids:
            return [-1] * len(ids)
        keys, checks = _digests(ids)
        at = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        hit = (self._keys[at] == keys) & (self._checks[at] == checks)
        found: list[int] = np.where(hit, self._rows[at], -1).tolist()
        return found

    def _freeze(self) -> None:
        keys, checks = _digests(list(self._recent))
        rows = np.fromiter(self._recent.values(), np.int64, len(self._recent))
        order = np.argsort(keys, kind="stable")
        keys, checks, rows = keys[order], checks[order], rows[order]
        at = np.searchsorted(self._keys, keys)
        self._keys = np.insert(self._keys, at, keys)
        self._checks = np.insert(self._checks, at, checks)
        self._rows = np.insert(self._rows, at, rows)
        self._recent = {}


def _digests(ids: list[str]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    raw = b"".join(hashlib.blake2b(i.encode(), digest_size=16).digest() for i in ids)
    halves = np.frombuffer(raw, dtype="<u8").reshape(-1, 2)
    return halves[:, 0].copy(), halves[:, 1].copy()


class ExtractRows:
    """Validates one extract file's records, in file order (it remembers the syncRequestIds).

    Checks, first failure wins: the column count (AN-COLUMNS); UTF-8 (AN-VALUE); a
    syncRequestId seen in an earlier row, whatever became of that row (AN-DUPLICATE: the first
    one stands, as cpm takes one acknowledgement per sync request); required fields
    (AN-MISSING); field width (AN-VALUE); timestamps (AN-DATE); status and version (AN-VALUE).
    """

    def __init__(self) -> None:
        self._seen = SeenSyncIds()

    def check(
        self, row_number: int, fields: list[str] | Unreadable, *, suspect: bool = False
    ) -> SubscriptionRecord | RowReject:
        """One record (see :meth:`check_all`)."""
        return self.check_all([(row_number, fields)], suspect=suspect)[0]

    def check_all(
        self, records: Sequence[Record], *, suspect: bool = False
    ) -> list[SubscriptionRecord | RowReject]:
        """The records that follow the ones checked before, each a subscription or a reject.

        ``suspect``: the records may hold U+FFFD for bytes that were not UTF-8."""
        shaped: list[RowReject | list[str]] = [
            _shape(number, fields, suspect) for number, fields in records
        ]
        keyed = [
            (i, fields[0])
            for i, fields in enumerate(shaped)
            if not isinstance(fields, RowReject) and fields[0].strip()
        ]
        firsts = self._seen.first_rows([(sync_id, records[i][0]) for i, sync_id in keyed])
        earlier: dict[int, int] = {
            i: first for (i, _), first in zip(keyed, firsts, strict=True) if first is not None
        }
        out: list[SubscriptionRecord | RowReject] = []
        for i, fields in enumerate(shaped):
            number = records[i][0]
            if isinstance(fields, RowReject):
                out.append(fields)
            elif i in earlier:
                out.append(
                    RowReject(
                        number,
                        AN_DUPLICATE,
                        f"syncRequestId {fields[0]} already appeared in row {earlier[i]}",
                        *_ids(fields),
                    )
                )
            else:
                out.append(_check_fields(number, fields))
        return out


def _shape(number: int, fields: list[str] | Unreadable, suspect: bool) -> RowReject | list[str]:
    """The record's fields if it has the contract's shape, else why not."""
    if isinstance(fields, Unreadable):
        return RowReject(number, AN_COLUMNS, f"row {number} is {fields.reason}")
    if len(fields) != _COLUMNS:
        return RowReject(
            number, AN_COLUMNS, f"expected {_COLUMNS} columns, found {len(fields)}", *_ids(fields)
        )
    if suspect and any(_NOT_UTF8 in f for f in fields):
        return RowReject(number, AN_VALUE, "the row is not valid UTF-8", *_ids(fields))
    return fields


def _ids(fields: Sequence[str]) -> tuple[str, str]:
    """The syncRequestId and subscriptionId of a row of any shape, for its ack row."""
    sync_id = fields[0][:FIELD_MAX] if fields else ""
    subscription_id = fields[1][:FIELD_MAX] if len(fields) > 1 else ""
    return sync_id, subscription_id


def _check_fields(row_number: int, f: list[str]) -> SubscriptionRecord | RowReject:
    sync_id, subscription_id = f[0], f[1]

    def reject(code: str, reason: str) -> RowReject:
        return RowReject(row_number, code, reason, *_ids(f))

    if not (
        f[0].strip()
        and f[1].strip()
        and f[2].strip()
        and f[6].strip()
        and f[11].strip()
        and f[12].strip()
        and f[14].strip()
    ):
        blank = [name for i, name in _REQUIRED if not f[i].strip()]
        return reject(AN_MISSING, f"{', '.join(blank)} {'is' if len(blank) == 1 else 'are'} blank")
    if max(map(len, f)) > FIELD_MAX:
        wide = [HEADER[i] for i, value in enumerate(f) if len(value) > FIELD_MAX]
        return reject(AN_VALUE, f"{', '.join(wide)} longer than {FIELD_MAX} characters")
    start = canonical_timestamp(f[12])
    if start is None:
        return reject(AN_DATE, f"startDateTimeISO {f[12]!r} is not YYYY-MM-DDThh:mm:ss(.fff)Z")
    end: str | None = None
    if f[13]:
        end = canonical_timestamp(f[13])
        if end is None:
            return reject(AN_DATE, f"endDateTimeISO {f[13]!r} is not YYYY-MM-DDThh:mm:ss(.fff)Z")
        if end < start:
            return reject(AN_DATE, f"endDateTimeISO {f[13]} is before startDateTimeISO {f[12]}")
    status = f[11]
    if status not in STATUSES:
        return reject(AN_VALUE, f"status {status!r} is not one of Active, Inactive, Pending")
    version = _positive_int(f[14])
    if version is None:
        return reject(AN_VALUE, f"version {f[14]!r} is not a positive integer")
    return SubscriptionRecord(
        row_number,
        sync_id,
        subscription_id,
        f[2],
        f[3],
        f[4],
        f[5],
        f[6],
        f[7],
        f[8],
        f[9],
        f[10],
        status,
        start,
        end,
        version,
    )


# -- the ack file's rows ---------------------------------------------------------------------

#: One ack row: rowNumber, syncRequestId, subscriptionId, result, reasonCode, reason.
AckRow = tuple[int, str, str, str, str, str]


def accepted_row(record: SubscriptionRecord, held_version: int | None = None) -> AckRow:
    """ACCEPTED; with AN-STALE when analytics already holds ``held_version`` > the row's."""
    if held_version is not None and held_version > record.version:
        return (
            record.row_number,
            record.sync_request_id,
            record.subscription_id,
            ACCEPTED,
            AN_STALE,
            f"analytics holds version {held_version}; this row's version {record.version} "
            "changed nothing",
        )
    return (record.row_number, record.sync_request_id, record.subscription_id, ACCEPTED, "", "")


def rejected_row(reject: RowReject) -> AckRow:
    return (
        reject.row_number,
        reject.sync_request_id,
        reject.subscription_id,
        REJECTED,
        reject.code,
        reject.reason,
    )


def ack_text(rows: Sequence[AckRow], *, with_header: bool = False) -> str:
    """Ack rows as CSV text: RFC 4180 quoting, ``\\n`` line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if with_header:
        writer.writerow(ACK_HEADER)
    plain = writer.writerow
    for row in rows:
        # The csv module leaves a lone \r unquoted when the line end is \n; RFC 4180 quotes it.
        if "\r" in row[1] or "\r" in row[2] or "\r" in row[5]:
            out.write(",".join(_quoted(str(value)) for value in row) + "\n")
        else:
            plain(row)
    return out.getvalue()


def _quoted(value: str) -> str:
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value
