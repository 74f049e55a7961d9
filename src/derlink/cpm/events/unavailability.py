"""Customer unavailability's domain (docs/contracts/unavailability.md, "cpm"): a customer says a
device is unavailable from one time to another (away, a medical need, a party); the period is
added, edited or canceled, each change a new version for DERMS (UNAVAIL).

Pure: values in, values (or a coded error) out. No database, web framework or clock; every
moment is passed in, timezone-aware.

A period holds together when its end is after its start and it lasts at most 366 days; a period
added starts no earlier than a day before now (one wholly in the past is pointless), while an
edit may keep or move the start of a period under way. Two Active periods of one device may
overlap: each is its own, and DERMS leaves the device out wherever any of them covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from derlink.cpm.errors import CpmBusinessError, CpmConflict
from derlink.cpm.events.model import utc_text

#: The flow that tells DERMS of each version of a period (docs/contracts/unavailability.md).
UNAVAIL = "UNAVAIL"

# -- codes ----------------------------------------------------------------------------------

#: cpm holds no unavailability period with that id.
UNAVAILABILITY_UNKNOWN = "CPM-UNAVAILABILITY-UNKNOWN"
#: A period that does not hold together (its end, its length, a start long past).
UNAVAILABILITY_INVALID = "CPM-UNAVAILABILITY-INVALID"
#: The period's status (or DERMS's copy of it) does not allow the action.
UNAVAILABILITY_STATE = "CPM-UNAVAILABILITY-STATE"

#: The longest reason a period keeps (as long as an opt-out's).
MAX_UNAVAILABILITY_REASON = 254
#: The longest period: a year and a day, whatever the settings.
MAX_LENGTH = timedelta(days=366)
#: How far before now a period added may start.
MAX_PAST = timedelta(days=1)


class UnavailabilityStatus(StrEnum):
    ACTIVE = "Active"
    #: Withdrawn by the customer: no longer edited or canceled.
    CANCELED = "Canceled"

    @property
    def wire(self) -> str:
        """The status as the UNAVAIL message carries it: ACTIVE or CANCELED."""
        return self.value.upper()


class EditOutcome(StrEnum):
    CHANGED = "Changed"
    #: The edit names what the period holds already: no new version, no message.
    UNCHANGED = "Unchanged"


class CancelOutcome(StrEnum):
    CANCELED = "Canceled"


@dataclass(frozen=True)
class Period:
    """A device's unavailability from ``start`` to ``end`` (timezone-aware), and why."""

    start: datetime
    end: datetime
    reason: str = ""


@dataclass(frozen=True)
class PeriodChange:
    """What an edit asks: each part None to keep it."""

    start: datetime | None = None
    end: datetime | None = None
    reason: str | None = None

    def applied_to(self, period: Period) -> Period:
        return Period(
            period.start if self.start is None else self.start,
            period.end if self.end is None else self.end,
            period.reason if self.reason is None else self.reason,
        )


def kept(moment: datetime) -> datetime:
    """A moment as a period keeps it: to the millisecond, the UNAVAIL message's precision, so
    that cpm and DERMS hold the same period."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def check_new_period(period: Period, *, now: datetime) -> Period:
    """A period to add: it holds together and starts no earlier than ``MAX_PAST`` before
    ``now``; else a CPM-UNAVAILABILITY-INVALID error saying why."""
    earliest = now - MAX_PAST
    if period.start < earliest:
        raise CpmBusinessError(
            f"start {utc_text(period.start)} is more than a day before now ({utc_text(now)}): a "
            "period in the past is pointless",
            code=UNAVAILABILITY_INVALID,
        )
    return check_period(period)


def check_period(period: Period) -> Period:
    """A period whose end is after its start and that lasts at most ``MAX_LENGTH``; else a
    CPM-UNAVAILABILITY-INVALID error saying why."""
    start, end = utc_text(period.start), utc_text(period.end)
    if period.end <= period.start:
        raise CpmBusinessError(f"end {end} is not after start {start}", code=UNAVAILABILITY_INVALID)
    if period.end - period.start > MAX_LENGTH:
        raise CpmBusinessError(
            f"the period {start} to {end} lasts more than {MAX_LENGTH.days} days",
            code=UNAVAILABILITY_INVALID,
        )
    return period


def check_changeable(unavailability_id: str, status: UnavailabilityStatus, action: str) -> None:
    """Whether a period in ``status`` takes an edit or a cancel (``action``): a
    CPM-UNAVAILABILITY-STATE conflict once Canceled."""
    if status is UnavailabilityStatus.CANCELED:
        raise CpmConflict(
            f"unavailability {unavailability_id} is Canceled: it takes no {action}",
            code=UNAVAILABILITY_STATE,
            unavailabilityStatus=status.value,
        )


def decide_edit(
    unavailability_id: str, status: UnavailabilityStatus, held: Period, change: PeriodChange
) -> tuple[EditOutcome, Period]:
    """What an edit does to an Active period ``held``: ``Unchanged`` (the period as held) when
    it names what the period holds already, times compared as moments whatever their offset;
    else ``Changed`` with the new period, which must hold together (its start may be past: the
    period may be under way). A CPM-UNAVAILABILITY-STATE conflict for a Canceled period."""
    check_changeable(unavailability_id, status, "edit")
    edited = change.applied_to(held)
    if edited == held:
        return EditOutcome.UNCHANGED, held
    return EditOutcome.CHANGED, check_period(edited)


def decide_cancel(unavailability_id: str, status: UnavailabilityStatus) -> CancelOutcome:
    """A cancel of an Active period: ``Canceled``; a CPM-UNAVAILABILITY-STATE conflict for one
    Canceled already."""
    check_changeable(unavailability_id, status, "cancel")
    return CancelOutcome.CANCELED
