"""The catalog's wire schemas: programs, aggregators and the CIS master-data load."""

from __future__ import annotations

from pydantic import ConfigDict, Field, model_validator

from derlink.cpm.catalog.model import (
    MAX_MASTER_DATA_RECORDS,
    AggregatorStatus,
    ProgramStatus,
    SettlementMethod,
)
from derlink.cpm.schemas import In, Key, Out, Text
from derlink.platform.openapi import example_of, model_example

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


class AggregatorCreate(In):
    code: Key
    name: Text = ""
    status: AggregatorStatus = AggregatorStatus.ACTIVE


class AggregatorRead(Out):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "aggregatorId": "AG-01a2410e1d51cffd0a3523f3b5",
                "code": "AGG-1",
                "name": "Valley Aggregation",
                "status": "Active",
                "createdAt": "2026-05-20T16:05:02.577000+00:00",
            }
        )
    )

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
