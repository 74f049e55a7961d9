"""The registry's HTTP API (docs/contracts/enrollment.md, "derms endpoints"): thin routes only.

Routes are plain ``def``: FastAPI runs them on its worker threads, where the blocking database
calls of the services belong.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from derlink.common.clock import Clock
from derlink.contracts import examples
from derlink.derms import scopes
from derlink.derms.registry import model, schemas, service
from derlink.platform.database import Database
from derlink.platform.openapi import answer_example, body_example
from derlink.platform.web import JsonRoute, require


def _item(subscription: model.Subscription, devices: list[model.Device]) -> schemas.RegistryItem:
    return schemas.RegistryItem(
        subscriptionId=subscription.subscription_id,
        status=subscription.status.value,
        programCode=subscription.program_code,
        cisServicePointId=subscription.cis_service_point_id,
        cisAccountId=subscription.cis_account_id,
        devices=sorted(
            model.device_label(d.key) for d in devices if d.status is model.DeviceStatus.ACTIVE
        ),
        version=subscription.version,
    )


def _entry(subscription: model.Subscription, devices: list[model.Device]) -> schemas.RegistryEntry:
    return schemas.RegistryEntry(
        **_item(subscription, devices).model_dump(),
        programId=subscription.program_id,
        servicePointId=subscription.service_point_id,
        division=subscription.division,
        startDateTimeISO=subscription.starts_at,
        endDateTimeISO=subscription.ends_at,
        lastDacsMessageId=subscription.last_dacs_message_id,
        registrations=[
            schemas.RegistryDevice(
                deviceId=d.device_id,
                headEndSystem=d.head_end_system,
                nicId=d.nic_id,
                status=d.status.value,
                registration=d.registration.value,
                deviceType=d.device_type,
                specification=d.specification,
            )
            for d in devices
        ],
    )


def _receipt(receipt: service.Receipt) -> schemas.BatchReceipt:
    return schemas.BatchReceipt(accepted=receipt.accepted, duplicates=receipt.duplicates)


def create_router(*, db: Database, clock: Clock) -> APIRouter:
    """The registry's routes of derms's API, bound to its database and clock."""
    router = APIRouter(route_class=JsonRoute)
    read = [Depends(require(scopes.READ))]
    write = [Depends(require(scopes.WRITE))]
    sync = [Depends(require(scopes.SYNC))]

    @router.post(
        "/enrollments",
        status_code=202,
        dependencies=sync,
        openapi_extra=body_example(
            schemas.EnrollBatch, {"batchId": "cpm-sync-000451", "messages": [examples.ENROLL_SYNC]}
        ),
    )
    def receive_enrollments(body: schemas.EnrollBatch) -> schemas.BatchReceipt:
        """DERMS Enroll: apply each sync; each is acked later through the hub's ENR-ACK."""
        receipt = service.receive_enrollments(
            db=db,
            clock=clock,
            batch_id=body.batchId,
            syncs=[m.to_domain() for m in body.messages],
        )
        return _receipt(receipt)

    @router.post(
        "/enrollment-requests/originate",
        status_code=202,
        dependencies=write,
        openapi_extra=body_example(
            schemas.OriginateRequest, {"requests": [examples.ENROLLMENT_REQUEST]}
        ),
    )
    def originate(body: schemas.OriginateRequest) -> schemas.BatchReceipt:
        receipt = service.originate_requests(
            db=db, clock=clock, requests=[r.payload() for r in body.requests]
        )
        return _receipt(receipt)

    @router.get(
        "/enrollment-requests/counts",
        dependencies=read,
        openapi_extra=answer_example({"Pending": 0, "Sent": 0, "Accepted": 1000, "Rejected": 3}),
    )
    def origination_counts() -> dict[str, int]:
        return service.origination_counts(db=db)

    @router.post(
        "/acks/enrollment-requests",
        dependencies=sync,
        openapi_extra=body_example(schemas.MsgAck, examples.REQUEST_ACK),
    )
    def enrollment_request_ack(body: schemas.MsgAck) -> schemas.RequestAckResults:
        answers = [
            model.RequestAnswer(
                message_id=r.dacsMessageId or r.id,
                response_code=r.responseCode,
                value=r.value or "",
            )
            for r in body.responses
        ]
        outcomes = service.record_enrollment_request_ack(db=db, clock=clock, answers=answers)
        return schemas.RequestAckResults(
            results=[schemas.RequestAckResult(messageId=m, outcome=o) for m, o in outcomes]
        )

    @router.post(
        "/device-status-checks",
        status_code=202,
        dependencies=sync,
        openapi_extra=body_example(
            schemas.StatusCheckBatch,
            {"batchId": "cpm-status-000019", "messages": [examples.STATUS_CHECK]},
        ),
    )
    def device_status_checks(body: schemas.StatusCheckBatch) -> schemas.BatchReceipt:
        checks = [
            model.StatusCheck(
                dacs_message_id=m.dacsMessageId,
                head_end_system=m.deviceInfo.headEndSystem,
                nic_id=m.deviceInfo.nicId,
            )
            for m in body.messages
        ]
        receipt = service.receive_status_checks(
            db=db, clock=clock, batch_id=body.batchId, checks=checks
        )
        return _receipt(receipt)

    @router.get("/registry", dependencies=read)
    def registry_page(
        after: Annotated[str | None, Query(max_length=80)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        status: model.SubscriptionStatus | None = None,
        programCode: Annotated[str, Query(max_length=80)] = "",
        servicePointId: Annotated[str, Query(max_length=80)] = "",
        accountId: Annotated[str, Query(max_length=80)] = "",
        id: Annotated[str, Query(max_length=80)] = "",
        subscriptionIds: Annotated[str, Query(max_length=8000)] = "",
    ) -> schemas.RegistryPage:
        """Registry entries in subscription order, narrowed by status, program, service point,
        account, ``id`` (the subscription's, its service point's or its account's) or a list of
        subscription ids (``subscriptionIds``, comma-separated)."""
        narrowed = service.RegistryFilter(
            status=status,
            program_code=programCode,
            service_point_id=servicePointId,
            account_id=accountId,
            any_id=id.strip(),
            subscription_ids=tuple(i for i in subscriptionIds.split(",") if i.strip()),
        )
        entries, next_cursor = service.registry_page(
            db=db, after=after, limit=limit, narrowed=narrowed
        )
        return schemas.RegistryPage(items=[_item(s, d) for s, d in entries], next=next_cursor)

    @router.get("/registry/{subscription_id}", dependencies=read)
    def registry_entry(subscription_id: str) -> schemas.RegistryEntry:
        return _entry(*service.registry_entry(db=db, subscription_id=subscription_id))

    @router.post(
        "/head-end-systems",
        dependencies=write,
        openapi_extra=body_example(schemas.HeadEndCodes, {"codes": ["ECOBEE-HE", "HONEYWELL-HE"]}),
    )
    def register_head_ends(body: schemas.HeadEndCodes) -> schemas.HeadEndRegistration:
        return schemas.HeadEndRegistration(
            added=service.register_head_ends(db=db, codes=body.codes)
        )

    @router.get("/head-end-systems", dependencies=read)
    def head_end_systems() -> schemas.HeadEndSystems:
        return schemas.HeadEndSystems(
            items=[
                schemas.HeadEndSystem(code=code, name=name)
                for code, name in service.list_head_ends(db=db)
            ]
        )

    return router
