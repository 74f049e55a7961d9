"""Eligibility rules and their codes (docs/contracts/enrollment.md, "cpm business codes")."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from derlink.common.errors import BusinessError, Conflict
from derlink.cpm.catalog.model import (
    PROGRAM_INACTIVE,
    PROGRAM_UNKNOWN,
    Program,
    ProgramStatus,
)
from derlink.cpm.enrollment import model as m
from derlink.cpm.errors import CpmBusinessError, CpmConflict

ACTIVE = Program("BYOT", ProgramStatus.ACTIVE, frozenset({"ECOBEE-ST"}))
THERMOSTAT = m.Asset("ECOBEE-HE", "NIC-1", specification="ECOBEE-ST")
ELIGIBLE = m.EnrollmentFacts(
    program_code="BYOT",
    program=ACTIVE,
    cis_account_id="A1",
    account_known=True,
    cis_service_point_id="SP1",
    service_point=m.ServicePoint("SP1", "A1"),
    assets=[THERMOSTAT],
    has_open_enrollment=False,
    devices_in_use=frozenset(),
)


def _code_of(**changes: Any) -> str:
    with pytest.raises(CpmBusinessError) as caught:
        m.check_enrollment(replace(ELIGIBLE, **changes))
    assert isinstance(caught.value, BusinessError)
    return caught.value.code


def test_an_eligible_request_passes_and_names_its_program() -> None:
    assert m.check_enrollment(ELIGIBLE) is ACTIVE


def test_an_unknown_program_is_refused() -> None:
    assert _code_of(program=None) == PROGRAM_UNKNOWN


@pytest.mark.parametrize("status", [ProgramStatus.INACTIVE, ProgramStatus.PENDING])
def test_a_program_that_is_not_active_refuses_enrollments(status: ProgramStatus) -> None:
    assert _code_of(program=replace(ACTIVE, status=status)) == PROGRAM_INACTIVE


def test_an_unknown_account_is_refused() -> None:
    assert _code_of(account_known=False) == m.ACCOUNT_UNKNOWN


def test_an_unknown_service_point_is_refused() -> None:
    assert _code_of(service_point=None) == m.SP_UNKNOWN


def test_a_service_point_on_another_account_is_refused() -> None:
    assert _code_of(service_point=m.ServicePoint("SP1", "A2")) == m.SP_NOT_ON_ACCOUNT


def test_a_second_open_enrollment_at_the_same_place_is_refused() -> None:
    assert _code_of(has_open_enrollment=True) == m.DUPLICATE_ENROLLMENT


def test_a_request_without_devices_is_refused() -> None:
    assert _code_of(assets=[]) == m.NO_DEVICES


def test_a_device_without_a_specification_is_refused() -> None:
    assert _code_of(assets=[replace(THERMOSTAT, specification="")]) == m.SPEC_MISSING


def test_a_device_whose_specification_the_program_does_not_list_is_refused() -> None:
    assert _code_of(assets=[replace(THERMOSTAT, specification="NEST-T")]) == m.SPEC_INELIGIBLE


def test_a_program_without_listed_specifications_takes_any() -> None:
    open_program = replace(ACTIVE, eligible_specifications=frozenset())
    facts = replace(ELIGIBLE, program=open_program,
                    assets=[replace(THERMOSTAT, specification="ANY")])  # fmt: skip
    assert m.check_enrollment(facts) is open_program


def test_a_device_held_by_an_open_subscription_is_refused() -> None:
    assert _code_of(devices_in_use={("ECOBEE-HE", "NIC-1")}) == m.DEVICE_IN_USE


def test_the_same_device_twice_in_one_request_is_refused() -> None:
    assert _code_of(assets=[THERMOSTAT, replace(THERMOSTAT, serial_no="other")]) == (
        m.DEVICE_IN_USE
    )


def test_the_same_nic_on_another_head_end_is_another_device() -> None:
    other = replace(THERMOSTAT, head_end_system="OTHER-HE")
    assert m.check_enrollment(replace(ELIGIBLE, assets=[THERMOSTAT, other])) is ACTIVE
    # The key is (head-end, NIC): the one held elsewhere is the one on OTHER-HE.
    with pytest.raises(CpmBusinessError, match="OTHER-HE!NIC-1") as caught:
        m.check_enrollment(
            replace(ELIGIBLE, assets=[THERMOSTAT, other], devices_in_use={("OTHER-HE", "NIC-1")})
        )
    assert caught.value.code == m.DEVICE_IN_USE


def test_changes_need_an_active_enrollment() -> None:
    m.check_changeable("E-1", m.SubscriptionStatus.ACTIVE, unenrollment_under_way=False)
    for status in (m.SubscriptionStatus.PENDING, m.SubscriptionStatus.INACTIVE):
        with pytest.raises(Conflict) as caught:
            m.check_changeable("E-1", status, unenrollment_under_way=False)
        assert caught.value.code == m.ENROLLMENT_NOT_ACTIVE


def test_changes_are_refused_while_an_unenrollment_is_under_way() -> None:
    with pytest.raises(CpmConflict) as caught:
        m.check_changeable("E-1", m.SubscriptionStatus.ACTIVE, unenrollment_under_way=True)
    assert caught.value.code == m.ENROLLMENT_NOT_ACTIVE


def test_replacing_a_device_the_enrollment_does_not_hold_is_refused() -> None:
    m.check_device_on_enrollment("E-1", "D-1", ["D-1"])
    with pytest.raises(CpmBusinessError) as caught:
        m.check_device_on_enrollment("E-1", "D-2", ["D-1"])
    assert caught.value.code == m.DEVICE_NOT_ON_ENROLLMENT


def test_a_repeated_message_id_is_the_10589_conflict_carrying_the_enrollment() -> None:
    error = m.duplicate_enrollment_request("REQ-1", "E-1")
    assert isinstance(error, Conflict)
    assert error.code == "10589"
    assert error.details == {"messageNumber": 10589, "enrollmentId": "E-1"}


def test_an_enrollment_ends_after_it_starts_or_not_at_all() -> None:
    start = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    m.check_period(start, None)
    m.check_period(start, start + timedelta(seconds=1))
    for end in (start, start - timedelta(days=1)):
        with pytest.raises(CpmBusinessError) as caught:
            m.check_period(start, end)
        assert caught.value.code == m.END_NOT_AFTER_START
