"""Program events' lifecycle (docs/contracts/program-events.md, "Lifecycle"): every action in
every state, the monotone rule, the two terminal disagreements; and the checks of a create."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from derlink.cpm.errors import CpmBusinessError, CpmConflict
from derlink.cpm.events import model as m
from derlink.cpm.events.model import LifecycleAction as A
from derlink.cpm.events.model import LifecycleOutcome
from derlink.cpm.events.model import ProgramEventState as S

APPLIED, UNCHANGED, REFUSED = "applied", "unchanged", "409"

#: The whole table: (action, state) → what happens (and to which state).
TABLE = {
    (A.SCHEDULE, S.PENDING): (APPLIED, S.SCHEDULED),
    (A.SCHEDULE, S.SCHEDULED): (UNCHANGED, None),
    (A.SCHEDULE, S.IN_PROGRESS): (UNCHANGED, None),
    (A.SCHEDULE, S.COMPLETE): (UNCHANGED, None),
    (A.SCHEDULE, S.CANCELED): (UNCHANGED, None),
    (A.IN_PROGRESS, S.PENDING): (APPLIED, S.IN_PROGRESS),
    (A.IN_PROGRESS, S.SCHEDULED): (APPLIED, S.IN_PROGRESS),
    (A.IN_PROGRESS, S.IN_PROGRESS): (UNCHANGED, None),
    (A.IN_PROGRESS, S.COMPLETE): (UNCHANGED, None),
    (A.IN_PROGRESS, S.CANCELED): (UNCHANGED, None),
    (A.COMPLETE, S.PENDING): (REFUSED, None),
    (A.COMPLETE, S.SCHEDULED): (APPLIED, S.COMPLETE),
    (A.COMPLETE, S.IN_PROGRESS): (APPLIED, S.COMPLETE),
    (A.COMPLETE, S.COMPLETE): (UNCHANGED, None),
    (A.COMPLETE, S.CANCELED): (REFUSED, None),
    (A.CANCEL, S.PENDING): (APPLIED, S.CANCELED),
    (A.CANCEL, S.SCHEDULED): (APPLIED, S.CANCELED),
    (A.CANCEL, S.IN_PROGRESS): (APPLIED, S.CANCELED),
    (A.CANCEL, S.COMPLETE): (REFUSED, None),
    (A.CANCEL, S.CANCELED): (UNCHANGED, None),
}


def test_the_table_covers_every_action_in_every_state() -> None:
    assert set(TABLE) == {(a, s) for a in A for s in S}


@pytest.mark.parametrize(("action", "state"), sorted(TABLE))
def test_each_action_in_each_state_does_what_the_table_says(action: A, state: S) -> None:
    what, to_state = TABLE[(action, state)]
    if what == REFUSED:
        with pytest.raises(CpmConflict) as refused:
            m.decide("SG-1", state, action)
        assert refused.value.code == m.PROGRAM_EVENT_STATE
        assert refused.value.message == (
            f"program event SG-1 is {state.value}: {action.value} cannot move it to "
            f"{m.TARGET[action].value}"
        )
        return
    move = m.decide("SG-1", state, action)
    expected = LifecycleOutcome.APPLIED if what == APPLIED else LifecycleOutcome.UNCHANGED
    assert move == m.Move(expected, to_state)


@pytest.mark.parametrize(("action", "state"), sorted(TABLE))
def test_no_action_moves_an_event_back_or_sideways(action: A, state: S) -> None:
    """The monotone rule: whatever is applied ranks above where the event was, so a message
    delivered again, or late, has no second effect."""
    try:
        move = m.decide("SG-1", state, action)
    except CpmConflict:
        return
    if move.to_state is not None:
        assert m.RANK[move.to_state] > m.RANK[state]
        again = m.decide("SG-1", move.to_state, action)
        assert again == m.Move(LifecycleOutcome.UNCHANGED)


def test_a_cancel_needs_a_reason_and_the_other_actions_keep_none() -> None:
    with pytest.raises(CpmBusinessError) as blank:
        m.check_cancel_reason(A.CANCEL, "  ")
    assert blank.value.code == m.PROGRAM_EVENT_INVALID
    assert m.check_cancel_reason(A.CANCEL, "storm passed") == "storm passed"
    for action in (A.SCHEDULE, A.IN_PROGRESS, A.COMPLETE):
        assert m.check_cancel_reason(action, "ignored") == ""


# -- a create -------------------------------------------------------------------------------

START = datetime(2026, 7, 17, 15, 0, tzinfo=timezone(timedelta(hours=-7)))


def _event(**changes: object) -> m.NewProgramEvent:
    fields: dict[str, object] = {
        "external_identifier": "SG-1",
        "event_external_identifier": "EV-1",
        "program_external_identifier": "BYOT-2026",
        "category": m.ProgramEventCategory.EMERGENCY,
        "start": START,
        "end": START + timedelta(hours=2),
        **changes,
    }
    return m.NewProgramEvent(**fields)  # type: ignore[arg-type]


def test_a_window_must_end_after_it_starts() -> None:
    assert m.check_new_event(_event()) == _event()
    for end in (START, START - timedelta(minutes=1)):
        with pytest.raises(CpmBusinessError) as refused:
            m.check_new_event(_event(end=end))
        assert refused.value.code == m.PROGRAM_EVENT_INVALID
        assert "is not after startDateTime" in refused.value.message


def test_a_window_needs_offsets_and_times_utc_can_hold() -> None:
    with pytest.raises(CpmBusinessError, match="UTC offset"):
        m.check_new_event(_event(start=datetime(2026, 7, 17, 15, 0)))
    east = timezone(timedelta(hours=5))
    with pytest.raises(CpmBusinessError, match="out of range in UTC"):
        m.check_new_event(_event(start=datetime(1, 1, 1, tzinfo=east)))


def test_times_are_kept_in_utc_so_that_text_order_is_time_order() -> None:
    assert m.utc_text(START) == "2026-07-17T22:00:00+00:00"
    later_in_another_zone = datetime(2026, 7, 18, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    assert later_in_another_zone > START
    assert m.utc_text(later_in_another_zone) > m.utc_text(START)


def test_a_redelivered_create_is_compared_field_by_field_in_utc() -> None:
    stored = m.StoredEvent(
        "EV-1",
        "BYOT-2026",
        m.ProgramEventCategory.EMERGENCY,
        "2026-07-17T22:00:00+00:00",
        "2026-07-18T00:00:00+00:00",
    )
    same_instant_other_zone = START.astimezone(UTC)
    assert m.differences(stored, _event(start=same_instant_other_zone)) == []
    assert m.differences(
        stored,
        _event(event_external_identifier="EV-2", category=m.ProgramEventCategory.ECONOMIC,
               end=START + timedelta(hours=3)),
    ) == ["eventExternalIdentifier", "programEventCategory", "endDateTime"]  # fmt: skip
    assert m.differences(stored, _event(program_external_identifier="BYOT")) == [
        "programExternalIdentifier"
    ]
    refused = m.conflict("SG-1", ["endDateTime"])
    assert (refused.code, refused.details) == (
        m.PROGRAM_EVENT_CONFLICT,
        {"fields": ["endDateTime"]},
    )
