"""The catalog's wire schemas: programs, aggregators and the CIS master-data load."""

from __future__ import annotations

from pydantic import Field, model_validator

from derlink.cpm.catalog.model import (
    MAX_MASTER_DATA_RECORDS,
    AggregatorStatus,
    ProgramStatus,
    SettlementMethod,
)
from derlink.cpm.schemas import In, Key, Out, Text

# -- programs and aggregators ---------------------------------------------------------------


class ProgramCreate(In):
    programCode: Key
    name: Text = ""
    programType: Text = ""
    status: ProgramStatus = ProgramStatus.ACTIVE
    #: The specifications a device must have; empty means the program takes any.
    eligibleSpecifications: list[Key] = Field(default_factory=list, max_length=1000)
    settlementMethod: SettlementMethod = SettlementMethod.KWH_AVOIDED


class ProgramRead(Out):
    programId: str
    programCode: str
    name: str
    programType: str
    status: ProgramStatus
    eligibleSpecifications: list[str]
    settlementMethod: SettlementMethod
    createdAt: str


class AggregatorCreate(In):
    code: Key
    name: Text = ""
    status: AggregatorStatus = AggregatorStatus.ACTIVE


class AggregatorRead(Out):
    aggregatorId: str
    code: str
    name: str
    status: AggregatorStatus
    createdAt: str


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
    kind: str
    index: int
    cisId: str
    reason: str


class MasterDataLoaded(Out):
    persons: int
    accounts: int
    premises: int
    servicePoints: int
    rejected: list[RejectedRecordRead]
