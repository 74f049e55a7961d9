"""The sync-request state machine (docs/contracts/enrollment.md, "Sync request states")."""

from __future__ import annotations

import pytest

from derlink.cpm.enrollment import model as m
from derlink.cpm.enrollment.model import AckOutcome, SubscriptionStatus, SyncState, SyncType
from derlink.cpm.errors import CpmConflict


@pytest.mark.parametrize("state", [SyncState.PENDING, SyncState.AWAITING_ACKNOWLEDGEMENT])
def test_a_clean_ack_synchronizes_an_open_request_even_one_still_pending(state: SyncState) -> None:
    decision = m.decide_acknowledgement(state, has_error=False)
    assert decision == m.AckDecision(AckOutcome.SYNCHRONIZED, SyncState.SYNCHRONIZED)


@pytest.mark.parametrize("state", [SyncState.PENDING, SyncState.AWAITING_ACKNOWLEDGEMENT])
def test_an_ack_with_an_error_puts_an_open_request_in_error(state: SyncState) -> None:
    decision = m.decide_acknowledgement(state, has_error=True)
    assert decision == m.AckDecision(AckOutcome.ERROR, SyncState.ERROR)


@pytest.mark.parametrize("state", [SyncState.SYNCHRONIZED, SyncState.ERROR])
@pytest.mark.parametrize("has_error", [False, True])
def test_a_second_ack_on_a_final_request_is_a_duplicate_that_changes_nothing(
    state: SyncState, has_error: bool
) -> None:
    decision = m.decide_acknowledgement(state, has_error=has_error)
    assert decision.outcome is AckOutcome.DUPLICATE
    assert decision.to_state is None
    assert decision.code is None


def test_an_ack_for_an_unknown_request_is_rejected_with_its_code() -> None:
    decision = m.decide_acknowledgement(None, has_error=False)
    assert (decision.outcome, decision.to_state, decision.code) == (
        AckOutcome.REJECTED, None, m.SYNC_UNKNOWN,
    )  # fmt: skip


def test_an_ack_for_a_discarded_request_is_rejected_with_its_code() -> None:
    decision = m.decide_acknowledgement(SyncState.DISCARDED, has_error=False)
    assert (decision.outcome, decision.to_state, decision.code) == (
        AckOutcome.REJECTED, None, m.SYNC_DISCARDED,
    )  # fmt: skip


@pytest.mark.parametrize("state", [SyncState.PENDING, SyncState.AWAITING_ACKNOWLEDGEMENT])
def test_an_ack_naming_devices_the_subscription_does_not_hold_is_rejected_whole(
    state: SyncState,
) -> None:
    decision = m.decide_acknowledgement(
        state, has_error=False, enrollment_id="E-1", unheld_devices=["D-2", "D-3"]
    )
    assert decision == m.AckDecision(
        AckOutcome.REJECTED,
        code=m.DEVICE_NOT_ON_ENROLLMENT,
        detail="enrollment E-1 holds no device D-2, D-3",
    )


def test_a_repeated_ack_stays_a_duplicate_whatever_devices_it_names() -> None:
    decision = m.decide_acknowledgement(
        SyncState.SYNCHRONIZED, has_error=False, enrollment_id="E-1", unheld_devices=["D-2"]
    )
    assert decision.outcome is AckOutcome.DUPLICATE


def test_only_a_pending_request_moves_to_awaiting_acknowledgement_when_sent() -> None:
    assert m.state_when_sent(SyncState.PENDING) is SyncState.AWAITING_ACKNOWLEDGEMENT
    for state in SyncState:
        if state is not SyncState.PENDING:
            assert m.state_when_sent(state) is None, state


@pytest.mark.parametrize(
    "state", [SyncState.PENDING, SyncState.AWAITING_ACKNOWLEDGEMENT, SyncState.ERROR]
)
def test_an_operator_may_discard_any_request_that_is_not_synchronized(state: SyncState) -> None:
    assert m.state_when_discarded("SR-1", state) is SyncState.DISCARDED


def test_discarding_a_synchronized_request_is_a_conflict() -> None:
    with pytest.raises(CpmConflict) as caught:
        m.state_when_discarded("SR-1", SyncState.SYNCHRONIZED)
    assert caught.value.code == m.SYNC_SYNCHRONIZED


def test_discarding_twice_changes_nothing_the_second_time() -> None:
    assert m.state_when_discarded("SR-1", SyncState.DISCARDED) is None


def test_a_synchronized_enroll_activates_a_pending_subscription() -> None:
    after = m.subscription_status_after(
        SyncType.ENROLL, SyncState.SYNCHRONIZED, SubscriptionStatus.PENDING
    )
    assert after is SubscriptionStatus.ACTIVE


def test_a_synchronized_unenroll_ends_the_subscription() -> None:
    after = m.subscription_status_after(
        SyncType.UNENROLL, SyncState.SYNCHRONIZED, SubscriptionStatus.ACTIVE
    )
    assert after is SubscriptionStatus.INACTIVE


@pytest.mark.parametrize(
    ("sync_type", "to_state", "status"),
    [
        (SyncType.ENROLL, SyncState.ERROR, SubscriptionStatus.PENDING),
        (SyncType.UNENROLL, SyncState.ERROR, SubscriptionStatus.ACTIVE),
        (SyncType.ADD_DEVICE, SyncState.SYNCHRONIZED, SubscriptionStatus.ACTIVE),
        (SyncType.DEVICE_REPLACEMENT, SyncState.SYNCHRONIZED, SubscriptionStatus.ACTIVE),
        (SyncType.ENROLL, SyncState.SYNCHRONIZED, SubscriptionStatus.INACTIVE),
        (SyncType.UNENROLL, SyncState.SYNCHRONIZED, SubscriptionStatus.INACTIVE),
    ],
)
def test_other_outcomes_leave_the_subscription_status_alone(
    sync_type: SyncType, to_state: SyncState, status: SubscriptionStatus
) -> None:
    assert m.subscription_status_after(sync_type, to_state, status) is None


def test_a_device_status_response_answers_its_check_once() -> None:
    assert m.decide_status_answer(m.DeviceCheckState.PENDING) is m.AnswerOutcome.RECORDED
    assert m.decide_status_answer(m.DeviceCheckState.SENT) is m.AnswerOutcome.RECORDED
    assert m.decide_status_answer(m.DeviceCheckState.ANSWERED) is m.AnswerOutcome.DUPLICATE
    assert m.decide_status_answer(None) is m.AnswerOutcome.REJECTED


def test_only_a_pending_check_becomes_sent() -> None:
    assert m.check_state_when_sent(m.DeviceCheckState.PENDING) is m.DeviceCheckState.SENT
    assert m.check_state_when_sent(m.DeviceCheckState.ANSWERED) is None
