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


#: The request bodies the OpenAPI document shows.
PROGRAM_EXAMPLE = body_example(s.ProgramCreate, fields_of(s.ProgramRead, s.ProgramCreate))
AGGREGATOR_EXAMPLE = body_example(
    s.AggregatorCreate, fields_of(s.AggregatorRead, s.AggregatorCreate)
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
        )
        return _program_read(view)

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
        )
        return _aggregator_read(view)

    @router.get("/aggregators")
    async def list_aggregators(_: Reader) -> list[s.AggregatorRead]:
        return [
            _aggregator_read(v) for v in await run_in_threadpool(service.list_aggregators, db=db)
        ]

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
    )


def _aggregator_read(v: service.AggregatorView) -> s.AggregatorRead:
    return s.AggregatorRead(
        aggregatorId=v.aggregator_id,
        code=v.code,
        name=v.name,
        status=v.status,
        createdAt=v.created_at,
    )
