"""The enrollment extract's rows and the ack file's rows: every reason code, and the ack rows.
(Splitting bytes into records, the header and the rows' shape are the file-intake machinery's:
tests/unit/platform/test_intake_records.py.)"""

from __future__ import annotations

import csv
import io

import pytest

from derlink.analytics.enrollments import model as er
from derlink.analytics.enrollments.model import (
    HEADER,
    ExtractRows,
    SeenSyncIds,
    SubscriptionRecord,
)
from derlink.contracts.enrollment_files import ACK_HEADER
from derlink.platform.intake.records import RowReject, Unreadable, check_shape, csv_text


def fields(**changes: str) -> list[str]:
    """A valid extract row, with the named columns changed."""
    row = {
        "syncRequestId": "SR1",
        "subscriptionId": "SUB1",
        "programId": "PRG1",
        "programCode": "BYOT",
        "cisAccountId": "A1",
        "cisPersonId": "P1",
        "servicePointId": "SPT1",
        "cisServicePointId": "SP1",
        "cisPremiseId": "PR1",
        "division": "CA",
        "subscriptionType": "DR",
        "status": "Active",
        "startDateTimeISO": "2026-06-01T07:00:00.000Z",
        "endDateTimeISO": "",
        "version": "3",
    }
    row.update(changes)
    return [row[name] for name in HEADER]


def shaped(
    records: list[tuple[int, list[str] | Unreadable]],
) -> list[tuple[int, list[str] | RowReject]]:
    """Records as the intake machinery hands them on: their shape checked under analytics'
    codes."""
    return check_shape(
        records,
        width=len(HEADER),
        suspect=False,
        columns_code=er.AN_COLUMNS,
        encoding_code=er.AN_VALUE,
        keys=er.row_keys,
    )


def check(*rows: list[str] | Unreadable) -> list[SubscriptionRecord | RowReject]:
    return ExtractRows().check(shaped([(n + 2, r) for n, r in enumerate(rows)]))


def rejected(result: SubscriptionRecord | RowReject) -> RowReject:
    assert isinstance(result, RowReject), result
    return result


# -- each reason code --------------------------------------------------------------------------


def test_a_valid_row_becomes_a_subscription_with_canonical_timestamps():
    (record,) = check(
        fields(startDateTimeISO="2026-06-01T07:00:00Z", endDateTimeISO="2027-01-01T00:00:00.250Z")
    )
    assert record == SubscriptionRecord(
        2, "SR1", "SUB1", "PRG1", "BYOT", "A1", "P1", "SPT1", "SP1", "PR1", "CA", "DR",
        "Active", "2026-06-01T07:00:00.000Z", "2027-01-01T00:00:00.250Z", 3,
    )  # fmt: skip


def test_optional_fields_may_be_blank():
    (record,) = check(fields(programCode="", cisAccountId="", division="", endDateTimeISO=""))
    assert isinstance(record, SubscriptionRecord) and record.end_at is None


@pytest.mark.parametrize("count", [1, 14, 16])
def test_a_row_with_the_wrong_number_of_columns_is_rejected(count):
    row = [*fields(), "extra"][:count]
    result = rejected(check(row)[0])
    assert result.code == er.AN_COLUMNS
    assert result.reason == f"expected 15 columns, found {count}"
    assert result.keys[0] == "SR1"


def test_an_unreadable_record_is_rejected_as_wrong_columns_naming_its_row():
    result = rejected(check(Unreadable("a line longer than 9 bytes"))[0])
    assert (result.row_number, result.code) == (2, er.AN_COLUMNS)
    assert result.reason == "row 2 is a line longer than 9 bytes"


def test_a_blank_line_is_a_row_without_columns():
    result = rejected(check([])[0])
    assert (result.code, result.keys) == (er.AN_COLUMNS, ("", ""))


@pytest.mark.parametrize(
    "column",
    [
        "syncRequestId",
        "subscriptionId",
        "programId",
        "servicePointId",
        "status",
        "startDateTimeISO",
        "version",
    ],
)
def test_each_required_field_blank_is_missing(column):
    result = rejected(check(fields(**{column: "  "}))[0])
    assert result.code == er.AN_MISSING
    assert result.reason == f"{column} is blank"


def test_every_blank_required_field_is_named():
    result = rejected(check(fields(programId="", version=""))[0])
    assert result.reason == "programId, version are blank"


@pytest.mark.parametrize(
    "value",
    [
        "2026-06-01",
        "2026-06-01T07:00:00+00:00",
        "2026-06-01T07:00:00.000",
        "2026-06-01 07:00:00.000Z",
        "2026-02-30T07:00:00.000Z",
        "2026-06-01T24:00:00.000Z",
        "2026-06-01T07:00:00.12Z",
        "tomorrow",
    ],
)
def test_a_timestamp_not_in_the_contract_shape_is_a_bad_date(value):
    for column in ("startDateTimeISO", "endDateTimeISO"):
        result = rejected(check(fields(**{column: value}))[0])
        assert result.code == er.AN_DATE
        assert result.reason == f"{column} is not YYYY-MM-DDThh:mm:ss(.fff)Z"


def test_a_subscription_that_ends_before_it_starts_is_a_bad_date():
    result = rejected(check(fields(endDateTimeISO="2026-05-31T23:59:59.999Z"))[0])
    assert result.code == er.AN_DATE
    assert result.reason == "endDateTimeISO is before startDateTimeISO"
    same = check(fields(endDateTimeISO="2026-06-01T07:00:00Z"))[0]
    assert isinstance(same, SubscriptionRecord)


@pytest.mark.parametrize("status", ["active", "Canceled", "ACTIVE", " Active"])
def test_a_status_that_cpm_does_not_have_is_a_bad_value(status):
    result = rejected(check(fields(status=status))[0])
    assert result.code == er.AN_VALUE
    assert result.reason == "status is not one of Active, Inactive, Pending"


@pytest.mark.parametrize("version", ["0", "-1", "1.0", "x", "٣", "2147483648", " 2"])
def test_a_version_that_is_not_a_positive_integer_is_a_bad_value(version):
    result = rejected(check(fields(version=version))[0])
    assert result.code == er.AN_VALUE
    assert result.reason == "version is not a positive integer"


def test_a_field_wider_than_analytics_keeps_is_a_bad_value():
    result = rejected(check(fields(division="d" * 201, cisPremiseId="p" * 300))[0])
    assert result.code == er.AN_VALUE
    assert result.reason == "cisPremiseId, division longer than 200 characters"
    assert isinstance(check(fields(division="d" * 200))[0], SubscriptionRecord)


def test_a_repeated_sync_request_is_a_duplicate_and_the_first_row_stands():
    rows = ExtractRows()
    first, other = rows.check(shaped([(2, fields()), (3, fields(syncRequestId="SR2"))]))
    assert isinstance(first, SubscriptionRecord) and isinstance(other, SubscriptionRecord)
    (again,) = rows.check(shaped([(4, fields(subscriptionId="SUB9"))]))
    result = rejected(again)
    assert result.code == er.AN_DUPLICATE
    assert result.reason == "syncRequestId SR1 already appeared in row 2"
    assert result.keys == ("SR1", "SUB9")


def test_a_sync_request_first_seen_on_a_rejected_row_still_makes_later_ones_duplicates():
    bad, good = check(fields(version="x"), fields())
    assert rejected(bad).code == er.AN_VALUE
    assert rejected(good).code == er.AN_DUPLICATE


def test_blank_sync_request_ids_are_missing_not_duplicates():
    results = check(fields(syncRequestId=""), fields(syncRequestId=""))
    assert [rejected(r).code for r in results] == [er.AN_MISSING, er.AN_MISSING]


def test_duplicates_are_found_after_the_seen_ids_are_compacted():
    rows = ExtractRows()
    rows._seen.SEGMENT = 3  # compact every 3 ids
    first = rows.check(shaped([(n, fields(syncRequestId=f"SR{n}")) for n in range(2, 12)]))
    assert all(isinstance(r, SubscriptionRecord) for r in first)
    again = rows.check(shaped(
        [(12, fields(syncRequestId="SR5")), (13, fields(syncRequestId="SR99")),
         (14, fields(syncRequestId="SR11")), (15, fields(syncRequestId="SR99"))]
    ))  # fmt: skip
    assert [getattr(r, "code", "ok") for r in again] == [
        er.AN_DUPLICATE, "ok", er.AN_DUPLICATE, er.AN_DUPLICATE,
    ]  # fmt: skip
    assert [r.reason.rsplit(" ", 1)[1] for r in again if isinstance(r, RowReject)] == [
        "5", "11", "13",
    ]  # fmt: skip


def test_the_seen_ids_remember_the_row_each_first_came_in():
    seen = SeenSyncIds()
    seen.SEGMENT = 2
    assert seen.first_rows([("a", 2), ("b", 3), ("a", 4)]) == [None, None, 2]
    assert len(seen) == 2
    assert seen.first_rows([("c", 5), ("b", 6), ("a", 7)]) == [None, 3, 2]


# -- the ack file --------------------------------------------------------------------------------


def test_an_accepted_row_is_stale_only_when_analytics_holds_a_newer_version():
    (record,) = check(fields(version="3"))
    assert isinstance(record, SubscriptionRecord)
    assert er.accepted_row(record) == (2, "SR1", "SUB1", "ACCEPTED", "", "")
    assert er.accepted_row(record, 3) == (2, "SR1", "SUB1", "ACCEPTED", "", "")
    stale = er.accepted_row(record, 5)
    assert stale[3:5] == ("ACCEPTED", er.AN_STALE)
    assert stale[5] == "analytics holds version 5; this row's version 3 changed nothing"


def test_the_ack_text_quotes_as_rfc_4180_asks_and_reads_back():
    rows = [
        (2, "SR1", "SUB1", "ACCEPTED", "", ""),
        (3, "SR,2", 'S"2', "REJECTED", er.AN_DATE, "line\nbreak"),
        (4, "SR\r3", "", "REJECTED", er.AN_COLUMNS, "cr"),
    ]
    text = csv_text(rows, header=ACK_HEADER)
    assert text.splitlines()[0] == "rowNumber,syncRequestId,subscriptionId,result,reasonCode,reason"
    assert '3,"SR,2","S""2",REJECTED,AN-DATE,"line\nbreak"\n' in text
    assert '4,"SR\r3",,REJECTED,AN-COLUMNS,cr\n' in text
    back = list(csv.reader(io.StringIO(text, newline="")))
    assert back[1:] == [[str(c) for c in row] for row in rows]


def test_a_rejected_row_carries_its_code_and_reason():
    reject = RowReject(7, er.AN_MISSING, "version is blank", ("SR7", "SUB7"))
    assert er.rejected_row(reject) == (
        7,
        "SR7",
        "SUB7",
        "REJECTED",
        "AN-MISSING",
        "version is blank",
    )
