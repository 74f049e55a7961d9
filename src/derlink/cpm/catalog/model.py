"""The catalog's domain: programs, aggregators and the master data the CIS sends.

Pure: values in, values (or a coded error) out. The codes are those of
docs/contracts/enrollment.md ("cpm business codes").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from derlink.cpm.errors import CpmBusinessError


class ProgramStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"
    PENDING = "Pending"


class AggregatorStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


class DermsSync(StrEnum):
    """Whether DERMS holds the latest version of a program's rules or of an aggregator."""

    #: Never sent (a program that was never Active with rules; nothing changed yet).
    NONE = "None"
    #: A version is on its way; DERMS has not answered it.
    PENDING = "Pending"
    SYNCHRONIZED = "Synchronized"
    ERROR = "Error"


class SettlementMethod(StrEnum):
    #: kWh avoided × interval price, per event.
    KWH_AVOIDED = "KWH_AVOIDED"
    #: kW drop averaged over the season's events, at season end.
    KW_DROP = "KW_DROP"


# -- codes ----------------------------------------------------------------------------------

PROGRAM_UNKNOWN = "CPM-PROGRAM-UNKNOWN"
PROGRAM_INACTIVE = "CPM-PROGRAM-INACTIVE"
#: derlink's addition: a program or aggregator code is taken already.
PROGRAM_EXISTS = "CPM-PROGRAM-EXISTS"
AGGREGATOR_EXISTS = "CPM-AGGREGATOR-EXISTS"
#: derlink's addition: a master-data call carries more than MAX_MASTER_DATA_RECORDS records.
MASTER_DATA_TOO_LARGE = "CPM-MASTER-DATA-TOO-LARGE"

RULE_UNKNOWN = "CPM-RULE-UNKNOWN"
RULE_INVALID = "CPM-RULE-INVALID"
RULE_TOO_MANY = "CPM-RULE-TOO-MANY"
#: The most rules one program holds (DERMS takes at most this many in a record).
MAX_RULES_PER_PROGRAM = 100
AGGREGATOR_UNKNOWN = "CPM-AGGREGATOR-UNKNOWN"
AGGREGATOR_INVALID = "CPM-AGGREGATOR-INVALID"

#: The flows that carry master data to DERMS (docs/contracts/master-data.md).
PROG_RULE = "PROG-RULE"
AGGREGATOR = "AGGREGATOR"

#: The most CIS records one master-data call may carry (contract: POST /master-data).
MAX_MASTER_DATA_RECORDS = 10_000


# -- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    code: str
    status: ProgramStatus
    #: Specifications a device must have to join; empty means the program takes any.
    eligible_specifications: frozenset[str]


@dataclass(frozen=True)
class ProgramRule:
    """One rule linked to a program (docs/contracts/master-data.md): which days and hours
    events may take, how long they last, how often they come, and the customer's overrides."""

    effective_from: date
    effective_to: date | None
    #: cpm codes of day kinds (the hub maps them through the lookup AllowEventDays).
    allow_event_days: tuple[str, ...]
    #: Local times ``HH:MM``.
    window_start: str
    window_end: str
    min_event_duration_min: int
    max_event_duration_min: int
    max_events_per_cycle: int
    #: A cpm code (the hub maps it through the lookup CycleFrequency).
    cycle_frequency: str
    max_overrides_per_cycle: int
    opt_out_cutoff_min: int
    min_rest_min: int
    overridable: bool


_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


def check_rule(rule: ProgramRule) -> ProgramRule:
    """A rule whose parts agree with each other, or a CPM-RULE-INVALID naming what does not."""
    problems = []
    for name, value in (("windowStart", rule.window_start), ("windowEnd", rule.window_end)):
        if not _HHMM.fullmatch(value):
            problems.append(f"{name} {value!r} is not a time HH:MM")
    if not problems and rule.window_start >= rule.window_end:
        problems.append(f"windowStart {rule.window_start} is not before {rule.window_end}")
    if rule.effective_to is not None and rule.effective_to <= rule.effective_from:
        problems.append(
            f"effectiveTo {rule.effective_to} is not after effectiveFrom {rule.effective_from}"
        )
    if not 0 < rule.min_event_duration_min <= rule.max_event_duration_min:
        problems.append(
            f"minEventDurationMin {rule.min_event_duration_min} must be above 0 and at most "
            f"maxEventDurationMin {rule.max_event_duration_min}"
        )
    if not rule.allow_event_days:
        problems.append("allowEventDays is empty: events could fall on no day")
    if problems:
        raise CpmBusinessError("; ".join(problems), code=RULE_INVALID)
    return rule


@dataclass(frozen=True)
class AggregatorDetails:
    """What DERMS needs of an aggregator beyond its code, name and status."""

    start_date: date | None = None
    #: Exclusive; None for open-ended.
    end_date: date | None = None
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    external_reference_id: str = ""
    external_system: str = ""
    #: Codes of the programs it serves.
    programs: tuple[str, ...] = ()


def check_aggregator(details: AggregatorDetails) -> AggregatorDetails:
    """Details whose dates agree, or a CPM-AGGREGATOR-INVALID saying why."""
    if details.start_date and details.end_date and details.end_date <= details.start_date:
        raise CpmBusinessError(
            f"endDate {details.end_date} is not after startDate {details.start_date}",
            code=AGGREGATOR_INVALID,
        )
    return details


# -- master data from the CIS -----------------------------------------------------------


@dataclass(frozen=True)
class PersonRecord:
    cis_person_id: str
    name: str = ""
    email: str = ""
    home_phone: str = ""
    business_phone: str = ""


@dataclass(frozen=True)
class AccountRecord:
    cis_account_id: str
    cis_person_id: str


@dataclass(frozen=True)
class PremiseRecord:
    cis_premise_id: str
    cis_account_id: str
    address1: str = ""
    city: str = ""
    state: str = ""
    postal: str = ""
    country: str = ""
    county: str = ""
    division: str = ""
    time_zone: str = ""


@dataclass(frozen=True)
class ServicePointRecord:
    cis_service_point_id: str
    cis_premise_id: str
    division: str = ""


# -- rules ----------------------------------------------------------------------------------


def check_program_takes_enrollments(program_code: str, program: Program | None) -> Program:
    """Only an Active program takes enrollments."""
    if program is None:
        raise CpmBusinessError(f"no program with code {program_code!r}", code=PROGRAM_UNKNOWN)
    if program.status is not ProgramStatus.ACTIVE:
        raise CpmBusinessError(
            f"program {program_code!r} is {program.status.value}, not Active",
            code=PROGRAM_INACTIVE,
        )
    return program
