"""The catalog's wire schemas: programs, aggregators and the CIS master-data load."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from derlink.contracts import examples
from derlink.cpm.catalog.model import (
    MAX_MASTER_DATA_RECORDS,
    PROG_RULE,
    AggregatorStatus,
    DermsSync,
    ProgramStatus,
    SettlementMethod,
)
from derlink.cpm.schemas import In, Key, Note, Out, Text
from derlink.platform.openapi import example_of, model_example

#: An identifier that may be absent ("" when none), as long as cpm's identifier columns.
OptionalKey = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)]
#: A count or a number of minutes a rule states.
Count = Annotated[int, Field(ge=0, le=1_000_000)]

SYNC_EXAMPLE = {"version": 3, "dermsVersion": 3, "state": "Synchronized", "detail": ""}

# -- programs and aggregators ---------------------------------------------------------------


class SyncRead(Out):
    """What DERMS holds of a program's rules or of an aggregator."""

    model_config = ConfigDict(json_schema_extra=example_of(SYNC_EXAMPLE))

    #: The version cpm sent last (0: never sent).
    version: int
    #: The version DERMS acknowledged last.
    dermsVersion: int
    state: DermsSync
    #: DERMS's (or the hub's) code and message when it refused the version.
    detail: str


class ProgramCreate(In):
    programCode: Key
    externalId: OptionalKey = ""
    name: Text = ""
    programType: Text = ""
    status: ProgramStatus = ProgramStatus.ACTIVE
    #: The specifications a device must have; empty means the program takes any.
    eligibleSpecifications: list[Key] = Field(default_factory=list, max_length=1000)
    settlementMethod: SettlementMethod = SettlementMethod.KWH_AVOIDED


class ProgramRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "programId": "PG-01a2410e1d4a070bfccdadc212",
                "programCode": "BYOT-SUMMER",
                "name": "Bring your own thermostat, summer",
                "programType": "DR",
                "status": "Active",
                "eligibleSpecifications": ["ECOBEE-ST"],
                "settlementMethod": "KWH_AVOIDED",
                "createdAt": "2026-05-20T16:04:11.770000+00:00",
                "externalId": "BYOT-2026",
                "dermsSync": SYNC_EXAMPLE,
            }
        )
    )

    programId: str
    programCode: str
    name: str
    programType: str
    status: ProgramStatus
    eligibleSpecifications: list[str]
    settlementMethod: SettlementMethod
    createdAt: str
    externalId: str
    dermsSync: SyncRead


class ProgramUpdate(In):
    """The fields to change; an absent one stays as it is."""

    name: Text | None = None
    status: ProgramStatus | None = None
    externalId: OptionalKey | None = None


#: A rule's terms as PROG-RULE carries them, without the id cpm gives.
RULE_EXAMPLE = {k: v for k, v in examples.PROGRAM_RULES["rules"][0].items() if k != "ruleId"}


class RuleCreate(In):
    """A program rule's terms (docs/contracts/master-data.md)."""

    effectiveFrom: date
    #: Exclusive; null for open-ended.
    effectiveTo: date | None = None
    #: cpm codes of day kinds, mapped by the hub through the lookup AllowEventDays.
    allowEventDays: list[Key] = Field(min_length=1, max_length=10)
    windowStart: Annotated[str, StringConstraints(max_length=5)]
    windowEnd: Annotated[str, StringConstraints(max_length=5)]
    minEventDurationMin: Count
    maxEventDurationMin: Count
    maxEventsPerCycle: Count
    #: A cpm code, mapped by the hub through the lookup CycleFrequency.
    cycleFrequency: Key
    maxOverridesPerCycle: Count
    optOutCutoffMin: Count
    minRestMin: Count
    overridable: bool = False


class RuleRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "ruleId": "PR-01a2410e1d4a070bfccdadc299",
                "programCode": "BYOT-SUMMER",
                **RULE_EXAMPLE,
                "updatedAt": "2026-05-21T09:00:00+00:00",
            }
        )
    )

    ruleId: str
    programCode: str
    effectiveFrom: date
    effectiveTo: date | None
    allowEventDays: list[str]
    windowStart: str
    windowEnd: str
    minEventDurationMin: int
    maxEventDurationMin: int
    maxEventsPerCycle: int
    cycleFrequency: str
    maxOverridesPerCycle: int
    optOutCutoffMin: int
    minRestMin: int
    overridable: bool
    updatedAt: str


class ContactFields(In):
    name: Text = ""
    email: Text = ""
    phone: Text = ""


class AggregatorDetailsFields(In):
    startDate: date | None = None
    #: Exclusive; null for open-ended.
    endDate: date | None = None
    contact: ContactFields = Field(default_factory=ContactFields)
    externalReferenceId: OptionalKey = ""
    externalSystem: OptionalKey = ""
    #: Codes of the programs it serves.
    programs: list[Key] = Field(default_factory=list, max_length=1000)


class AggregatorCreate(AggregatorDetailsFields):
    code: Key
    name: Text = ""
    status: AggregatorStatus = AggregatorStatus.ACTIVE


class AggregatorUpdate(In):
    """The fields to change; an absent one stays as it is. ``details``, when given, replaces
    every detail."""

    name: Text | None = None
    status: AggregatorStatus | None = None
    details: AggregatorDetailsFields | None = None


class ContactRead(Out):
    name: str
    email: str
    phone: str


class AggregatorRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "aggregatorId": "AG-01a2410e1d51cffd0a3523f3b5",
                "code": "AGG-1",
                "name": "Valley Aggregation",
                "status": "Active",
                "createdAt": "2026-05-20T16:05:02.577000+00:00",
                "startDate": "2026-01-01",
                "endDate": None,
                "contact": {"name": "Dispatch desk", "email": "desk@valley.example", "phone": ""},
                "externalReferenceId": "VA-77",
                "externalSystem": "VALLEY-HES",
                "programs": ["BYOT-SUMMER"],
                "updatedAt": None,
                "dermsSync": SYNC_EXAMPLE,
            }
        )
    )

    aggregatorId: str
    code: str
    name: str
    status: AggregatorStatus
    createdAt: str
    startDate: date | None
    endDate: date | None
    contact: ContactRead
    externalReferenceId: str
    externalSystem: str
    programs: list[str]
    updatedAt: str | None
    dermsSync: SyncRead


# -- DERMS's answers ------------------------------------------------------------------------


class AckCreate(In):
    """DERMS's answer to one version of what cpm sent, through the hub; each kind names its
    own ``kind``."""

    #: What the version is of: a program's or an aggregator's code, a participation's id.
    code: Key
    version: Annotated[int, Field(ge=1, le=2_147_483_647)]
    status: Literal["SUCCESS", "ERROR"]
    errorCode: OptionalKey = ""
    message: Note = ""


class MasterDataAckCreate(AckCreate):
    """DERMS's answer to one version (docs/contracts/master-data.md), through the hub."""

    kind: Literal["PROG-RULE", "AGGREGATOR"]


class MasterDataAcks(In):
    acknowledgements: list[MasterDataAckCreate] = Field(min_length=1, max_length=5000)


class MasterDataAckResult(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"kind": PROG_RULE, "code": "BYOT-SUMMER", "version": 3, "outcome": "Applied",
             "detail": ""}
        )
    )  # fmt: skip

    kind: str
    code: str
    version: int
    #: Applied; Stale (older than the version cpm sent last); Rejected (unknown code).
    outcome: Literal["Applied", "Stale", "Rejected"]
    detail: str


class MasterDataAckResults(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of({"results": [model_example(MasterDataAckResult)]})
    )

    results: list[MasterDataAckResult]


# -- master data ----------------------------------------------------------------------------


class PersonLoad(In):
    cisPersonId: Key
    name: Text = ""
    email: Text = ""
    homePhone: Text = ""
    businessPhone: Text = ""


class AccountLoad(In):
    cisAccountId: Key
    cisPersonId: Key


class PremiseLoad(In):
    cisPremiseId: Key
    cisAccountId: Key
    address1: Text = ""
    city: Text = ""
    state: Text = ""
    postal: Text = ""
    country: Text = ""
    county: Text = ""
    division: Text = ""
    timeZone: Text = ""


class ServicePointLoad(In):
    cisServicePointId: Key
    cisPremiseId: Key
    division: Text = ""


class MasterDataLoad(In):
    persons: list[PersonLoad] = Field(default_factory=list)
    accounts: list[AccountLoad] = Field(default_factory=list)
    premises: list[PremiseLoad] = Field(default_factory=list)
    servicePoints: list[ServicePointLoad] = Field(default_factory=list)

    @model_validator(mode="after")
    def _within_limit(self) -> MasterDataLoad:
        total = (
            len(self.persons) + len(self.accounts) + len(self.premises) + len(self.servicePoints)
        )
        if total > MAX_MASTER_DATA_RECORDS:
            raise ValueError(f"{total} records in one call; the limit is {MAX_MASTER_DATA_RECORDS}")
        return self


class RejectedRecordRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"kind": "accounts", "index": 3, "cisId": "A4", "reason": "no person P9"}
        )
    )

    kind: str
    index: int
    cisId: str
    reason: str


class MasterDataLoaded(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "persons": 1,
                "accounts": 1,
                "premises": 1,
                "servicePoints": 1,
                "rejected": [model_example(RejectedRecordRead)],
            }
        )
    )

    persons: int
    accounts: int
    premises: int
    servicePoints: int
    rejected: list[RejectedRecordRead]
