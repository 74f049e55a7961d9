"""Program events' wire schemas, with Oracle's field names (docs/contracts/program-events.md);
the conventions are cpm/schemas.py's.

The create and the lifecycle action are Oracle's shapes, which DERMS sends through the hub: a
field they do not name is ignored (``External``), never a reason to refuse the message.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, ConfigDict, StringConstraints

from derlink.contracts import examples
from derlink.cpm.events.model import (
    MAX_CANCEL_REASON,
    MAX_IDENTIFIER,
    CreateOutcome,
    LifecycleAction,
    LifecycleOutcome,
    ProgramEventCategory,
    ProgramEventState,
)
from derlink.cpm.schemas import External, Out
from derlink.platform.openapi import example_of, model_example

#: A DERMS identifier (event, stage) or a program's: present, not blank, at most 120 characters.
Identifier = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_IDENTIFIER)
]
CancelReason = Annotated[str, StringConstraints(max_length=MAX_CANCEL_REASON)]

PROGRAM_EVENT_EXAMPLE: dict[str, Any] = {
    "id": "PE-01a2410e1d806020fdb13c8b40",
    "externalIdentifier": examples.PROGRAM_EVENT_CREATE["externalIdentifier"],
    "eventExternalIdentifier": examples.PROGRAM_EVENT_CREATE["eventExternalIdentifier"],
    "programCode": "BYOT-SUMMER",
    "programExternalIdentifier": examples.PROGRAM_EVENT_CREATE["programExternalIdentifier"],
    "programEventCategory": examples.PROGRAM_EVENT_CREATE["programEventCategory"],
    "startDateTime": "2026-07-17T22:00:00+00:00",
    "endDateTime": "2026-07-18T00:00:00+00:00",
    "state": "Scheduled",
    "cancelReason": "",
    "createdAt": "2026-07-16T18:30:04.211000+00:00",
    "updatedAt": "2026-07-16T18:30:04.211000+00:00",
}
CANCELED_EXAMPLE: dict[str, Any] = {
    **PROGRAM_EVENT_EXAMPLE,
    "state": "Canceled",
    "cancelReason": examples.PROGRAM_EVENT_LIFECYCLE["cancelReason"],
    "updatedAt": "2026-07-17T21:40:00.052000+00:00",
}
CREATED_AT = PROGRAM_EVENT_EXAMPLE["createdAt"]
HISTORY_EXAMPLE: list[dict[str, Any]] = [
    {"at": CREATED_AT, "action": "CREATE", "fromState": None, "toState": "Pending", "detail": ""},
    {"at": CREATED_AT, "action": "X1SD", "fromState": "Pending", "toState": "Scheduled",
     "detail": ""},
    {"at": CANCELED_EXAMPLE["updatedAt"], "action": "F1CN", "fromState": "Scheduled",
     "toState": "Canceled", "detail": CANCELED_EXAMPLE["cancelReason"]},
]  # fmt: skip


# -- in -------------------------------------------------------------------------------------


class ProgramEventCreate(External):
    """A DERMS stage, scheduled: cpm keeps it as a program event."""

    model_config = ConfigDict(json_schema_extra=example_of(examples.PROGRAM_EVENT_CREATE))

    #: With a UTC offset.
    startDateTime: AwareDatetime
    #: With a UTC offset; after the start.
    endDateTime: AwareDatetime
    #: The DERMS event's id.
    eventExternalIdentifier: Identifier
    #: The DERMS stage's id: one program event per stage.
    externalIdentifier: Identifier
    #: A cpm program's external id, or else its code.
    programExternalIdentifier: Identifier
    programEventCategory: ProgramEventCategory


class LifecycleActionCreate(External):
    """A lifecycle action on a stage's program event."""

    model_config = ConfigDict(json_schema_extra=example_of(examples.PROGRAM_EVENT_LIFECYCLE))

    action: LifecycleAction
    #: Required (not blank) with F1CN; ignored with the other actions.
    cancelReason: CancelReason | None = ""
    #: The DERMS event's id: the one the program event was created with.
    eventExternalIdentifier: Identifier
    #: The DERMS stage's id.
    externalIdentifier: Identifier


# -- out ------------------------------------------------------------------------------------


class ProgramEventRead(Out):
    model_config = ConfigDict(json_schema_extra=example_of(PROGRAM_EVENT_EXAMPLE))

    #: cpm's id.
    id: str
    externalIdentifier: str
    eventExternalIdentifier: str
    #: The cpm program the event belongs to.
    programCode: str
    #: The program as DERMS named it.
    programExternalIdentifier: str
    programEventCategory: ProgramEventCategory
    #: In UTC.
    startDateTime: str
    endDateTime: str
    state: ProgramEventState
    #: F1CN's reason; "" when not canceled.
    cancelReason: str
    createdAt: str
    updatedAt: str


class TransitionRead(Out):
    model_config = ConfigDict(json_schema_extra=example_of(HISTORY_EXAMPLE[1]))

    at: str
    #: CREATE (the first line), or the lifecycle action.
    action: str
    #: Null on the first line.
    fromState: ProgramEventState | None
    toState: ProgramEventState
    #: F1CN's cancel reason; "" otherwise.
    detail: str


class ProgramEventDetailRead(ProgramEventRead):
    """A program event with every transition it made, oldest first."""

    model_config = ConfigDict(
        json_schema_extra=example_of({**CANCELED_EXAMPLE, "history": HISTORY_EXAMPLE})
    )

    history: list[TransitionRead]


class ProgramEventCreated(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"outcome": "Created", "programEvent": PROGRAM_EVENT_EXAMPLE})
    )

    outcome: CreateOutcome
    programEvent: ProgramEventRead


class LifecycleResultRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"outcome": "Applied", "programEvent": CANCELED_EXAMPLE})
    )

    outcome: LifecycleOutcome
    programEvent: ProgramEventRead


class ProgramEventPage(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [model_example(ProgramEventRead)], "next": None})
    )

    items: list[ProgramEventRead]
    #: Pass as ``after`` to read the next page; null on the last one.
    next: str | None
