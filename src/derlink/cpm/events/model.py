"""Program events' domain: cpm's copy of one DERMS event stage (EVT-STATUS), its states, the
lifecycle actions DERMS sends and what each does (docs/contracts/program-events.md).

Pure: values in, values (or a coded error) out. No database, web framework or clock; every
moment is passed in, timezone-aware.

The lifecycle is monotone, so that a message delivered twice, or late, has no second effect:
states rank Pending 0 < Scheduled 1 < In Progress 2 < Complete, Canceled 3. An action whose
target is the current state, or ranks below it, changes nothing (``Unchanged``) — but for the
two terminal disagreements (complete a Canceled event, cancel a Complete one), which are
refused. Any other action moves the event, if the state it is in allows the action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from derlink.cpm.errors import CpmBusinessError, CpmConflict


class ProgramEventState(StrEnum):
    PENDING = "Pending"
    SCHEDULED = "Scheduled"
    IN_PROGRESS = "In Progress"
    COMPLETE = "Complete"
    CANCELED = "Canceled"


class ProgramEventCategory(StrEnum):
    """Oracle's program event categories."""

    DEVICE_TEST = "X1DT"
    ECONOMIC = "X1EC"
    EMERGENCY = "X1EM"
    RELIABILITY = "X1RE"


class LifecycleAction(StrEnum):
    """Oracle's lifecycle actions on a program event."""

    SCHEDULE = "X1SD"
    IN_PROGRESS = "X1IP"
    COMPLETE = "F1CO"
    CANCEL = "F1CN"


#: The action of a program event's first history line: it was created (Pending).
CREATE = "CREATE"


class CreateOutcome(StrEnum):
    CREATED = "Created"
    #: The same stage again: the program event as it is, unchanged.
    EXISTS = "Exists"


class LifecycleOutcome(StrEnum):
    APPLIED = "Applied"
    #: Nothing to do: the event is in the action's state already, or past it.
    UNCHANGED = "Unchanged"


# -- codes ----------------------------------------------------------------------------------

PROGRAM_EVENT_UNKNOWN = "CPM-PROGRAM-EVENT-UNKNOWN"
PROGRAM_EVENT_INVALID = "CPM-PROGRAM-EVENT-INVALID"
PROGRAM_EVENT_CONFLICT = "CPM-PROGRAM-EVENT-CONFLICT"
PROGRAM_EVENT_STATE = "CPM-PROGRAM-EVENT-STATE"

#: The longest DERMS identifier (event, stage) and program external identifier cpm keeps.
MAX_IDENTIFIER = 120
#: The longest cancel reason (Oracle's ``cancelReason``).
MAX_CANCEL_REASON = 254

# -- the lifecycle --------------------------------------------------------------------------

RANK = {
    ProgramEventState.PENDING: 0,
    ProgramEventState.SCHEDULED: 1,
    ProgramEventState.IN_PROGRESS: 2,
    ProgramEventState.COMPLETE: 3,
    ProgramEventState.CANCELED: 3,
}
TARGET = {
    LifecycleAction.SCHEDULE: ProgramEventState.SCHEDULED,
    LifecycleAction.IN_PROGRESS: ProgramEventState.IN_PROGRESS,
    LifecycleAction.COMPLETE: ProgramEventState.COMPLETE,
    LifecycleAction.CANCEL: ProgramEventState.CANCELED,
}
#: The states each action moves an event from.
ALLOWED_FROM = {
    LifecycleAction.SCHEDULE: frozenset({ProgramEventState.PENDING}),
    LifecycleAction.IN_PROGRESS: frozenset(
        {ProgramEventState.PENDING, ProgramEventState.SCHEDULED}
    ),
    LifecycleAction.COMPLETE: frozenset(
        {ProgramEventState.SCHEDULED, ProgramEventState.IN_PROGRESS}
    ),
    LifecycleAction.CANCEL: frozenset(
        {ProgramEventState.PENDING, ProgramEventState.SCHEDULED, ProgramEventState.IN_PROGRESS}
    ),
}
#: The terminal disagreements: the action, and the state in which it is refused.
DISAGREEMENTS = frozenset(
    {
        (LifecycleAction.COMPLETE, ProgramEventState.CANCELED),
        (LifecycleAction.CANCEL, ProgramEventState.COMPLETE),
    }
)


@dataclass(frozen=True)
class Move:
    """What one lifecycle action does to a program event."""

    outcome: LifecycleOutcome
    #: The state to move to; None when the action changes nothing.
    to_state: ProgramEventState | None = None


def decide(external_identifier: str, state: ProgramEventState, action: LifecycleAction) -> Move:
    """The move ``action`` makes from ``state``, by the monotone rule (see the module); a
    CPM-PROGRAM-EVENT-STATE conflict for a terminal disagreement, or an action the state does
    not allow (complete a Pending event)."""
    target = TARGET[action]
    if (action, state) in DISAGREEMENTS or (
        RANK[target] > RANK[state] and state not in ALLOWED_FROM[action]
    ):
        raise CpmConflict(
            f"program event {external_identifier} is {state.value}: {action.value} cannot move "
            f"it to {target.value}",
            code=PROGRAM_EVENT_STATE,
        )
    if RANK[target] <= RANK[state]:
        return Move(LifecycleOutcome.UNCHANGED)
    return Move(LifecycleOutcome.APPLIED, target)


def check_cancel_reason(action: LifecycleAction, cancel_reason: str) -> str:
    """The reason kept with the action: F1CN's, which it must have; "" for the others."""
    if action is not LifecycleAction.CANCEL:
        return ""
    if not cancel_reason.strip():
        raise CpmBusinessError("F1CN needs a cancelReason: it is blank", code=PROGRAM_EVENT_INVALID)
    return cancel_reason


# -- a new program event --------------------------------------------------------------------


@dataclass(frozen=True)
class NewProgramEvent:
    """A program event as EVT-STATUS creates it: one DERMS stage."""

    #: The DERMS stage's id.
    external_identifier: str
    #: The DERMS event's id.
    event_external_identifier: str
    #: The program, as DERMS names it: a cpm program's external id, or else its code.
    program_external_identifier: str
    category: ProgramEventCategory
    start: datetime
    end: datetime


def check_new_event(event: NewProgramEvent) -> NewProgramEvent:
    """An event whose window is timezone-aware, within the years UTC can show, and ends after
    it starts; or a CPM-PROGRAM-EVENT-INVALID saying why."""
    if event.start.tzinfo is None or event.end.tzinfo is None:
        raise CpmBusinessError(
            "startDateTime and endDateTime need their UTC offset", code=PROGRAM_EVENT_INVALID
        )
    try:
        utc_text(event.start), utc_text(event.end)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it
        raise CpmBusinessError(
            "startDateTime or endDateTime is out of range in UTC", code=PROGRAM_EVENT_INVALID
        ) from None
    if event.end <= event.start:
        raise CpmBusinessError(
            f"endDateTime {event.end.isoformat()} is not after startDateTime "
            f"{event.start.isoformat()}",
            code=PROGRAM_EVENT_INVALID,
        )
    return event


def utc_text(moment: datetime) -> str:
    """A moment as program events keep it: ISO-8601 in UTC, so that text order is time order."""
    return moment.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class StoredEvent:
    """What identifies a stage's program event, as kept (times as ``utc_text``)."""

    event_external_identifier: str
    program_external_identifier: str
    category: ProgramEventCategory
    start: str
    end: str


def differences(stored: StoredEvent, event: NewProgramEvent) -> list[str]:
    """The fields (wire names) in which a re-delivered create differs from the program event
    kept for its stage; empty when it is the same stage again."""
    pairs = (
        ("eventExternalIdentifier", stored.event_external_identifier,
         event.event_external_identifier),
        ("programExternalIdentifier", stored.program_external_identifier,
         event.program_external_identifier),
        ("programEventCategory", stored.category, event.category),
        ("startDateTime", stored.start, utc_text(event.start)),
        ("endDateTime", stored.end, utc_text(event.end)),
    )  # fmt: skip
    return [name for name, kept, given in pairs if kept != given]


def conflict(external_identifier: str, fields: list[str]) -> CpmConflict:
    """The 409 of a create whose stage cpm holds with other content, naming the fields."""
    return CpmConflict(
        f"program event {external_identifier} exists with another {', '.join(fields)}",
        code=PROGRAM_EVENT_CONFLICT,
        fields=fields,
    )
