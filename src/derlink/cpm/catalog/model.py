"""The catalog's domain: programs, aggregators and the master data the CIS sends.

Pure: values in, values (or a coded error) out. The codes are those of
docs/contracts/enrollment.md ("cpm business codes").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from derlink.cpm.errors import CpmBusinessError


class ProgramStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"
    PENDING = "Pending"


class AggregatorStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


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

#: The most CIS records one master-data call may carry (contract: POST /master-data).
MAX_MASTER_DATA_RECORDS = 10_000


# -- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    code: str
    status: ProgramStatus
    #: Specifications a device must have to join; empty means the program takes any.
    eligible_specifications: frozenset[str]


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
