"""The enrollment extract's rows (OUAI-ENR) and the ack file's rows (OUAI-ENR-ACK). Pure.

The layouts are docs/contracts/enrollment-files.md. The file-intake machinery
(platform/intake) splits the file into numbered records, checks the header and each row's
shape; here, :class:`ExtractRows` turns each well-shaped row into a
:class:`SubscriptionRecord` or a ``RowReject`` (row number, reason code, reason), and
:func:`accepted_row` / :func:`rejected_row` give the ack file's row for each.

Reason codes (the contract's, plus ``AN-SIZE``): ``AN-EMPTY`` and ``AN-HEADER`` refuse a file
whole, as ``AN-SIZE`` does one over the size limit; ``AN-COLUMNS``, ``AN-MISSING``,
``AN-DATE``, ``AN-VALUE`` and ``AN-DUPLICATE`` reject one row; ``AN-STALE`` accepts a row that
changed nothing because analytics holds a newer version. Beyond the contract's cases, a record
the CSV reader cannot read (or a line over the machinery's line limit) is ``AN-COLUMNS``, and a
field wider than ``FIELD_MAX`` or a row that is not UTF-8 is ``AN-VALUE``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from derlink.analytics.enrollments.fields import FIELD_MAX
from derlink.contracts.enrollment_files import ACCEPTED, EXTRACT_HEADER, REJECTED
from derlink.platform.intake.records import RowReject

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
# YYYY-MM-DDThh:mm:ss(.fff)Z, UTC (the MsgAck timestamp shape).
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z")


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
        self, rows: Sequence[tuple[int, list[str] | RowReject]]
    ) -> list[SubscriptionRecord | RowReject]:
        """The rows that follow the ones checked before (their number, and their fields or the
        machinery's reject of their shape), each a subscription or a reject."""
        keyed = [
            (i, fields[0])
            for i, (_, fields) in enumerate(rows)
            if not isinstance(fields, RowReject) and fields[0].strip()
        ]
        firsts = self._seen.first_rows([(sync_id, rows[i][0]) for i, sync_id in keyed])
        earlier: dict[int, int] = {
            i: first for (i, _), first in zip(keyed, firsts, strict=True) if first is not None
        }
        out: list[SubscriptionRecord | RowReject] = []
        for i, (number, fields) in enumerate(rows):
            if isinstance(fields, RowReject):
                out.append(fields)
            elif i in earlier:
                out.append(
                    RowReject(
                        number,
                        AN_DUPLICATE,
                        f"syncRequestId {fields[0]} already appeared in row {earlier[i]}",
                        row_keys(fields),
                    )
                )
            else:
                out.append(_check_fields(number, fields))
        return out


def row_keys(fields: Sequence[str]) -> tuple[str, str]:
    """The syncRequestId and subscriptionId of a row of any shape, for its ack row."""
    sync_id = fields[0][:FIELD_MAX] if fields else ""
    subscription_id = fields[1][:FIELD_MAX] if len(fields) > 1 else ""
    return sync_id, subscription_id


def _check_fields(row_number: int, f: list[str]) -> SubscriptionRecord | RowReject:
    sync_id, subscription_id = f[0], f[1]

    def reject(code: str, reason: str) -> RowReject:
        return RowReject(row_number, code, reason, row_keys(f))

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
        return reject(AN_DATE, "startDateTimeISO is not YYYY-MM-DDThh:mm:ss(.fff)Z")
    end: str | None = None
    if f[13]:
        end = canonical_timestamp(f[13])
        if end is None:
            return reject(AN_DATE, "endDateTimeISO is not YYYY-MM-DDThh:mm:ss(.fff)Z")
        if end < start:
            return reject(AN_DATE, "endDateTimeISO is before startDateTimeISO")
    status = f[11]
    if status not in STATUSES:
        return reject(AN_VALUE, "status is not one of Active, Inactive, Pending")
    version = _positive_int(f[14])
    if version is None:
        return reject(AN_VALUE, "version is not a positive integer")
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
    sync_request_id, subscription_id = (*reject.keys, "", "")[:2]
    return (
        reject.row_number,
        sync_request_id,
        subscription_id,
        REJECTED,
        reject.code,
        reject.reason,
    )
