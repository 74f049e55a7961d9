"""The enrollment extract file's name, header and rows (docs/contracts/enrollment-files.md), and
what an ANALYTICS acknowledgement does to a subscription."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from derlink.cpm.enrollment import model as m
from derlink.cpm.enrollment.service import extract_file as f
from derlink.cpm.enrollment.service.extracts import sync_request_prefix

SUBSCRIPTION = (
    "E-1", "PG-1", "BYOT", "A1", "P1", "SPX-1", "SP1", "PR1", "CA", "DR", "Active",
    "2026-06-01T00:00:00-07:00", None, 4,
)  # fmt: skip


def test_the_file_is_named_by_kind_utc_start_and_extract() -> None:
    started = datetime(2026, 11, 30, 15, 0, 1, tzinfo=timezone(timedelta(hours=-8)))
    assert f.file_name(m.ExtractKind.INITIAL, started, "EX-abc") == (
        "ENROLL_SYNC_INITIAL_20261130T230001Z_EX-abc.csv"
    )
    with pytest.raises(ValueError, match="naive"):
        f.file_name(m.ExtractKind.INCREMENTAL, datetime(2026, 1, 1), "EX-abc")


def test_the_header_is_the_contracts_columns_in_order() -> None:
    assert f.header_line() == (
        "syncRequestId,subscriptionId,programId,programCode,cisAccountId,cisPersonId,"
        "servicePointId,cisServicePointId,cisPremiseId,division,subscriptionType,status,"
        "startDateTimeISO,endDateTimeISO,version\n"
    )
    assert len(f.SUBSCRIPTION_COLUMNS) == len(f.HEADER) - 1


def test_a_row_has_utc_timestamps_blank_when_absent_and_the_version() -> None:
    assert f.row_line("SR-1", SUBSCRIPTION) == (
        "SR-1,E-1,PG-1,BYOT,A1,P1,SPX-1,SP1,PR1,CA,DR,Active,2026-06-01T07:00:00.000Z,,4\n"
    )
    ended = (*SUBSCRIPTION[:12], "2026-09-30T23:59:59.999+00:00", 5)
    assert f.row_line("SR-1", ended).endswith(",2026-09-30T23:59:59.999Z,5\n")


@pytest.mark.parametrize(
    ("division", "written"),
    [
        ("North, East", '"North, East"'),
        ('the "big" one', '"the ""big"" one"'),
        ("two\nlines", '"two\nlines"'),
        ("carriage\rreturn", '"carriage\rreturn"'),
        ("plain", "plain"),
    ],
)
def test_fields_are_quoted_as_rfc_4180_asks(division: str, written: str) -> None:
    values = (*SUBSCRIPTION[:8], division, *SUBSCRIPTION[9:])
    line = f.row_line("SR-1", values)
    assert f",PR1,{written},DR," in line
    [parsed] = csv.reader(io.StringIO(line, newline=""))
    assert parsed[9] == division and len(parsed) == len(f.HEADER)


def test_encoded_rows_are_utf_8_lines_in_order() -> None:
    other = ("E-2", *SUBSCRIPTION[1:8], "Zürich", *SUBSCRIPTION[9:])
    data = f.encode(["SR-1", "SR-2"], [SUBSCRIPTION, other])
    lines = data.decode("utf-8").split("\n")
    assert [line.split(",")[0] for line in lines[:-1]] == ["SR-1", "SR-2"]
    assert "Zürich".encode() in data and not data.startswith(b"\xef\xbb\xbf")
    assert lines[-1] == ""


def test_an_extracts_sync_request_ids_fit_the_id_column() -> None:
    prefix = sync_request_prefix("EX-" + "0" * 26)
    assert prefix == "SR-" + "0" * 26 + "-"
    assert len(f"{prefix}{9_999_999_999:07d}") == 40


@pytest.mark.parametrize("status", list(m.SubscriptionStatus))
@pytest.mark.parametrize("to_state", [m.SyncState.SYNCHRONIZED, m.SyncState.ERROR])
def test_an_analytics_ack_never_changes_the_subscription(
    status: m.SubscriptionStatus, to_state: m.SyncState
) -> None:
    assert m.subscription_status_after(m.SyncType.ANALYTICS, to_state, status) is None


def test_a_synchronized_enroll_still_activates_its_subscription() -> None:
    after = m.subscription_status_after(
        m.SyncType.ENROLL, m.SyncState.SYNCHRONIZED, m.SubscriptionStatus.PENDING
    )
    assert after is m.SubscriptionStatus.ACTIVE


def test_timestamps_keep_their_milliseconds_in_utc() -> None:
    moment = datetime(2026, 6, 1, 7, 0, 0, 123456, tzinfo=UTC)
    assert f.timestamp(moment.isoformat()) == "2026-06-01T07:00:00.123Z"
    assert f.timestamp(None) == "" and f.timestamp("") == ""
