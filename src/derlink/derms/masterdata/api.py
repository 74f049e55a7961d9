"""Master data's HTTP API (docs/contracts/master-data.md): thin routes only.

Routes are plain ``def``: FastAPI runs them on its worker threads, where the blocking database
calls of the services belong.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from derlink.common.clock import Clock
from derlink.derms import scopes
from derlink.derms.masterdata import model, schemas, service
from derlink.platform.database import Database
from derlink.platform.openapi import body_example, documented_error
from derlink.platform.web import JsonRoute, require

_UNKNOWN_PROGRAM = documented_error(
    404,
    "derms holds no rules of this program.",
    "derms holds no rules of program 'BYOT'",
    "DL-NOT-FOUND",
)
_UNKNOWN_AGGREGATOR = documented_error(
    404,
    "derms holds no aggregator with this code.",
    "derms holds no aggregator 'VPP-NORTH'",
    "DL-NOT-FOUND",
)


def _program(program: service.Program) -> schemas.ProgramRead:
    return schemas.ProgramRead(
        code=program.code,
        externalId=program.external_id,
        type=program.program_type,
        status=program.status,
        version=program.version,
        receivedAt=program.received_at,
        dacsMessageId=program.dacs_message_id,
        rules=[schemas.Rule.of(r) for r in program.rules],
    )


def _aggregator(held: service.HeldAggregator) -> schemas.AggregatorRead:
    a = held.aggregator
    return schemas.AggregatorRead(
        dacsMessageId=a.dacs_message_id,
        code=a.code,
        name=a.name,
        status=a.status.value,
        startDate=a.start_date,
        endDate=a.end_date,
        contact=schemas.Contact(name=a.contact_name, email=a.contact_email, phone=a.contact_phone),
        externalReferenceId=a.external_reference_id,
        externalSystem=a.external_system,
        programs=list(a.programs),
        version=a.version,
        receivedAt=held.received_at,
    )


def _results(results: list[model.Result]) -> schemas.Results:
    return schemas.Results(results=[schemas.Result.of(r) for r in results])


def create_router(*, db: Database, clock: Clock) -> APIRouter:
    """Master data's routes of derms's API, bound to its database and clock."""
    router = APIRouter(route_class=JsonRoute)
    read = [Depends(require(scopes.READ))]
    write = [Depends(require(scopes.MASTER_DATA))]

    @router.post(
        "/program-rules",
        dependencies=write,
        openapi_extra=body_example(
            schemas.ProgramRulesBatch,
            {"batchId": "hub-prog-rule-000042", "programs": [schemas.PROGRAM_RULES_EXAMPLE]},
        ),
    )
    def receive_program_rules(body: schemas.ProgramRulesBatch) -> schemas.Results:
        """PROG-RULE: keep each newer version of a program's rules; one result per record."""
        records = [p.to_domain() for p in body.programs]
        return _results(service.apply_program_rules(db=db, clock=clock, records=records))

    @router.post(
        "/aggregators/sync",
        dependencies=write,
        openapi_extra=body_example(
            schemas.AggregatorBatch,
            {"batchId": "hub-aggregator-000007", "aggregators": [schemas.AGGREGATOR_EXAMPLE]},
        ),
    )
    def receive_aggregators(body: schemas.AggregatorBatch) -> schemas.Results:
        """AGGREGATOR: keep each newer version of an aggregator; one result per record."""
        records = [a.to_domain() for a in body.aggregators]
        return _results(service.apply_aggregators(db=db, clock=clock, records=records))

    @router.get("/programs", dependencies=read)
    def programs() -> schemas.Programs:
        """Every program derms holds rules of, with the rules of the version it holds."""
        return schemas.Programs(items=[_program(p) for p in service.list_programs(db=db)])

    @router.get("/programs/{code}", dependencies=read, responses=_UNKNOWN_PROGRAM)
    def program(code: str) -> schemas.ProgramRead:
        """One program, with the version derms holds and its rules."""
        return _program(service.get_program(db=db, code=code))

    @router.get("/programs/{code}/versions", dependencies=read, responses=_UNKNOWN_PROGRAM)
    def program_versions(code: str) -> schemas.RuleVersions:
        """Every version of the program's rules derms received, oldest first."""
        versions = service.rule_versions(db=db, code=code)
        return schemas.RuleVersions(
            code=code, versions=[schemas.RuleVersion.of(v) for v in versions]
        )

    @router.get("/programs/{code}/rules", dependencies=read, responses=_UNKNOWN_PROGRAM)
    def rules_in_force(
        code: str,
        plannedAt: Annotated[AwareDatetime, Query()],
        day: Annotated[date, Query()],
    ) -> schemas.RulesInForce:
        """The rules a stage planned at ``plannedAt`` for ``day`` follows: of the newest version
        received at or before ``plannedAt``, those in effect on ``day``."""
        found = service.rules_in_force(db=db, code=code, planned_at=plannedAt, day=day)
        return schemas.RulesInForce(
            code=code,
            plannedAt=plannedAt.isoformat(),
            day=day,
            version=found.version,
            rules=[schemas.Rule.of(r) for r in found.rules],
        )

    @router.get("/aggregators", dependencies=read)
    def aggregators() -> schemas.Aggregators:
        """Every aggregator derms holds, Inactive ones included."""
        return schemas.Aggregators(items=[_aggregator(a) for a in service.list_aggregators(db=db)])

    @router.get("/aggregators/{code}", dependencies=read, responses=_UNKNOWN_AGGREGATOR)
    def aggregator(code: str) -> schemas.AggregatorRead:
        return _aggregator(service.get_aggregator(db=db, code=code))

    return router
