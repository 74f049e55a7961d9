"""Event participations' rules (docs/contracts/program-events.md, "Reservations"): the states
and their moves, which program events take reservations, a device's reservation window, and
the decision of each device of a call, in its order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from itertools import count

import pytest

from derlink.cpm.errors import CpmBusinessError, CpmConflict
from derlink.cpm.events import participation as p
from derlink.cpm.events.model import ProgramEventState
from derlink.cpm.events.participation import ParticipationState as S
from derlink.cpm.events.participation import ReservationOutcome as O

PDT = timezone(timedelta(hours=-7))
EVENT = p.Window(datetime(2026, 7, 17, 15, tzinfo=PDT), datetime(2026, 7, 17, 17, tzinfo=PDT))
HE = "ECOBEE-HE"


def test_a_reserved_participation_moves_to_opted_out_released_or_outcome_then_settled():
    moves = {(a, b) for a in S for b in S if p.can_move(a, b)}
    assert moves == {
        (S.RESERVED, S.OPTED_OUT),
        (S.RESERVED, S.RELEASED),
        (S.RESERVED, S.OUTCOME_RECORDED),
        (S.OUTCOME_RECORDED, S.SETTLED),
    }
    assert [s.value for s in S] == [
        "Reserved", "OptedOut", "Released", "OutcomeRecorded", "Settled",
    ]  # fmt: skip
    assert [o.value for o in p.ParticipationOutcome] == ["D1SP", "D1ND", "D1IO", "D1ER", "D1CN"]


@pytest.mark.parametrize("state", list(ProgramEventState))
def test_only_a_program_event_not_over_takes_reservations(state: ProgramEventState):
    over = state in (ProgramEventState.COMPLETE, ProgramEventState.CANCELED)
    if over:
        with pytest.raises(CpmConflict) as refused:
            p.check_reservable("SG-1", kept="EV-1", given="EV-1", state=state)
        assert refused.value.code == "CPM-PROGRAM-EVENT-STATE"
        assert refused.value.message == (
            f"program event SG-1 is {state.value}: it takes no reservations"
        )
    else:
        p.check_reservable("SG-1", kept="EV-1", given="EV-1", state=state)


def test_a_reservation_naming_another_derms_event_is_invalid_whatever_the_state():
    for state in ProgramEventState:
        with pytest.raises(CpmBusinessError) as refused:
            p.check_reservable("SG-1", kept="EV-1", given="EV-2", state=state)
        assert refused.value.code == "CPM-PROGRAM-EVENT-INVALID"
        assert refused.value.message == "program event SG-1 belongs to the event EV-1, not EV-2"


# -- the window -----------------------------------------------------------------------------


def test_a_missing_time_is_the_program_event_s_own():
    assert p.reservation_window(None, None, EVENT) == EVENT
    assert p.reservation_window("", "  ", EVENT) == EVENT
    assert p.reservation_window("2026-07-17T22:30:00Z", None, EVENT) == p.Window(
        datetime(2026, 7, 17, 22, 30, tzinfo=UTC), EVENT.end
    )


def test_a_window_within_the_event_s_in_any_offset_is_kept():
    window = p.reservation_window("2026-07-17T15:00:00-07:00", "2026-07-18T00:00:00+00:00", EVENT)
    assert window == EVENT


@pytest.mark.parametrize(
    ("start", "end", "why"),
    [
        ("2026-07-17T16:00:00-07:00", "2026-07-17T16:00:00-07:00", "is not after"),
        ("2026-07-17T16:30:00-07:00", "2026-07-17T16:00:00-07:00", "is not after"),
        ("2026-07-17T14:59:59-07:00", None, "is outside the program event's window"),
        (None, "2026-07-17T17:00:01-07:00", "is outside the program event's window"),
        ("2026-07-17T15:30:00", None, "reservationStartDateTime '2026-07-17T15:30:00' has no UTC"),
        (None, "2026-07-17T16:30:00", "reservationEndDateTime '2026-07-17T16:30:00' has no UTC"),
        ("2026-07-17", None, "has no UTC offset"),
        ("soon", None, "reservationStartDateTime 'soon' is not an ISO-8601 date-time"),
        (None, "2026-13-01T00:00:00Z", "is not an ISO-8601 date-time"),
        ("0001-01-01T00:00:00+05:00", None, "is outside the program event's window"),
    ],
)
def test_a_window_cpm_cannot_keep_says_why(start: str | None, end: str | None, why: str):
    refused = p.reservation_window(start, end, EVENT)
    assert isinstance(refused, str)
    assert why in refused


# -- the decision ---------------------------------------------------------------------------


def _ids() -> Callable[[], str]:
    numbers = count(1)
    return lambda: f"EP-{next(numbers)}"


def test_each_device_is_decided_in_the_call_s_order():
    held = {
        (HE, "NIC-1"): p.HeldDevice("D-1", "E-1"),
        (HE, "NIC-2"): p.HeldDevice("D-2", ""),
        (HE, "NIC-3"): p.HeldDevice("D-3", "E-1"),
        (HE, "NIC-4"): p.HeldDevice("D-4", "E-1"),
    }
    devices = [
        p.RequestedDevice(HE, "NIC-9"),
        p.RequestedDevice(HE, "NIC-1", "2026-07-17T15:30:00-07:00"),
        p.RequestedDevice(HE, "NIC-2"),
        p.RequestedDevice(HE, "NIC-3"),
        p.RequestedDevice(HE, "NIC-4", None, "2026-07-17T18:00:00-07:00"),
        p.RequestedDevice(HE, "NIC-1"),
        p.RequestedDevice("OTHER-HE", "NIC-1"),
    ]
    decided = p.decide_reservations(
        devices, event=EVENT, held=held, existing={(HE, "NIC-3"): "EP-OLD"}, new_id=_ids()
    )
    assert [(r.nic_id, r.outcome, r.code, r.participation_id) for r in decided] == [
        ("NIC-9", O.REJECTED, "CPM-DEVICE-UNKNOWN", ""),
        ("NIC-1", O.RESERVED, "", "EP-1"),
        ("NIC-2", O.REJECTED, "CPM-DEVICE-NOT-IN-PROGRAM", ""),
        ("NIC-3", O.EXISTS, "", "EP-OLD"),
        ("NIC-4", O.REJECTED, "CPM-RESERVATION-INVALID", ""),
        ("NIC-1", O.REJECTED, "CPM-RESERVATION-INVALID", ""),
        ("NIC-1", O.REJECTED, "CPM-DEVICE-UNKNOWN", ""),
    ]
    assert decided[1] == p.Reservation(
        HE, "NIC-1", O.RESERVED, "", "", "EP-1", "D-1", "E-1",
        "2026-07-17T22:30:00+00:00", "2026-07-18T00:00:00+00:00",
    )  # fmt: skip
    assert decided[2].detail == "device D-2 is on no Active subscription of the program"
    assert decided[5].detail == "the device is named twice in the call"
    assert decided[6].detail == "cpm holds no device 'NIC-1' of the head-end system 'OTHER-HE'"


def test_a_participation_that_exists_answers_exists_before_any_other_check():
    """A re-delivered collection answers as the first delivery did, even once the device left
    the program or with another window."""
    existing = {(HE, "NIC-1"): "EP-OLD"}
    for requested in (
        p.RequestedDevice(HE, "NIC-1"),
        p.RequestedDevice(HE, "NIC-1", "not a time"),
        p.RequestedDevice(HE, "NIC-1", "2026-07-17T14:00:00-07:00"),
    ):
        (decided,) = p.decide_reservations(
            [requested], event=EVENT, held={}, existing=existing, new_id=_ids()
        )
        assert (decided.outcome, decided.participation_id) == (O.EXISTS, "EP-OLD")


def test_a_window_is_checked_before_the_device_is_looked_up():
    (decided,) = p.decide_reservations(
        [p.RequestedDevice(HE, "NIC-9", "2026-07-17T15:30:00")],
        event=EVENT, held={}, existing={}, new_id=_ids(),
    )  # fmt: skip
    assert (decided.outcome, decided.code) == (O.REJECTED, "CPM-RESERVATION-INVALID")
