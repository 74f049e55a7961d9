"""Master data's wire schemas, in the contract's field names (docs/contracts/master-data.md).

Every string is no longer than its column, so a longer one is a 422 rather than a failed write.
A record's shape is checked here (a 422 for the whole batch); whether its rules hold together is
a business rule of the model, answered per record (``Rejected``).
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from derlink.derms.db import CODE, EXT, TEXT
from derlink.derms.masterdata import model
from derlink.derms.masterdata.tables import HHMM
from derlink.platform.openapi import example_of, model_example

Key = Annotated[str, StringConstraints(min_length=1, max_length=EXT)]
Ext = Annotated[str, StringConstraints(max_length=EXT)]
Free = Annotated[str, StringConstraints(max_length=TEXT)]
Value = Annotated[str, StringConstraints(min_length=1, max_length=CODE)]
LocalTime = Annotated[
    str, StringConstraints(max_length=HHMM, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
]
BatchId = Annotated[str, StringConstraints(min_length=1, max_length=120)]
#: The columns are 32-bit integers on PostgreSQL: a larger number is a 422, not a failed write.
Int = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]
#: The most records one call carries.
MAX_RECORDS = 500

RULE_EXAMPLE = {
    "ruleId": "PR-0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f",
    "effectiveFrom": "2026-06-01",
    "effectiveTo": "2026-10-01",
    "allowEventDays": ["WEEKDAY"],
    "windowStart": "12:00",
    "windowEnd": "20:00",
    "minEventDurationMin": 30,
    "maxEventDurationMin": 240,
    "maxEventsPerCycle": 15,
    "cycleFrequency": "SEASON",
    "maxOverridesPerCycle": 3,
    "optOutCutoffMin": 60,
    "minRestMin": 720,
    "overridable": False,
}
PROGRAM_EXAMPLE = {"code": "BYOT", "externalId": "BYOT-2026", "type": "DR", "status": "Active"}
PROGRAM_RULES_EXAMPLE = {
    "dacsMessageId": "PRM-6f1c0b7e9a2d4c1e8b3f5a7d9c0e2b4f",
    "program": PROGRAM_EXAMPLE,
    "version": 3,
    "rules": [RULE_EXAMPLE],
}
AGGREGATOR_EXAMPLE = {
    "dacsMessageId": "AGM-1a2b3c4d5e6f4a5b9c8d7e6f5a4b3c2d",
    "code": "VPP-NORTH",
    "name": "Northern VPP",
    "status": "Active",
    "startDate": "2026-01-01",
    "endDate": None,
    "contact": {
        "name": "Dispatch desk",
        "email": "dispatch@vpp-north.example",
        "phone": "+1 555 0100",
    },
    "externalReferenceId": "VN-77",
    "externalSystem": "VPP-NORTH-HES",
    "programs": ["BYOT"],
    "version": 2,
}
RECEIVED_AT = "2026-06-01T12:00:00+00:00"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- PROG-RULE -------------------------------------------------------------------------------


class Rule(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=example_of(RULE_EXAMPLE))

    ruleId: Key
    effectiveFrom: date
    #: Exclusive; null for open-ended.
    effectiveTo: date | None = None
    #: DERMS's day kinds: WEEKDAY, WEEKEND, HOLIDAY (another value rejects the record).
    allowEventDays: list[Value] = Field(max_length=10)
    windowStart: LocalTime
    windowEnd: LocalTime
    minEventDurationMin: Int
    maxEventDurationMin: Int
    maxEventsPerCycle: Int
    #: DAILY, WEEKLY, MONTHLY, SEASON or YEAR (another value rejects the record).
    cycleFrequency: Value
    maxOverridesPerCycle: Int
    optOutCutoffMin: Int
    minRestMin: Int
    overridable: bool

    def to_domain(self) -> model.Rule:
        return model.Rule(
            rule_id=self.ruleId,
            effective_from=self.effectiveFrom,
            effective_to=self.effectiveTo,
            allow_event_days=tuple(self.allowEventDays),
            window_start=time.fromisoformat(self.windowStart),
            window_end=time.fromisoformat(self.windowEnd),
            min_event_duration_min=self.minEventDurationMin,
            max_event_duration_min=self.maxEventDurationMin,
            max_events_per_cycle=self.maxEventsPerCycle,
            cycle_frequency=self.cycleFrequency,
            max_overrides_per_cycle=self.maxOverridesPerCycle,
            opt_out_cutoff_min=self.optOutCutoffMin,
            min_rest_min=self.minRestMin,
            overridable=self.overridable,
        )

    @classmethod
    def of(cls, rule: model.Rule) -> Rule:
        return cls(
            ruleId=rule.rule_id,
            effectiveFrom=rule.effective_from,
            effectiveTo=rule.effective_to,
            allowEventDays=list(rule.allow_event_days),
            windowStart=f"{rule.window_start:%H:%M}",
            windowEnd=f"{rule.window_end:%H:%M}",
            minEventDurationMin=rule.min_event_duration_min,
            maxEventDurationMin=rule.max_event_duration_min,
            maxEventsPerCycle=rule.max_events_per_cycle,
            cycleFrequency=rule.cycle_frequency,
            maxOverridesPerCycle=rule.max_overrides_per_cycle,
            optOutCutoffMin=rule.opt_out_cutoff_min,
            minRestMin=rule.min_rest_min,
            overridable=rule.overridable,
        )


class ProgramInfo(Strict):
    code: Key
    externalId: Ext = ""
    type: Free = ""
    status: Literal["Active", "Inactive", "Pending"]


class ProgramRules(Strict):
    dacsMessageId: Key
    program: ProgramInfo
    version: Version
    #: Every rule linked to the program now; an empty list unlinks them all.
    rules: list[Rule] = Field(max_length=100)

    def to_domain(self) -> model.ProgramRules:
        return model.ProgramRules(
            dacs_message_id=self.dacsMessageId,
            code=self.program.code,
            external_id=self.program.externalId,
            program_type=self.program.type,
            status=self.program.status,
            version=self.version,
            rules=tuple(r.to_domain() for r in self.rules),
        )


class ProgramRulesBatch(Strict):
    batchId: BatchId
    programs: list[ProgramRules] = Field(min_length=1, max_length=MAX_RECORDS)


# --- AGGREGATOR ------------------------------------------------------------------------------


class Contact(Strict):
    name: Free = ""
    email: Free = ""
    phone: Free = ""


class Aggregator(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra=example_of(AGGREGATOR_EXAMPLE))

    dacsMessageId: Key
    code: Key
    name: Free = ""
    status: Literal["Active", "Inactive"]
    startDate: date | None = None
    #: Exclusive; null for open-ended.
    endDate: date | None = None
    contact: Contact = Field(default_factory=Contact)
    externalReferenceId: Ext = ""
    externalSystem: Ext = ""
    #: Codes of the programs it serves.
    programs: list[Key] = Field(default_factory=list, max_length=1000)
    version: Version

    def to_domain(self) -> model.Aggregator:
        return model.Aggregator(
            dacs_message_id=self.dacsMessageId,
            code=self.code,
            name=self.name,
            status=model.AggregatorStatus(self.status),
            start_date=self.startDate,
            end_date=self.endDate,
            contact_name=self.contact.name,
            contact_email=self.contact.email,
            contact_phone=self.contact.phone,
            external_reference_id=self.externalReferenceId,
            external_system=self.externalSystem,
            programs=tuple(self.programs),
            version=self.version,
        )


class AggregatorBatch(Strict):
    batchId: BatchId
    aggregators: list[Aggregator] = Field(min_length=1, max_length=MAX_RECORDS)


# --- Results ---------------------------------------------------------------------------------


class Result(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"code": "BYOT", "version": 3, "outcome": "Applied", "errorCode": None, "detail": None}
        )
    )

    code: str
    version: int
    outcome: Literal["Applied", "Stale", "Rejected"]
    #: Rejected: derms's business code (DERMS-RULE-INVALID, DERMS-AGGREGATOR-INVALID).
    errorCode: str | None
    #: Rejected: what is wrong, naming the field.
    detail: str | None

    @classmethod
    def of(cls, result: model.Result) -> Result:
        return cls(
            code=result.code,
            version=result.version,
            outcome=result.outcome.value,
            errorCode=result.error_code,
            detail=result.detail,
        )


class Results(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of({"results": [model_example(Result)]}))

    #: One per record, in the order of the batch.
    results: list[Result]


# --- Reads -----------------------------------------------------------------------------------


class ProgramRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                **PROGRAM_EXAMPLE,
                "version": 3,
                "receivedAt": RECEIVED_AT,
                "dacsMessageId": PROGRAM_RULES_EXAMPLE["dacsMessageId"],
                "rules": [RULE_EXAMPLE],
            }
        )
    )

    code: str
    externalId: str
    type: str
    status: str
    #: The rule version derms holds.
    version: int
    receivedAt: str
    dacsMessageId: str
    #: The rules of that version.
    rules: list[Rule]


class Programs(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of({"items": [model_example(ProgramRead)]}))

    items: list[ProgramRead]


class RuleVersion(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"version": 3, "receivedAt": RECEIVED_AT, "rules": [RULE_EXAMPLE]}
        )
    )

    version: int
    receivedAt: str
    rules: list[Rule]

    @classmethod
    def of(cls, version: model.RuleVersion) -> RuleVersion:
        return cls(
            version=version.version,
            receivedAt=version.received_at.isoformat(),
            rules=[Rule.of(r) for r in version.rules],
        )


class RuleVersions(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"code": "BYOT", "versions": [model_example(RuleVersion)]})
    )

    code: str
    #: Every version derms received, oldest first.
    versions: list[RuleVersion]


class RulesInForce(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "code": "BYOT",
                "plannedAt": "2026-07-14T09:00:00-07:00",
                "day": "2026-07-15",
                "version": 3,
                "rules": [RULE_EXAMPLE],
            }
        )
    )

    code: str
    plannedAt: str
    day: date
    #: The version the rules come from; null when none was received by plannedAt.
    version: int | None
    rules: list[Rule]


class AggregatorRead(Aggregator):
    model_config = ConfigDict(
        json_schema_extra=example_of({**AGGREGATOR_EXAMPLE, "receivedAt": RECEIVED_AT})
    )

    receivedAt: str


class Aggregators(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [model_example(AggregatorRead)]})
    )

    items: list[AggregatorRead]
