"""The catalog's HTTP API (docs/contracts/enrollment.md, "cpm endpoints"): programs,
aggregators and the CIS master-data load, as thin routes over the catalog's services.

Routes are ``async`` and hand their one blocking service call to the threadpool (see
``enrollment/api.py`` for why).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from derlink.common.clock import Clock
from derlink.cpm import scopes
from derlink.cpm.catalog import model as m
from derlink.cpm.catalog import schemas as s
from derlink.cpm.catalog import service
from derlink.platform.auth import Client
from derlink.platform.database import Database
from derlink.platform.openapi import body_example, documented_error, fields_of
from derlink.platform.web import JsonRoute, require

Reader = Annotated[Client, Depends(require(scopes.READ))]
Admin = Annotated[Client, Depends(require(scopes.ADMIN))]
Sync = Annotated[Client, Depends(require(scopes.SYNC))]


#: The request bodies the OpenAPI document shows.
PROGRAM_EXAMPLE = body_example(s.ProgramCreate, fields_of(s.ProgramRead, s.ProgramCreate))
AGGREGATOR_EXAMPLE = body_example(
    s.AggregatorCreate, fields_of(s.AggregatorRead, s.AggregatorCreate)
)
RULE_EXAMPLE = body_example(s.RuleCreate, s.RULE_EXAMPLE)
PROGRAM_UPDATE_EXAMPLE = body_example(s.ProgramUpdate, {"status": "Active"})
AGGREGATOR_UPDATE_EXAMPLE = body_example(s.AggregatorUpdate, {"status": "Inactive"})
ACKS_EXAMPLE = body_example(
    s.MasterDataAcks,
    {
        "acknowledgements": [
            {"kind": "PROG-RULE", "code": "BYOT-SUMMER", "version": 3, "status": "SUCCESS"},
            {
                "kind": "AGGREGATOR",
                "code": "AGG-1",
                "version": 2,
                "status": "ERROR",
                "errorCode": "HUB-LOOKUP-UNKNOWN",
                "message": "CycleFrequency has no value for 'FORTNIGHT'",
            },
        ]
    },
)
MASTER_DATA_EXAMPLE = body_example(
    s.MasterDataLoad,
    {
        "persons": [{"cisPersonId": "P1", "name": "Ann Lee", "email": "ann@example.org"}],
        "accounts": [{"cisAccountId": "A1", "cisPersonId": "P1"}],
        "premises": [
            {
                "cisPremiseId": "PR1",
                "cisAccountId": "A1",
                "address1": "1 Main St",
                "city": "Fresno",
                "state": "CA",
                "postal": "93701",
                "timeZone": "America/Los_Angeles",
            }
        ],
        "servicePoints": [{"cisServicePointId": "SP1", "cisPremiseId": "PR1", "division": "CA"}],
    },
)


def create_router(*, db: Database, clock: Clock) -> APIRouter:
    """The catalog's routes of ``/cpm/api/v1``, bound to one database and clock."""
    router = APIRouter(route_class=JsonRoute)

    @router.post(
        "/programs",
        status_code=201,
        openapi_extra=PROGRAM_EXAMPLE,
        responses=documented_error(
            409,
            "A program with this code exists already.",
            "a program with code 'AC-CYCLING' exists already",
            m.PROGRAM_EXISTS,
        ),
    )
    async def create_program(body: s.ProgramCreate, _: Admin) -> s.ProgramRead:
        view = await run_in_threadpool(
            service.create_program,
            db=db,
            clock=clock,
            code=body.programCode,
            name=body.name,
            program_type=body.programType,
            status=body.status,
            eligible_specifications=body.eligibleSpecifications,
            settlement_method=body.settlementMethod,
            external_id=body.externalId,
        )
        return _program_read(view)

    @router.patch("/programs/{program_code}", openapi_extra=PROGRAM_UPDATE_EXAMPLE)
    async def update_program(program_code: str, body: s.ProgramUpdate, _: Admin) -> s.ProgramRead:
        view = await run_in_threadpool(
            service.update_program,
            db=db,
            clock=clock,
            code=program_code,
            name=body.name,
            status=body.status,
            external_id=body.externalId,
        )
        return _program_read(view)

    @router.post("/programs/{program_code}/send-rules")
    async def send_rules(program_code: str, _: Admin) -> s.SyncRead:
        """Send the program's rules to DERMS again, as the next version."""
        view = await run_in_threadpool(
            service.send_again, db=db, clock=clock, kind=m.PROG_RULE, code=program_code
        )
        return _sync_read(view)

    @router.get("/programs/{program_code}/rules")
    async def list_rules(program_code: str, _: Reader) -> list[s.RuleRead]:
        views = await run_in_threadpool(service.list_rules, db=db, code=program_code)
        return [_rule_read(v) for v in views]

    @router.post("/programs/{program_code}/rules", status_code=201, openapi_extra=RULE_EXAMPLE)
    async def link_rule(program_code: str, body: s.RuleCreate, _: Admin) -> s.RuleRead:
        view = await run_in_threadpool(
            service.link_rule, db=db, clock=clock, code=program_code, rule=_rule(body)
        )
        return _rule_read(view)

    @router.put("/programs/{program_code}/rules/{rule_id}", openapi_extra=RULE_EXAMPLE)
    async def change_rule(
        program_code: str, rule_id: str, body: s.RuleCreate, _: Admin
    ) -> s.RuleRead:
        view = await run_in_threadpool(
            service.change_rule,
            db=db,
            clock=clock,
            code=program_code,
            rule_id=rule_id,
            rule=_rule(body),
        )
        return _rule_read(view)

    @router.delete("/programs/{program_code}/rules/{rule_id}")
    async def unlink_rule(program_code: str, rule_id: str, _: Admin) -> list[s.RuleRead]:
        """Unlink the rule; the answer is the rules still linked."""
        await run_in_threadpool(
            service.unlink_rule, db=db, clock=clock, code=program_code, rule_id=rule_id
        )
        views = await run_in_threadpool(service.list_rules, db=db, code=program_code)
        return [_rule_read(v) for v in views]

    @router.get("/programs")
    async def list_programs(_: Reader) -> list[s.ProgramRead]:
        return [_program_read(v) for v in await run_in_threadpool(service.list_programs, db=db)]

    @router.get("/programs/{program_code}")
    async def get_program(program_code: str, _: Reader) -> s.ProgramRead:
        return _program_read(await run_in_threadpool(service.get_program, db=db, code=program_code))

    @router.post(
        "/aggregators",
        status_code=201,
        openapi_extra=AGGREGATOR_EXAMPLE,
        responses=documented_error(
            409,
            "An aggregator with this code exists already.",
            "an aggregator with code 'AGG-1' exists already",
            m.AGGREGATOR_EXISTS,
        ),
    )
    async def create_aggregator(body: s.AggregatorCreate, _: Admin) -> s.AggregatorRead:
        view = await run_in_threadpool(
            service.create_aggregator,
            db=db,
            clock=clock,
            code=body.code,
            name=body.name,
            status=body.status,
            details=_details(body),
        )
        return _aggregator_read(view)

    @router.get("/aggregators")
    async def list_aggregators(_: Reader) -> list[s.AggregatorRead]:
        return [
            _aggregator_read(v) for v in await run_in_threadpool(service.list_aggregators, db=db)
        ]

    @router.get("/aggregators/{code}")
    async def get_aggregator(code: str, _: Reader) -> s.AggregatorRead:
        return _aggregator_read(await run_in_threadpool(service.get_aggregator, db=db, code=code))

    @router.post("/aggregators/{code}/send")
    async def send_aggregator(code: str, _: Admin) -> s.SyncRead:
        """Send the aggregator to DERMS again, as the next version."""
        view = await run_in_threadpool(
            service.send_again, db=db, clock=clock, kind=m.AGGREGATOR, code=code
        )
        return _sync_read(view)

    @router.patch("/aggregators/{code}", openapi_extra=AGGREGATOR_UPDATE_EXAMPLE)
    async def update_aggregator(code: str, body: s.AggregatorUpdate, _: Admin) -> s.AggregatorRead:
        view = await run_in_threadpool(
            service.update_aggregator,
            db=db,
            clock=clock,
            code=code,
            name=body.name,
            status=body.status,
            details=_details(body.details) if body.details is not None else None,
        )
        return _aggregator_read(view)

    @router.post("/master-data/acknowledgements", openapi_extra=ACKS_EXAMPLE)
    async def acknowledge_master_data(body: s.MasterDataAcks, _: Sync) -> s.MasterDataAckResults:
        acks = [
            service.MasterDataAck(
                a.kind, a.code, a.version, a.status == "SUCCESS", a.errorCode, a.message
            )
            for a in body.acknowledgements
        ]
        results = await run_in_threadpool(service.acknowledge, db=db, acks=acks)
        return s.MasterDataAckResults(
            results=[s.MasterDataAckResult.model_validate(r) for r in results]
        )

    @router.post("/master-data", openapi_extra=MASTER_DATA_EXAMPLE)
    async def load_master_data(body: s.MasterDataLoad, _: Admin) -> s.MasterDataLoaded:
        result = await run_in_threadpool(
            service.load_master_data,
            db=db,
            clock=clock,
            persons_in=[
                m.PersonRecord(p.cisPersonId, p.name, p.email, p.homePhone, p.businessPhone)
                for p in body.persons
            ],
            accounts_in=[m.AccountRecord(a.cisAccountId, a.cisPersonId) for a in body.accounts],
            premises_in=[
                m.PremiseRecord(
                    p.cisPremiseId,
                    p.cisAccountId,
                    p.address1,
                    p.city,
                    p.state,
                    p.postal,
                    p.country,
                    p.county,
                    p.division,
                    p.timeZone,
                )
                for p in body.premises
            ],
            service_points_in=[
                m.ServicePointRecord(p.cisServicePointId, p.cisPremiseId, p.division)
                for p in body.servicePoints
            ],
        )
        return s.MasterDataLoaded(
            persons=result.persons,
            accounts=result.accounts,
            premises=result.premises,
            servicePoints=result.service_points,
            rejected=[
                s.RejectedRecordRead(kind=r.kind, index=r.index, cisId=r.cis_id, reason=r.reason)
                for r in result.rejected
            ],
        )

    return router


# -- domain → wire --------------------------------------------------------------------------


def _program_read(v: service.ProgramView) -> s.ProgramRead:
    return s.ProgramRead(
        programId=v.program_id,
        programCode=v.code,
        name=v.name,
        programType=v.program_type,
        status=v.status,
        eligibleSpecifications=v.eligible_specifications,
        settlementMethod=v.settlement_method,
        createdAt=v.created_at,
        externalId=v.external_id,
        dermsSync=_sync_read(v.sync),
    )


def _sync_read(v: service.SyncView) -> s.SyncRead:
    return s.SyncRead(
        version=v.version, dermsVersion=v.derms_version, state=v.state, detail=v.detail
    )


def _rule(body: s.RuleCreate) -> m.ProgramRule:
    return m.ProgramRule(
        effective_from=body.effectiveFrom,
        effective_to=body.effectiveTo,
        allow_event_days=tuple(body.allowEventDays),
        window_start=body.windowStart,
        window_end=body.windowEnd,
        min_event_duration_min=body.minEventDurationMin,
        max_event_duration_min=body.maxEventDurationMin,
        max_events_per_cycle=body.maxEventsPerCycle,
        cycle_frequency=body.cycleFrequency,
        max_overrides_per_cycle=body.maxOverridesPerCycle,
        opt_out_cutoff_min=body.optOutCutoffMin,
        min_rest_min=body.minRestMin,
        overridable=body.overridable,
    )


def _rule_read(v: service.RuleView) -> s.RuleRead:
    return s.RuleRead.model_validate(
        {**service.rule_payload(v), "programCode": v.program_code, "updatedAt": v.updated_at}
    )


def _details(body: s.AggregatorDetailsFields) -> m.AggregatorDetails:
    return m.AggregatorDetails(
        start_date=body.startDate,
        end_date=body.endDate,
        contact_name=body.contact.name,
        contact_email=body.contact.email,
        contact_phone=body.contact.phone,
        external_reference_id=body.externalReferenceId,
        external_system=body.externalSystem,
        programs=tuple(body.programs),
    )


def _aggregator_read(v: service.AggregatorView) -> s.AggregatorRead:
    return s.AggregatorRead(
        aggregatorId=v.aggregator_id,
        code=v.code,
        name=v.name,
        status=v.status,
        createdAt=v.created_at,
        startDate=v.details.start_date,
        endDate=v.details.end_date,
        contact=s.ContactRead(
            name=v.details.contact_name,
            email=v.details.contact_email,
            phone=v.details.contact_phone,
        ),
        externalReferenceId=v.details.external_reference_id,
        externalSystem=v.details.external_system,
        programs=list(v.details.programs),
        updatedAt=v.updated_at,
        dermsSync=_sync_read(v.sync),
    )
