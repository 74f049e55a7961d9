"""Event outcomes' domain in cpm: what a post of a stage's device outcomes (EVT-OUTCOME) does
with each device's participation (docs/contracts/event-outcomes.md, "In cpm").

Pure: values in, values out. A call names up to 5,000 devices of one program event; each is
decided on its own, in the call's order: ``Recorded`` (a Reserved participation takes its
outcome: OutcomeRecorded), ``Exists`` (the same outcome was recorded before: a re-delivered
collection, no second effect) or ``Rejected`` with a code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from derlink.contracts.event_files import MAX_ERROR_MESSAGE, OUTCOMES
from derlink.cpm.events.model import utc_text
from derlink.cpm.events.participation import (
    PARTICIPATION_STATE,
    PARTICIPATION_UNKNOWN,
    Key,
    ParticipationState,
)

#: An outcome that does not hold: not one of the five, an error message over 100 characters,
#: a time that is not ISO-8601 with an offset, an end before the start, the device twice.
OUTCOME_INVALID = "CPM-OUTCOME-INVALID"
#: Another outcome was recorded for the participation already.
OUTCOME_RECORDED = "CPM-OUTCOME-RECORDED"

#: The states that hold an outcome.
RECORDED_STATES = frozenset({ParticipationState.OUTCOME_RECORDED, ParticipationState.SETTLED})


class OutcomeResult(StrEnum):
    RECORDED = "Recorded"
    EXISTS = "Exists"
    REJECTED = "Rejected"


@dataclass(frozen=True, slots=True)
class PostedOutcome:
    """One device's outcome as a call gives it (times as written; None: absent)."""

    head_end_system: str
    nic_id: str
    outcome: str
    error_message: str = ""
    start: str | None = None
    end: str | None = None
    measured_kw: float | None = None

    @property
    def key(self) -> Key:
        return (self.head_end_system, self.nic_id)


class HeldParticipation(NamedTuple):
    id: str
    state: ParticipationState
    outcome: str | None


class Decided(NamedTuple):
    """What the call did with one device; the times in UTC text when Recorded."""

    head_end_system: str
    nic_id: str
    result: OutcomeResult
    code: str = ""
    detail: str = ""
    participation_id: str = ""
    start: str | None = None
    end: str | None = None


def decide_outcomes(
    posted: Sequence[PostedOutcome], *, held: Mapping[Key, HeldParticipation]
) -> list[Decided]:
    """One decision per device, in the call's order; ``held`` maps the program event's
    participations of the devices named."""
    seen: set[Key] = set()
    decided: list[Decided] = []
    for o in posted:
        if o.key in seen:
            decided.append(_rejected(o, OUTCOME_INVALID, "the device is named twice in the call"))
            continue
        seen.add(o.key)
        times = _times(o)
        if isinstance(times, str):
            decided.append(_rejected(o, OUTCOME_INVALID, times))
            continue
        problem = _problem(o)
        if problem:
            decided.append(_rejected(o, OUTCOME_INVALID, problem))
            continue
        found = held.get(o.key)
        if found is None:
            decided.append(
                _rejected(
                    o,
                    PARTICIPATION_UNKNOWN,
                    f"the program event holds no participation of device {o.nic_id!r} of the "
                    f"head-end system {o.head_end_system!r}",
                )
            )
        elif found.state in RECORDED_STATES:
            if found.outcome == o.outcome:
                decided.append(
                    Decided(
                        o.head_end_system, o.nic_id, OutcomeResult.EXISTS, participation_id=found.id
                    )
                )
            else:
                decided.append(
                    _rejected(
                        o,
                        OUTCOME_RECORDED,
                        f"participation {found.id} holds the outcome {found.outcome} already",
                    )
                )
        elif found.state is not ParticipationState.RESERVED:
            decided.append(
                _rejected(
                    o,
                    PARTICIPATION_STATE,
                    f"participation {found.id} is {found.state.value}: it takes no outcome",
                )
            )
        else:
            decided.append(
                Decided(
                    o.head_end_system,
                    o.nic_id,
                    OutcomeResult.RECORDED,
                    participation_id=found.id,
                    start=times[0],
                    end=times[1],
                )
            )
    return decided


def _rejected(o: PostedOutcome, code: str, detail: str) -> Decided:
    return Decided(o.head_end_system, o.nic_id, OutcomeResult.REJECTED, code, detail)


def _problem(o: PostedOutcome) -> str:
    if o.outcome not in OUTCOMES:
        return f"outcome {o.outcome!r} is not one of {', '.join(OUTCOMES)}"
    if len(o.error_message) > MAX_ERROR_MESSAGE:
        return f"errorMessage has {len(o.error_message)} characters, more than {MAX_ERROR_MESSAGE}"
    if o.measured_kw is not None and not math.isfinite(o.measured_kw):
        return f"measuredKw {o.measured_kw} is not a finite number"
    return ""


def _times(o: PostedOutcome) -> tuple[str | None, str | None] | str:
    """The participation's times in UTC text, or why they cannot be kept."""
    moments: list[datetime | None] = []
    for name, text in (
        ("participationStartDateTime", o.start),
        ("participationEndDateTime", o.end),
    ):
        if text is None or not text.strip():
            moments.append(None)
            continue
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            return f"{name} {text!r} is not an ISO-8601 date-time"
        if moment.utcoffset() is None:
            return f"{name} {text!r} has no UTC offset"
        moments.append(moment)
    start, end = moments
    if start is not None and end is not None and end < start:
        return (
            f"participationEndDateTime {end.isoformat()} is before participationStartDateTime "
            f"{start.isoformat()}"
        )
    return (
        None if start is None else utc_text(start),
        None if end is None else utc_text(end),
    )
