"""Event participations' domain: one device's part in one program event, its states, and what
a reservation of a program event's devices (EVT-RESERVE) does with each device
(docs/contracts/program-events.md, "Reservations").

Pure: values in, values out. No database, web framework or clock; every moment is passed in,
timezone-aware.

A reservation call names up to 5,000 devices; each is decided on its own, in the call's order,
so that one bad row never holds up the others: ``Reserved`` (a new participation), ``Exists``
(the device holds a participation in the program event already: a re-delivered collection, no
second effect) or ``Rejected`` with a code.

A Reserved participation opts out (docs/contracts/program-events.md, "Opt-outs") until its
program event's cut-off: the program event's start less the largest opt-out cut-off of the
program's rules in effect on the start's day in the utility's zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import NamedTuple

from derlink.cpm.errors import CpmBusinessError, CpmConflict
from derlink.cpm.events.model import (
    PROGRAM_EVENT_INVALID,
    PROGRAM_EVENT_STATE,
    ProgramEventState,
    utc_text,
)


class ParticipationState(StrEnum):
    """A participation's states: ``Reserved → OptedOut | Released | OutcomeRecorded →
    Settled``. A reservation produces ``Reserved``; the others are the opt-out, release,
    outcome and settlement flows'."""

    RESERVED = "Reserved"
    OPTED_OUT = "OptedOut"
    RELEASED = "Released"
    OUTCOME_RECORDED = "OutcomeRecorded"
    SETTLED = "Settled"


#: The states each state may move to.
MOVES: Mapping[ParticipationState, frozenset[ParticipationState]] = {
    ParticipationState.RESERVED: frozenset(
        {
            ParticipationState.OPTED_OUT,
            ParticipationState.RELEASED,
            ParticipationState.OUTCOME_RECORDED,
        }
    ),
    ParticipationState.OUTCOME_RECORDED: frozenset({ParticipationState.SETTLED}),
    ParticipationState.OPTED_OUT: frozenset(),
    ParticipationState.RELEASED: frozenset(),
    ParticipationState.SETTLED: frozenset(),
}


def can_move(state: ParticipationState, to: ParticipationState) -> bool:
    """Whether a participation in ``state`` may move to ``to``."""
    return to in MOVES[state]


class ParticipationOutcome(StrEnum):
    """Oracle's event outcomes of a device (EVT-OUTCOME), kept on its participation."""

    SUCCESSFUL = "D1SP"
    NON_RESPONSIVE = "D1ND"
    IN_FLIGHT_OVERRIDE = "D1IO"
    ERROR = "D1ER"
    CANCELLED = "D1CN"


class ReservationOutcome(StrEnum):
    RESERVED = "Reserved"
    #: The device holds a participation in the program event already: no second effect.
    EXISTS = "Exists"
    REJECTED = "Rejected"


# -- codes ----------------------------------------------------------------------------------

#: cpm holds no device with that head-end system and NIC id.
DEVICE_UNKNOWN = "CPM-DEVICE-UNKNOWN"
#: The device is on no Active subscription of the program event's program.
DEVICE_NOT_IN_PROGRAM = "CPM-DEVICE-NOT-IN-PROGRAM"
#: A reservation window cpm cannot keep, or the same device twice in one call.
RESERVATION_INVALID = "CPM-RESERVATION-INVALID"

#: Oracle's reserve device limits: a head-end system's name and a NIC id.
MAX_HEAD_END_SYSTEM = 50
MAX_NIC_ID = 100
#: The devices one call may name (the hub's collections).
MAX_DEVICES = 5000
#: The longest reservation time text cpm reads.
MAX_TIME_TEXT = 64

#: A device's key: (head-end system, NIC id).
Key = tuple[str, str]


#: A program event over takes no reservations.
CLOSED = frozenset({ProgramEventState.COMPLETE, ProgramEventState.CANCELED})


def check_reservable(
    external_identifier: str, *, kept: str, given: str, state: ProgramEventState
) -> None:
    """Whether a stage's program event takes a reservation that names the DERMS event
    ``given``: a CPM-PROGRAM-EVENT-INVALID when the program event belongs to another DERMS event
    (``kept``), a CPM-PROGRAM-EVENT-STATE conflict when it is Complete or Canceled."""
    if kept != given:
        raise CpmBusinessError(
            f"program event {external_identifier} belongs to the event {kept}, not {given}",
            code=PROGRAM_EVENT_INVALID,
        )
    if state in CLOSED:
        raise CpmConflict(
            f"program event {external_identifier} is {state.value}: it takes no reservations",
            code=PROGRAM_EVENT_STATE,
        )


@dataclass(frozen=True, slots=True)
class RequestedDevice:
    """One device of a reservation call, its times as the call wrote them (None: absent)."""

    head_end_system: str
    nic_id: str
    start: str | None = None
    end: str | None = None

    @property
    def key(self) -> Key:
        return (self.head_end_system, self.nic_id)


class HeldDevice(NamedTuple):
    """A device cpm holds, and the Active subscription of the program event's program it is on
    ("" when it is on none)."""

    device_id: str
    subscription_id: str


class Reservation(NamedTuple):
    """What a reservation call did with one device."""

    head_end_system: str
    nic_id: str
    outcome: ReservationOutcome
    #: The rejection's code and why; "" unless Rejected.
    code: str = ""
    detail: str = ""
    #: The participation (new, or the one that exists); "" when Rejected.
    participation_id: str = ""
    #: For a new participation: the device, its subscription and the window in UTC text.
    device_id: str = ""
    subscription_id: str = ""
    start: str = ""
    end: str = ""


class Window(NamedTuple):
    start: datetime
    end: datetime


def decide_reservations(
    devices: Sequence[RequestedDevice],
    *,
    event: Window,
    held: Mapping[Key, HeldDevice],
    existing: Mapping[Key, str],
    new_id: Callable[[], str],
) -> list[Reservation]:
    """One reservation per device, in the call's order. ``held`` maps the devices cpm holds,
    ``existing`` the devices with a participation in the program event already (to its id);
    ``new_id`` names each new participation.

    A device is checked in this order: named earlier in the call (Rejected); a participation
    exists (Exists, whatever the rest says, so that a re-delivered collection answers as the
    first delivery did even after the device left the program); its window; cpm holds it; it is
    on an Active subscription of the program (else Rejected, each with its code)."""
    seen: set[Key] = set()
    decided = []
    # Most devices take the program event's window: its text, once.
    event_text = (utc_text(event.start), utc_text(event.end))
    for device in devices:
        key = device.key
        if key in seen:
            decided.append(
                _rejected(device, RESERVATION_INVALID, "the device is named twice in the call")
            )
            continue
        seen.add(key)
        if key in existing:
            decided.append(
                Reservation(*key, ReservationOutcome.EXISTS, participation_id=existing[key])
            )
            continue
        window = reservation_window(device.start, device.end, event)
        if isinstance(window, str):
            decided.append(_rejected(device, RESERVATION_INVALID, window))
            continue
        found = held.get(key)
        if found is None:
            decided.append(
                _rejected(
                    device,
                    DEVICE_UNKNOWN,
                    f"cpm holds no device {device.nic_id!r} of the head-end system "
                    f"{device.head_end_system!r}",
                )
            )
        elif not found.subscription_id:
            decided.append(
                _rejected(
                    device,
                    DEVICE_NOT_IN_PROGRAM,
                    f"device {found.device_id} is on no Active subscription of the program",
                )
            )
        else:
            decided.append(
                Reservation(
                    *key,
                    ReservationOutcome.RESERVED,
                    participation_id=new_id(),
                    device_id=found.device_id,
                    subscription_id=found.subscription_id,
                    start=event_text[0] if window is event else utc_text(window.start),
                    end=event_text[1] if window is event else utc_text(window.end),
                )
            )
    return decided


def _rejected(device: RequestedDevice, code: str, detail: str) -> Reservation:
    return Reservation(
        device.head_end_system, device.nic_id, ReservationOutcome.REJECTED, code, detail
    )


def reservation_window(start: str | None, end: str | None, event: Window) -> Window | str:
    """A device's reservation window: its times, each the program event's own where absent;
    or why cpm cannot keep it (a time that is not ISO-8601 or has no UTC offset, an end not
    after the start, a window outside the program event's)."""
    if _absent(start) and _absent(end):
        return event
    begins = _moment(start, "reservationStartDateTime", event.start)
    if isinstance(begins, str):
        return begins
    ends = _moment(end, "reservationEndDateTime", event.end)
    if isinstance(ends, str):
        return ends
    if ends <= begins:
        return (
            f"reservationEndDateTime {ends.isoformat()} is not after reservationStartDateTime "
            f"{begins.isoformat()}"
        )
    if begins < event.start or ends > event.end:
        return (
            f"the reservation {begins.isoformat()} to {ends.isoformat()} is outside the program "
            f"event's window {utc_text(event.start)} to {utc_text(event.end)}"
        )
    return Window(begins, ends)


def _absent(text: str | None) -> bool:
    return text is None or not text.strip()


def _moment(text: str | None, name: str, default: datetime) -> datetime | str:
    if text is None or not text.strip():
        return default
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return f"{name} {text!r} is not an ISO-8601 date-time"
    if moment.tzinfo is None or moment.utcoffset() is None:
        return f"{name} {text!r} has no UTC offset"
    return moment


# -- opt-outs -------------------------------------------------------------------------------

#: The flow that tells DERMS of an opt-out (docs/contracts/opt-outs.md).
OPT_OUT = "OPT-OUT"

#: cpm holds no participation with that id.
PARTICIPATION_UNKNOWN = "CPM-PARTICIPATION-UNKNOWN"
#: The participation's state does not allow the action (an opt-out of one not Reserved).
PARTICIPATION_STATE = "CPM-PARTICIPATION-STATE"
#: The program event's opt-out cut-off has passed.
OPT_OUT_CUTOFF = "CPM-OPT-OUT-CUTOFF"

#: The longest reason an opt-out keeps (as long as a cancel reason).
MAX_OPT_OUT_REASON = 254


class OptOutChannel(StrEnum):
    """Who asked for the opt-out: the customer, or a customer-service agent for them."""

    CUSTOMER = "CUSTOMER"
    CSR = "CSR"


class OptOutOutcome(StrEnum):
    OPTED_OUT = "OptedOut"
    #: The participation is opted out already: no second effect, no second message.
    UNCHANGED = "Unchanged"


@dataclass(frozen=True)
class CutoffRule:
    """What the cut-off reads of a program rule: the days it is in effect (``effective_to``
    exclusive, None for open-ended) and its opt-out cut-off in minutes."""

    effective_from: date
    effective_to: date | None
    opt_out_cutoff_min: int

    def in_effect_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


class Cutoff(NamedTuple):
    """The last moment before which a participation opts out, and the rule minutes that set it."""

    at: datetime
    minutes: int


def opt_out_cutoff(start: datetime, rules: Iterable[CutoffRule], zone: tzinfo) -> Cutoff:
    """A program event's opt-out cut-off: its ``start`` less the largest opt-out cut-off of the
    ``rules`` in effect on the start's day in ``zone`` (the utility's); with none in effect, the
    start itself (0 minutes)."""
    day = start.astimezone(zone).date()
    minutes = max((r.opt_out_cutoff_min for r in rules if r.in_effect_on(day)), default=0)
    return Cutoff(start - timedelta(minutes=minutes), minutes)


def decide_opt_out(
    participation_id: str, state: ParticipationState, *, now: datetime, cutoff: Cutoff
) -> OptOutOutcome:
    """What an opt-out asked at ``now`` does: ``Unchanged`` for a participation opted out
    already (whenever it is asked again); ``OptedOut`` for a Reserved one before its cut-off. A
    CPM-PARTICIPATION-STATE conflict for any other state; a CPM-OPT-OUT-CUTOFF conflict from the
    cut-off on (exactly at it too), naming it in UTC and the rule minutes."""
    if state is ParticipationState.OPTED_OUT:
        return OptOutOutcome.UNCHANGED
    if not can_move(state, ParticipationState.OPTED_OUT):
        raise CpmConflict(
            f"participation {participation_id} is {state.value}: only a Reserved participation "
            "opts out",
            code=PARTICIPATION_STATE,
            state=state.value,
        )
    if now >= cutoff.at:
        at = utc_text(cutoff.at)
        raise CpmConflict(
            f"participation {participation_id}: the opt-out cut-off was {at}, {cutoff.minutes} "
            "minutes before its program event's start",
            code=OPT_OUT_CUTOFF,
            cutoff=at,
            cutoffMinutes=cutoff.minutes,
        )
    return OptOutOutcome.OPTED_OUT
