"""The outcome file's rows and their acknowledgement rows: every reason code a row can get, the
times as analytics keeps them, and the rows of the acknowledgement. (Splitting bytes into
records, the header and the rows' shape are the file-intake machinery's:
tests/unit/platform/test_intake_records.py.)"""

from __future__ import annotations

import pytest

from derlink.analytics.outcomes import model as om
from derlink.analytics.outcomes.model import HEADER, OutcomeRecord, OutcomeRows
from derlink.platform.intake.records import RowReject


def fields(**changes: str) -> list[str]:
    """A valid outcome row (a D1SP device), with the named columns changed."""
    row = {
        "RecordId": "7",
        "EventId": "EV-1",
        "StageId": "SG-1",
        "ProgramId": "BYOT-2026",
        "HeadEndSystem": "ECOBEE-HE",
        "NicId": "NIC-7",
        "DeviceId": "D-7",
        "SPId": "SP7",
        "Outcome": "D1SP",
        "ErrorMessage": "",
        "ParticipationStartTime": "2026-07-17T15:00:00-07:00",
        "ParticipationEndTime": "2026-07-17T17:00:00-07:00",
        "MeasuredKw": "1.25",
    }
    row.update(changes)
    return [row[name] for name in HEADER]


def checked(*rows: list[str], seq: int | None = 3) -> list[OutcomeRecord | RowReject]:
    """The rows, numbered from 2 as the file numbers them, through one file's checks."""
    return OutcomeRows(seq).check([(n, f) for n, f in enumerate(rows, start=2)])


def reject_of(row: list[str]) -> tuple[str, str]:
    (found,) = checked(row)
    assert isinstance(found, RowReject), found
    return found.code, found.reason


def test_a_good_row_is_a_record_with_its_times_in_utc():
    (record,) = checked(fields())
    assert record == OutcomeRecord(
        2, "SG-1", "ECOBEE-HE", "NIC-7", "7", "EV-1", "BYOT-2026", "D-7", "SP7", "D1SP", "",
        "2026-07-17T22:00:00+00:00", "2026-07-18T00:00:00+00:00", 1.25,
    )  # fmt: skip


@pytest.mark.parametrize("outcome", ["D1CN", "D1ND"])
def test_a_device_that_never_took_part_may_leave_its_times_and_kw_blank(outcome: str):
    row = fields(Outcome=outcome, ParticipationStartTime="", ParticipationEndTime="", MeasuredKw="")
    (record,) = checked(row)
    assert isinstance(record, OutcomeRecord)
    assert (record.outcome, record.participation_start_at, record.participation_end_at) == (
        outcome, None, None,
    )  # fmt: skip
    assert record.measured_kw is None


@pytest.mark.parametrize("outcome", ["D1SP", "D1IO", "D1ER"])
def test_a_device_that_took_part_needs_both_times(outcome: str):
    code, reason = reject_of(fields(Outcome=outcome, ParticipationEndTime=""))
    assert code == om.TIME
    assert reason == (
        "ParticipationEndTime is blank: only a D1CN or D1ND row may leave the times blank"
    )


def test_a_cancelled_device_with_one_time_of_two_is_refused():
    code, reason = reject_of(fields(Outcome="D1CN", ParticipationStartTime=""))
    assert (code, reason) == (om.TIME, "ParticipationStartTime is blank and the other time is not")


@pytest.mark.parametrize(
    ("changes", "code", "reason"),
    [
        ({"Outcome": "D1XX"}, om.VALUE, "Outcome is not one of D1SP, D1ND, D1IO, D1ER, D1CN"),
        ({"Outcome": "d1sp"}, om.VALUE, "Outcome is not one of D1SP, D1ND, D1IO, D1ER, D1CN"),
        ({"ParticipationStartTime": "2026-07-17T15:00:00"}, om.TIME,
         "ParticipationStartTime has no UTC offset"),
        ({"ParticipationEndTime": "2026-07-17"}, om.TIME,
         "ParticipationEndTime has no UTC offset"),
        ({"ParticipationStartTime": "yesterday"}, om.TIME,
         "ParticipationStartTime is not an ISO-8601 time"),
        ({"ParticipationEndTime": "2026-02-30T10:00:00Z"}, om.TIME,
         "ParticipationEndTime is not an ISO-8601 time"),
        ({"ParticipationEndTime": "2026-07-17T14:59:59-07:00"}, om.TIME,
         "ParticipationEndTime is before ParticipationStartTime"),
        ({"MeasuredKw": "1,5"}, om.VALUE, "MeasuredKw is not a number"),
        ({"MeasuredKw": "nan"}, om.VALUE, "MeasuredKw is not a number"),
        ({"MeasuredKw": "1e999"}, om.VALUE, "MeasuredKw is not a number"),
        ({"MeasuredKw": "1_000"}, om.VALUE, "MeasuredKw is not a number"),
        ({"NicId": ""}, om.MISSING, "NicId is blank"),
        ({"StageId": " ", "SPId": ""}, om.MISSING, "StageId, SPId are blank"),
        ({"RecordId": "", "EventId": "", "HeadEndSystem": "", "Outcome": ""}, om.MISSING,
         "RecordId, EventId, HeadEndSystem, Outcome are blank"),
        ({"ErrorMessage": "x" * 101}, om.LENGTH, "ErrorMessage longer than 100 characters"),
        ({"DeviceId": "D" * 121, "SPId": "S" * 121}, om.LENGTH,
         "DeviceId longer than 120 characters, SPId longer than 120 characters"),
    ],
)  # fmt: skip
def test_a_bad_row_is_refused_with_its_reason(changes: dict[str, str], code: str, reason: str):
    assert reject_of(fields(**changes)) == (code, reason)


def test_the_first_failure_wins():
    assert reject_of(fields(NicId="", Outcome="D1XX", MeasuredKw="x"))[0] == om.MISSING
    assert reject_of(fields(Outcome="D1XX", MeasuredKw="x"))[0] == om.VALUE
    assert reject_of(fields(ParticipationStartTime="x", MeasuredKw="x"))[0] == om.TIME


def test_the_optional_columns_may_be_blank_and_an_error_message_up_to_its_width_is_kept():
    (record,) = checked(
        fields(ProgramId="", DeviceId="", ErrorMessage="e" * 100, MeasuredKw="-0.5")
    )
    assert isinstance(record, OutcomeRecord)
    assert (record.program_id, record.device_id, record.measured_kw) == ("", "", -0.5)
    assert record.error_message == "e" * 100


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("2026-07-17T22:00:00Z", "2026-07-17T22:00:00+00:00"),
        ("2026-07-18T00:00:00+02:00", "2026-07-17T22:00:00+00:00"),
        ("2026-07-17T15:00:00.250-07:00", "2026-07-17T22:00:00.250000+00:00"),
    ],
)
def test_a_time_is_kept_in_utc_whatever_its_offset(text: str, kept: str):
    (record,) = checked(fields(ParticipationStartTime=text, ParticipationEndTime=text))
    assert isinstance(record, OutcomeRecord)
    assert record.participation_start_at == record.participation_end_at == kept


def test_the_same_time_text_read_again_gives_the_same_answer():
    rows = [fields(RecordId=str(n), NicId=f"N{n}") for n in range(3)]
    rows.append(fields(RecordId="9", NicId="N9", ParticipationStartTime="2026-07-17T15:00:00"))
    first, second, third, bad = checked(*rows)
    assert {r.participation_start_at for r in (first, second, third)} == {  # type: ignore[union-attr]
        "2026-07-17T22:00:00+00:00"
    }
    assert isinstance(bad, RowReject) and bad.code == om.TIME


def test_a_file_whose_name_has_no_seq_has_every_row_refused():
    shape = RowReject(3, om.COLUMNS, "expected 13 columns, found 2", ("1", "SG-1", "", ""))
    found = OutcomeRows(None).check([(2, fields()), (3, shape)])
    assert [(r.row_number, r.code) for r in found] == [(2, om.NAME), (3, om.COLUMNS)]  # type: ignore[union-attr]
    assert found[0].reason.startswith("the file's name is not OUTCOME_")  # type: ignore[union-attr]
    assert found[0].keys == ("7", "SG-1", "ECOBEE-HE", "NIC-7")  # type: ignore[union-attr]


def test_a_rejected_row_is_named_in_its_ack_row_by_what_could_be_read():
    assert om.row_keys(["1", "EV", "SG"]) == ("1", "SG", "", "")
    assert om.row_keys([]) == ("", "", "", "")
    assert om.row_keys(fields(NicId="N" * 500))[3] == "N" * om.ID_MAX
    reject = RowReject(4, om.VALUE, "Outcome is not one of …", ("9", "SG-1", "HE", "NIC-9"))
    assert om.rejected_row(reject) == (
        4, "9", "SG-1", "HE", "NIC-9", "REJECTED", om.VALUE, "Outcome is not one of …",
    )  # fmt: skip
    assert om.rejected_row(RowReject(1, om.HEADER_CODE, "expected header …")) == (
        1, "", "", "", "", "REJECTED", om.HEADER_CODE, "expected header …",
    )  # fmt: skip


def test_an_accepted_row_says_when_a_newer_file_held_its_device_already():
    (record,) = checked(fields())
    assert isinstance(record, OutcomeRecord)
    assert om.accepted_row(record) == (2, "7", "SG-1", "ECOBEE-HE", "NIC-7", "ACCEPTED", "", "")
    stale = om.accepted_row(record, "OUTCOME_20260718T010000Z_000004.csv")
    assert stale[5:7] == ("ACCEPTED", om.STALE)
    assert stale[7] == (
        "analytics holds this device's outcome of the stage from the newer file "
        "OUTCOME_20260718T010000Z_000004.csv; this row changed nothing"
    )
