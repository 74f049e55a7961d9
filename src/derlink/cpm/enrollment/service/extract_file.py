"""The enrollment extract file (OUAI-ENR): its name, its header and its rows.

The layout is docs/contracts/enrollment-files.md: CSV in UTF-8 without BOM, ``\\n`` line ends,
RFC 4180 quoting, one row per subscription, program-subscription data only (never a device).
Pure: values in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from derlink.common.clock import iso_z, parse_iso
from derlink.contracts.enrollment_files import EXTRACT_HEADER, EXTRACT_PREFIX
from derlink.cpm.enrollment.model import ExtractKind

PREFIX = EXTRACT_PREFIX
HEADER = EXTRACT_HEADER

# RFC 4180: a field holding a comma, a quote or a line break is quoted, its quotes doubled.
# (The csv module leaves a lone \r unquoted when the line end is \n, so it is not used here.)
_NEEDS_QUOTES = re.compile(r'[",\r\n]')
_QUOTE_OR_BREAK = re.compile(r'["\r\n]')


def file_name(kind: ExtractKind, started_at: datetime, extract_id: str) -> str:
    """``ENROLL_SYNC_<KIND>_<YYYYMMDDTHHMMSSZ>_<extractId>.csv``, the time in UTC."""
    if started_at.tzinfo is None:
        raise ValueError("naive datetime in an extract file name")
    stamp = started_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{PREFIX}{kind.value}_{stamp}_{extract_id}.csv"


#: What :func:`row_line` takes of a subscription, in this order: the file's columns after
#: syncRequestId, by cpm's column names (start and end as cpm stores them, version an int).
SUBSCRIPTION_COLUMNS = (
    "id",
    "program_id",
    "program_code",
    "cis_account_id",
    "cis_person_id",
    "service_point_id",
    "cis_service_point_id",
    "cis_premise_id",
    "division",
    "subscription_type",
    "status",
    "start_at",
    "end_at",
    "version",
)
_TEXTS = 11  # the text columns that open SUBSCRIPTION_COLUMNS, before the timestamps


def field(value: str) -> str:
    """One CSV field, quoted when RFC 4180 asks for it."""
    if _NEEDS_QUOTES.search(value) is None:
        return value
    return '"' + value.replace('"', '""') + '"'


@lru_cache(maxsize=65536)
def timestamp(stored: str | None) -> str:
    """A stored ISO-8601 timestamp as ``YYYY-MM-DDThh:mm:ss.000Z`` (UTC); blank when absent.

    Cached: the subscriptions of one program tend to share their start, and parsing and
    formatting is the larger part of a row's cost."""
    return iso_z(parse_iso(stored)) if stored else ""


def header_line() -> str:
    return ",".join(HEADER) + "\n"


def row_line(sync_request_id: str, subscription: Sequence[Any]) -> str:
    """A data row: the sync request it stands for, then the subscription (SUBSCRIPTION_COLUMNS)."""
    texts = (sync_request_id, *subscription[:_TEXTS])
    line = ",".join(texts)
    # Most rows need no quoting: then every comma is a separator and nothing else is special.
    if line.count(",") != _TEXTS or _QUOTE_OR_BREAK.search(line) is not None:
        line = ",".join([field(t) for t in texts])
    start_at, end_at, version = subscription[_TEXTS:]
    return f"{line},{timestamp(start_at)},{timestamp(end_at)},{version}\n"


def encode(sync_request_ids: Sequence[str], subscriptions: Sequence[Sequence[Any]]) -> bytes:
    """Rows as the bytes of the file (UTF-8); the header is :func:`header_line`."""
    return "".join(
        [row_line(i, s) for i, s in zip(sync_request_ids, subscriptions, strict=True)]
    ).encode()
