"""The enrollment feature's HTTP API (docs/contracts/enrollment.md, "cpm endpoints"): thin
routes over its services.

Each route checks its scope, turns the wire schema into domain values, calls one service
function and answers a schema. Errors map to problem+json in platform/web.py.

Routes are ``async`` and hand their one blocking service call to the threadpool: measured on
FastAPI 0.165, a plain ``def`` route costs about 1 ms more CPU per request (FastAPI hops
threads several times for it), and enroll and acknowledgements are on the hot path.
"""

from __future__ import annotations

import logging
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from derlink.common.clock import Clock
from derlink.contracts import examples
from derlink.cpm import scopes
from derlink.cpm.enrollment import model as m
from derlink.cpm.enrollment import schemas as s
from derlink.cpm.enrollment.service import (
    extracts,
    reads,
    status_checks,
    subscriptions,
    sync_requests,
)
from derlink.platform.auth import Client
from derlink.platform.database import Database
from derlink.platform.files import FileStore
from derlink.platform.openapi import answer_example, body_example, documented_error
from derlink.platform.web import JsonRoute, json_body_schema, parse_json_body, require, require_any

Reader = Annotated[Client, Depends(require(scopes.READ))]
Writer = Annotated[Client, Depends(require(scopes.WRITE))]
Syncer = Annotated[Client, Depends(require(scopes.SYNC))]
Admin = Annotated[Client, Depends(require(scopes.ADMIN))]
Enroller = Annotated[Client, Depends(require_any(scopes.WRITE, scopes.SYNC))]

log = logging.getLogger("derlink.cpm")


#: The conflicts routes answer (409), as their OpenAPI operations document them.
DUPLICATE_REQUEST = documented_error(
    409,
    "An enrollment request with this messageId exists already (message number 10589, which "
    "the sender counts a success); enrollmentId names the enrollment.",
    "an enrollment request with messageId 'M-1' exists already",
    str(m.DUPLICATE_MESSAGE_NUMBER),
    messageNumber=m.DUPLICATE_MESSAGE_NUMBER,
    enrollmentId="E-1",
)
NOT_ACTIVE = documented_error(
    409,
    "The enrollment is not Active, or is being unenrolled.",
    "enrollment E-1 is Inactive, not Active",
    m.ENROLLMENT_NOT_ACTIVE,
)
SYNCHRONIZED = documented_error(
    409,
    "The sync request is Synchronized and cannot be discarded.",
    "sync request S-1 is Synchronized and cannot be discarded",
    m.SYNC_SYNCHRONIZED,
)
EXTRACT_RUNNING = documented_error(
    409,
    "An enrollment extract is running; one runs at a time.",
    "an enrollment extract is running (extract X-1); one runs at a time",
    m.EXTRACT_RUNNING,
)


DEVICE_EXAMPLE = body_example(
    s.DeviceAdd,
    {
        "asset": {
            "make": "ECOBEE",
            "model": "SMARTTHERMOSTAT",
            "assetType": "THERMOSTAT",
            "serialNo": "SN2",
            "nicId": "NIC-2",
            "headEndSystem": "ECOBEE-HE",
        }
    },
)


def create_router(*, db: Database, clock: Clock, store: FileStore) -> APIRouter:
    """The enrollment feature's routes of ``/cpm/api/v1``, bound to one database, clock and
    content server."""
    router = APIRouter(route_class=JsonRoute)

    # -- enrollments ----------------------------------------------------------------------

    @router.post(
        "/enrollments",
        status_code=201,
        responses=DUPLICATE_REQUEST,
        openapi_extra=body_example(s.EnrollmentRequest, examples.ENROLLMENT_REQUEST),
    )
    async def enroll(body: s.EnrollmentRequest, client: Enroller) -> s.EnrollmentCreated:
        ignored = _ignored(body)
        receipt = await run_in_threadpool(
            subscriptions.enroll,
            db=db,
            clock=clock,
            request=_new_enrollment(body),
            actor=client.client_id,
        )
        return s.EnrollmentCreated(
            enrollmentId=receipt.enrollment_id,
            status=receipt.status,
            syncRequestId=receipt.sync_request_id,
            ignoredFields=ignored,
        )

    @router.post(
        "/enrollments/collection",
        response_model_exclude_none=True,
        openapi_extra=body_example(
            s.EnrollmentCollection, {"requests": [examples.ENROLLMENT_REQUEST]}
        ),
    )
    async def enroll_collection(
        body: s.EnrollmentCollection, client: Enroller
    ) -> s.EnrollmentCollectionResult:
        """Many single-record enrolls in one call (the hub's ENR-REQ to derlink's own cpm)."""
        read = [_read_request(i, raw) for i, raw in enumerate(body.requests)]
        outcomes = await run_in_threadpool(
            subscriptions.enroll_many,
            db=db,
            clock=clock,
            requests=[(message_id, request) for message_id, request, _ in read],
            actor=client.client_id,
        )
        return s.EnrollmentCollectionResult(
            results=[
                s.EnrollmentOutcomeRead(
                    messageId=o.message_id,
                    outcome=o.outcome,
                    enrollmentId=o.enrollment_id,
                    syncRequestId=o.sync_request_id,
                    code=o.code,
                    detail=o.detail,
                    ignoredFields=ignored or None,
                )
                for o, (_, _, ignored) in zip(outcomes, read, strict=True)
            ]
        )

    @router.get("/enrollments/{enrollment_id}")
    async def get_enrollment(enrollment_id: str, _: Reader) -> s.EnrollmentRead:
        return _enrollment_read(
            await run_in_threadpool(reads.get_enrollment, db=db, enrollment_id=enrollment_id)
        )

    @router.post(
        "/enrollments/{enrollment_id}/unenroll",
        responses=NOT_ACTIVE,
        openapi_extra=body_example(
            s.UnenrollmentCreate,
            {"reason": "moved out", "endDateTimeISO": "2026-09-30T23:59:59-07:00"},
        ),
    )
    async def unenroll(
        enrollment_id: str, client: Writer, body: s.UnenrollmentCreate | None = None
    ) -> s.EnrollmentChanged:
        body = body or s.UnenrollmentCreate()
        receipt = await run_in_threadpool(
            subscriptions.unenroll,
            db=db,
            clock=clock,
            enrollment_id=enrollment_id,
            reason=body.reason,
            end_at=body.endDateTimeISO,
            actor=client.client_id,
        )
        return _changed(receipt)

    @router.post(
        "/enrollments/{enrollment_id}/devices",
        status_code=201,
        responses=NOT_ACTIVE,
        openapi_extra=DEVICE_EXAMPLE,
    )
    async def add_device(
        enrollment_id: str, body: s.DeviceAdd, client: Writer
    ) -> s.EnrollmentChanged:
        receipt = await run_in_threadpool(
            subscriptions.add_device,
            db=db,
            clock=clock,
            enrollment_id=enrollment_id,
            asset=_asset(body.asset),
            actor=client.client_id,
        )
        return _changed(receipt)

    @router.post(
        "/enrollments/{enrollment_id}/devices/{device_id}/replace",
        responses=NOT_ACTIVE,
        openapi_extra=DEVICE_EXAMPLE,
    )
    async def replace_device(
        enrollment_id: str, device_id: str, body: s.DeviceAdd, client: Writer
    ) -> s.EnrollmentChanged:
        receipt = await run_in_threadpool(
            subscriptions.replace_device,
            db=db,
            clock=clock,
            enrollment_id=enrollment_id,
            device_id=device_id,
            asset=_asset(body.asset),
            actor=client.client_id,
        )
        return _changed(receipt)

    # -- sync requests ----------------------------------------------------------------------

    @router.get("/sync-requests")
    async def list_sync_requests(
        _: Reader,
        state: m.SyncState | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        after: str | None = None,
    ) -> s.SyncRequestPage:
        page = await run_in_threadpool(
            sync_requests.list_sync_requests, db=db, state=state, after=after, limit=limit
        )
        return s.SyncRequestPage(items=[_sync_read(v) for v in page.items], next=page.next)

    @router.get(
        "/sync-requests/counts",
        openapi_extra=answer_example(
            {
                "Pending": 0,
                "Awaiting Acknowledgement": 12,
                "Synchronized": 19988,
                "Error": 0,
                "Discarded": 0,
            }
        ),
    )
    async def sync_request_counts(_: Reader) -> dict[str, int]:
        return await run_in_threadpool(sync_requests.sync_request_counts, db=db)

    @router.get("/sync-requests/{sync_request_id}/history")
    async def sync_request_history(sync_request_id: str, _: Reader) -> list[s.HistoryRead]:
        return [
            s.HistoryRead(
                fromState=h.from_state, toState=h.to_state, at=h.at, actor=h.actor, note=h.note
            )
            for h in await run_in_threadpool(
                sync_requests.history_of, db=db, sync_request_id=sync_request_id
            )
        ]

    @router.post(
        "/sync-requests/{sync_request_id}/discard",
        responses=SYNCHRONIZED,
        openapi_extra=body_example(s.DiscardCreate, {"note": "customer withdrew by phone"}),
    )
    async def discard(
        sync_request_id: str, client: Admin, body: s.DiscardCreate | None = None
    ) -> s.SyncRequestRead:
        view = await run_in_threadpool(
            sync_requests.discard_sync_request,
            db=db,
            clock=clock,
            sync_request_id=sync_request_id,
            actor=client.client_id,
            note=body.note if body else "",
        )
        return _sync_read(view)

    @router.post(
        "/sync-requests/{sync_request_id}/update-and-transition",
        response_model_exclude_none=True,
        openapi_extra=body_example(s.SingleAcknowledgementCreate, examples.ACKNOWLEDGEMENT),
    )
    async def update_and_transition(
        sync_request_id: str, body: s.SingleAcknowledgementCreate, client: Syncer
    ) -> s.AckResultRead:
        _check_same_sync_request(body, sync_request_id)
        result = await run_in_threadpool(
            sync_requests.update_and_transition,
            db=db,
            clock=clock,
            ack=_acknowledgement(body, sync_request_id),
            actor=client.client_id,
        )
        return _ack_read(result)

    @router.post(
        "/sync-requests/acknowledgements",
        response_model=s.AckResultsRead,
        response_model_exclude_none=True,
        openapi_extra=json_body_schema(
            s.AcknowledgementsCreate, {"acknowledgements": [examples.ACKNOWLEDGEMENT]}
        ),
    )
    async def acknowledgements(request: Request, client: Syncer) -> Response:
        # The hot path of OUAI-ENR-ACK (collections of 5,000): the body is parsed and validated
        # in one pass by pydantic's JSON parser, and the answer written by orjson, which
        # together take a third of the time of FastAPI's generic body and response handling.
        body = await parse_json_body(s.AcknowledgementsCreate, await request.body())
        results = await run_in_threadpool(
            sync_requests.acknowledge_many,
            db=db,
            clock=clock,
            acks=[_acknowledgement(a, a.syncRequestId) for a in body.acknowledgements],
            actor=client.client_id,
        )
        return Response(
            orjson.dumps({"results": [_ack_dict(r) for r in results]}),
            media_type="application/json",
        )

    # -- devices ----------------------------------------------------------------------------

    @router.post("/devices/{device_id}/status-checks", status_code=202)
    async def request_status_check(device_id: str, client: Writer) -> s.StatusCheckCreated:
        check_id = await run_in_threadpool(
            status_checks.request_device_status_check,
            db=db,
            clock=clock,
            device_id=device_id,
            actor=client.client_id,
        )
        return s.StatusCheckCreated(dacsMessageId=check_id)

    @router.post(
        "/device-status-responses",
        response_model_exclude_none=True,
        openapi_extra=body_example(
            s.DeviceStatusResponsesCreate, {"responses": [examples.STATUS_ANSWER]}
        ),
    )
    async def device_status_responses(
        body: s.DeviceStatusResponsesCreate, _: Syncer
    ) -> s.DeviceStatusResultsRead:
        results = await run_in_threadpool(
            status_checks.record_device_status_responses,
            db=db,
            clock=clock,
            answers=[
                m.DeviceStatusAnswer(r.transactionId, r.status, r.message) for r in body.responses
            ],
        )
        return s.DeviceStatusResultsRead(
            results=[
                s.DeviceStatusResultRead(
                    transactionId=r.transaction_id, outcome=r.outcome, code=r.code, detail=r.detail
                )
                for r in results
            ]
        )

    # -- enrollment extracts (OUAI-ENR) ------------------------------------------------------

    @router.post(
        "/enrollment-extracts",
        status_code=201,
        responses=EXTRACT_RUNNING,
        openapi_extra=body_example(s.ExtractCreate, {"kind": "INCREMENTAL"}),
    )
    async def create_extract(body: s.ExtractCreate, client: Admin) -> s.ExtractRead:
        """Run an extract to its end (tens of seconds for a million rows) and answer it:
        Completed, or Failed with its error and nothing left behind. 409 if one is running."""
        view = await extracts.run_extract(
            db=db, clock=clock, store=store, kind=body.kind, actor=client.client_id
        )
        return _extract_read(view)

    @router.get("/enrollment-extracts")
    async def list_extracts(
        _: Reader, limit: Annotated[int, Query(ge=1, le=1000)] = 50
    ) -> list[s.ExtractRead]:
        views = await run_in_threadpool(extracts.list_extracts, db=db, limit=limit)
        return [_extract_read(v) for v in views]

    @router.get("/enrollment-extracts/{extract_id}")
    async def get_extract(extract_id: str, _: Reader) -> s.ExtractRead:
        view = await run_in_threadpool(extracts.get_extract, db=db, extract_id=extract_id)
        return _extract_read(view)

    @router.get("/subscriptions")
    async def list_subscriptions(
        _: Reader,
        status: m.SubscriptionStatus | None = None,
        programCode: Annotated[str, Query(max_length=80)] = "",
        servicePointId: Annotated[str, Query(max_length=80)] = "",
        accountId: Annotated[str, Query(max_length=80)] = "",
        customerName: Annotated[str, Query(max_length=80)] = "",
        id: Annotated[str, Query(max_length=80)] = "",
        after: Annotated[str | None, Query(max_length=80)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> s.SubscriptionPage:
        """Subscriptions in id order, narrowed by status, program, service point, account,
        part of the customer's name (any case), or ``id``: any id of the subscription (its
        own, its service point's, its account's, its customer's or its request's message
        id)."""
        narrowed = reads.SubscriptionFilter(
            status=status,
            program_code=programCode,
            service_point_id=servicePointId,
            account_id=accountId,
            customer_name=customerName.strip(),
            any_id=id.strip(),
        )
        page = await run_in_threadpool(
            reads.subscription_page, db=db, narrowed=narrowed, after=after, limit=limit
        )
        return s.SubscriptionPage(
            items=[
                s.SubscriptionListItemRead(
                    subscriptionId=i.subscription_id,
                    status=i.status,
                    programCode=i.program_code,
                    cisServicePointId=i.cis_service_point_id,
                    cisAccountId=i.cis_account_id,
                    customerName=i.customer_name,
                    devices=i.devices,
                )
                for i in page.items
            ],
            next=page.next,
        )

    @router.get("/reconciliation/subscriptions")
    async def reconciliation(
        _: Reader,
        after: str | None = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> s.ReconciliationPage:
        page = await run_in_threadpool(reads.reconciliation_page, db=db, after=after, limit=limit)
        return s.ReconciliationPage(
            items=[
                s.ReconciliationItemRead(
                    subscriptionId=i.subscription_id,
                    status=i.status,
                    programCode=i.program_code,
                    cisServicePointId=i.cis_service_point_id,
                    devices=i.devices,
                )
                for i in page.items
            ],
            next=page.next,
        )

    return router


# -- wire → domain --------------------------------------------------------------------------


def _asset(a: s.AssetCreate) -> m.Asset:
    return m.Asset(
        head_end_system=a.headEndSystem,
        nic_id=a.nicId,
        specification=a.specification,
        device_type=a.assetType,
        make=a.make,
        model=a.model,
        serial_no=a.serialNo,
        badge_no=a.badgeNo,
        asset_id=a.assetId,
        sequence=a.sequence,
    )


def _read_request(
    index: int, raw: dict[str, object]
) -> tuple[str, m.NewEnrollment | str, list[str]]:
    """One record of a collection: the request, or why it is not one (as a 422 would say), and
    the fields it ignored."""
    message_id = str(raw.get("messageId") or f"#{index}")
    try:
        body = s.EnrollmentRequest.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        return message_id, f"requests[{index}] is not a valid enrollment request: {problems}", []
    return message_id, _new_enrollment(body), _ignored(body)


#: The ignored field names already logged by this process: each is logged once, and after
#: ``_MOST_LOGGED`` names no more are (a sender inventing names fills neither log nor memory).
_LOGGED_IGNORED: set[str] = set()
_MOST_LOGGED = 1000


def _ignored(body: s.EnrollmentRequest) -> list[str]:
    """The fields of an enrollment request cpm ignored; a name not seen before is logged."""
    for name in body.ignored:
        if name in _LOGGED_IGNORED or len(_LOGGED_IGNORED) > _MOST_LOGGED:
            continue
        _LOGGED_IGNORED.add(name)
        if len(_LOGGED_IGNORED) > _MOST_LOGGED:
            log.warning("enrollment requests carry more unknown fields: no more are logged")
            continue
        log.warning(
            "enrollment requests carry %s, a field cpm does not know: it is ignored "
            "(logged once; each answer lists the fields it ignored)",
            name,
        )
    return list(body.ignored)


def _check_same_sync_request(body: s.SingleAcknowledgementCreate, sync_request_id: str) -> None:
    """update-and-transition: a body that names a sync request names the path's."""
    named = body.syncRequestId
    if named is not None and named != sync_request_id:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "syncRequestId"),
                    "msg": f"the body names sync request {named!r}, the path "
                    f"{sync_request_id!r}: they must be the same",
                    "type": "value_error",
                }
            ]
        )


def _new_enrollment(body: s.EnrollmentRequest) -> m.NewEnrollment:
    loc = body.locationInfo
    return m.NewEnrollment(
        message_id=body.messageId,
        drms_instance_id=body.drmsInstanceId,
        cis_account_id=body.customerInfo.cisAccountId,
        cis_person_id=body.customerInfo.cisPersonId,
        program_code=body.programInfo.programCode,
        start_at=body.programInfo.startDateTimeISO,
        end_at=body.programInfo.endDateTimeISO,
        location=m.Location(
            cis_service_point_id=loc.cisServicePointId,
            location_id=loc.locationId,
            division=loc.division,
            cis_premise_id=loc.cisPremiseId,
            time_zone=loc.timeZone,
            address1=loc.address1,
            city=loc.city,
            state=loc.state,
            postal=loc.postal,
            country=loc.country,
            county=loc.county,
        ),
        assets=[_asset(a) for a in body.assetInfo.assetList],
        installation_method=body.assetInfo.installationMethod,
        asset_ownership=body.assetInfo.assetOwnership,
    )


def _acknowledgement(body: s.AcknowledgementCreate, sync_request_id: str) -> m.Acknowledgement:
    return m.Acknowledgement(
        sync_request_id=sync_request_id,
        has_error=body.hasError,
        exception_info=[e.model_dump() for e in body.exceptionInfo],
        device_registrations=[
            m.DeviceRegistration(d.deviceId, d.headEndRegistration, d.message)
            for d in body.deviceHeadendStatus
        ],
    )


# -- domain → wire --------------------------------------------------------------------------


def _changed(r: subscriptions.EnrollmentReceipt) -> s.EnrollmentChanged:
    return s.EnrollmentChanged(
        enrollmentId=r.enrollment_id,
        status=r.status,
        syncRequestId=r.sync_request_id,
        deviceId=r.device_id,
    )


def _ack_dict(r: sync_requests.AckResult) -> dict[str, str]:
    """An AckResultRead as the JSON it serializes to (None fields left out)."""
    out = {"syncRequestId": r.sync_request_id, "outcome": r.outcome.value}
    if r.code is not None:
        out["code"] = r.code
    if r.detail is not None:
        out["detail"] = r.detail
    return out


def _ack_read(r: sync_requests.AckResult) -> s.AckResultRead:
    return s.AckResultRead(
        syncRequestId=r.sync_request_id, outcome=r.outcome, code=r.code, detail=r.detail
    )


def _sync_read(v: sync_requests.SyncRequestView) -> s.SyncRequestRead:
    return s.SyncRequestRead(
        syncRequestId=v.sync_request_id,
        enrollmentId=v.enrollment_id,
        syncType=v.sync_type,
        state=v.state,
        version=v.version,
        errorInfo=v.error_info,
        createdAt=v.created_at,
        updatedAt=v.updated_at,
        acknowledgedAt=v.acknowledged_at,
    )


def _enrollment_read(v: reads.EnrollmentView) -> s.EnrollmentRead:
    return s.EnrollmentRead(
        enrollmentId=v.enrollment_id,
        messageId=v.message_id,
        drmsInstanceId=v.drms_instance_id,
        status=v.status,
        programCode=v.program_code,
        cisAccountId=v.cis_account_id,
        cisPersonId=v.cis_person_id,
        cisPremiseId=v.cis_premise_id,
        cisServicePointId=v.cis_service_point_id,
        division=v.division,
        startDateTimeISO=v.start_at,
        endDateTimeISO=v.end_at,
        version=v.version,
        devices=[
            s.DeviceRead(
                deviceId=d.device_id,
                headEndSystem=d.head_end_system,
                nicId=d.nic_id,
                deviceType=d.device_type,
                specification=d.specification,
                make=d.make,
                model=d.model,
                serialNo=d.serial_no,
                badgeNo=d.badge_no,
                status=d.status,
                headEndRegistration=d.head_end_registration,
                headEndMessage=d.head_end_message,
            )
            for d in v.devices
        ],
        syncRequests=[_sync_read(x) for x in v.sync_requests],
    )


def _extract_read(v: extracts.ExtractView) -> s.ExtractRead:
    return s.ExtractRead(
        extractId=v.extract_id,
        kind=v.kind,
        state=v.state,
        fileName=v.file_name,
        rows=v.rows,
        startedAt=v.started_at,
        finishedAt=v.finished_at,
        error=v.error,
    )
