"""Program events' HTTP API (docs/contracts/program-events.md): EVT-STATUS's create and
lifecycle actions, EVT-RESERVE's reservations and OPT-OUT's and UNAVAIL's acknowledgements
(``cpm:sync``, what the hub does for DERMS), the reads of program events, event participations
and unavailability periods (``cpm:read``), a participation's opt-out and a device's
unavailability periods (``cpm:write``, docs/contracts/unavailability.md) and their resends
(``cpm:admin``), as thin routes over the services.

Routes are ``async`` and hand their one blocking service call to the threadpool (see
``enrollment/api.py`` for why).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from derlink.common.clock import Clock
from derlink.contracts import examples
from derlink.cpm import scopes
from derlink.cpm.catalog.model import PROGRAM_INACTIVE, PROGRAM_UNKNOWN
from derlink.cpm.catalog.service import MasterDataAck
from derlink.cpm.db import ID
from derlink.cpm.events import model as m
from derlink.cpm.events import opt_out_service as opt_outs
from derlink.cpm.events import outcome, outcome_service, service
from derlink.cpm.events import participation as p
from derlink.cpm.events import participation_service as participations
from derlink.cpm.events import schemas as s
from derlink.cpm.events import unavailability as u
from derlink.cpm.events import unavailability_service as unavailabilities
from derlink.platform.auth import Client
from derlink.platform.database import Database
from derlink.platform.openapi import body_example, documented_error
from derlink.platform.web import JsonRoute, json_body_schema, parse_json_body, require

Reader = Annotated[Client, Depends(require(scopes.READ))]
Writer = Annotated[Client, Depends(require(scopes.WRITE))]
Syncer = Annotated[Client, Depends(require(scopes.SYNC))]
Admin = Annotated[Client, Depends(require(scopes.ADMIN))]
ParticipationId = Annotated[str, Path(max_length=ID)]
UnavailabilityId = Annotated[str, Path(max_length=ID)]
Filter = Annotated[str, Query(max_length=m.MAX_IDENTIFIER)]
#: A page of participations: after the one this id names, at most ``limit``.
After = Annotated[str | None, Query(max_length=ID)]
Limit = Annotated[int, Query(ge=1, le=1000)]
DeviceId = Annotated[str, Query(max_length=ID)]
NicId = Annotated[str, Query(max_length=p.MAX_NIC_ID)]

STAGE = examples.PROGRAM_EVENT_CREATE["externalIdentifier"]
EVENT = examples.PROGRAM_EVENT_CREATE["eventExternalIdentifier"]

_UNKNOWN = documented_error(
    404,
    "cpm holds no program event for that stage (or with that id).",
    f"no program event for the stage {STAGE!r}",
    m.PROGRAM_EVENT_UNKNOWN,
)
_CREATE_REFUSED = documented_error(
    422,
    f"Invalid input (every invalid field with its path), or a business rule: "
    f"{PROGRAM_UNKNOWN} (no program has that external id, nor that code), {PROGRAM_INACTIVE} "
    f"(the program is not Active), {m.PROGRAM_EVENT_INVALID} (the end is not after the start, "
    "a time out of range, or an external id several programs share).",
    "program 'BYOT-SUMMER' is Inactive, not Active",
    PROGRAM_INACTIVE,
)
_CONFLICT = documented_error(
    409,
    "cpm holds a program event for that stage with other content; fields names what differs.",
    f"program event {STAGE} exists with another startDateTime, endDateTime",
    m.PROGRAM_EVENT_CONFLICT,
    fields=["startDateTime", "endDateTime"],
)
_ACTION_REFUSED = documented_error(
    422,
    f"Invalid input (every invalid field with its path), or {m.PROGRAM_EVENT_INVALID}: the "
    "eventExternalIdentifier is not the one the program event was created with, or F1CN "
    "without a cancelReason.",
    "F1CN needs a cancelReason: it is blank",
    m.PROGRAM_EVENT_INVALID,
)
_STATE = documented_error(
    409,
    "The program event's state disagrees with the action: F1CO on a Canceled event, F1CN on a "
    "Complete one (or F1CO on a Pending one).",
    f"program event {STAGE} is Canceled: F1CO cannot move it to Complete",
    m.PROGRAM_EVENT_STATE,
)
_RESERVE_REFUSED = documented_error(
    422,
    f"Invalid input (every invalid field with its path: no deviceList, or more than "
    f"{p.MAX_DEVICES:,} devices), or {m.PROGRAM_EVENT_INVALID}: the eventExternalIdentifier is "
    "not the one the program event was created with.",
    f"program event {STAGE} belongs to the event {EVENT}, not EV-0",
    m.PROGRAM_EVENT_INVALID,
)
_OUTCOMES_REFUSED = documented_error(
    422,
    f"Invalid input (every invalid field with its path: no postOutcomeList, or more than "
    f"{p.MAX_DEVICES:,} devices), or {m.PROGRAM_EVENT_INVALID}: the eventExternalIdentifier is "
    "not the one the program event was created with.",
    f"program event {STAGE} belongs to the event {EVENT}, not EV-0",
    m.PROGRAM_EVENT_INVALID,
)
_RESERVE_STATE = documented_error(
    409,
    "The program event is Complete or Canceled: it takes no reservations.",
    f"program event {STAGE} is Canceled: it takes no reservations",
    m.PROGRAM_EVENT_STATE,
)

PARTICIPATION = s.PARTICIPATION_EXAMPLE["id"]
_PARTICIPATION_UNKNOWN = documented_error(
    404,
    "cpm holds no participation with that id.",
    f"no participation {PARTICIPATION!r}",
    p.PARTICIPATION_UNKNOWN,
)
_OPT_OUT_REFUSED = documented_error(
    409,
    f"{p.PARTICIPATION_STATE}: the participation is not Reserved (``state`` names its state); "
    f"{p.OPT_OUT_CUTOFF}: the program event's opt-out cut-off has passed (``cutoff``, in UTC, "
    "and ``cutoffMinutes``, the rule's minutes before the start).",
    f"participation {PARTICIPATION}: the opt-out cut-off was 2026-07-17T21:00:00+00:00, 60 "
    "minutes before its program event's start",
    p.OPT_OUT_CUTOFF,
    cutoff="2026-07-17T21:00:00+00:00",
    cutoffMinutes=60,
)
_RESEND_STATE = documented_error(
    409,
    "The participation is not OptedOut, or DERMS holds its opt-out (Synchronized): nothing to "
    "send again; ``state`` names its state.",
    f"participation {PARTICIPATION} is Reserved, its opt-out never sent at DERMS: only an "
    "OptedOut participation whose opt-out DERMS refused (Error) or has not answered (Pending) "
    "is sent again",
    p.PARTICIPATION_STATE,
    state="Reserved",
)

UNAVAILABILITY = s.UNAVAILABILITY_EXAMPLE["id"]
_DEVICE_UNKNOWN = documented_error(
    404,
    "cpm holds no device with that id.",
    f"no device {s.UNAVAILABILITY_EXAMPLE['deviceId']!r}",
    p.DEVICE_UNKNOWN,
)
_UNAVAILABILITY_UNKNOWN = documented_error(
    404,
    "cpm holds no unavailability period with that id.",
    f"no unavailability {UNAVAILABILITY!r}",
    u.UNAVAILABILITY_UNKNOWN,
)
_UNAVAILABILITY_INVALID = documented_error(
    422,
    f"Invalid input (every invalid field with its path: a time without its offset, a reason "
    f"over {u.MAX_UNAVAILABILITY_REASON} characters, a field the body does not name), or "
    f"{u.UNAVAILABILITY_INVALID}: the end is not after the start, the period lasts more than "
    f"{u.MAX_LENGTH.days} days, or (when added) it starts more than a day before now.",
    "end 2026-07-17T19:00:00+00:00 is not after start 2026-07-18T03:00:00+00:00",
    u.UNAVAILABILITY_INVALID,
)
_UNAVAILABILITY_CANCELED = documented_error(
    409,
    "The period is Canceled: it takes no edit and no cancel (``unavailabilityStatus``).",
    f"unavailability {UNAVAILABILITY} is Canceled: it takes no edit",
    u.UNAVAILABILITY_STATE,
    unavailabilityStatus="Canceled",
)
_UNAVAILABILITY_RESEND_STATE = documented_error(
    409,
    "DERMS holds the period's latest version (Synchronized): nothing to send again; "
    "``unavailabilityStatus`` names the period's status.",
    f"unavailability {UNAVAILABILITY} is Synchronized at DERMS (version 2): only a period "
    "DERMS refused (Error) or has not answered (Pending) is sent again",
    u.UNAVAILABILITY_STATE,
    unavailabilityStatus="Active",
)


def create_router(*, db: Database, clock: Clock, zone: tzinfo) -> APIRouter:
    """Program events' routes of ``/cpm/api/v1``, bound to one database and clock; ``zone`` is
    the utility's, whose days a program's rules are in effect on (the opt-out cut-off)."""
    router = APIRouter(route_class=JsonRoute)

    @router.post(
        "/program-events",
        responses={**_CREATE_REFUSED, **_CONFLICT},
        openapi_extra=body_example(s.ProgramEventCreate, examples.PROGRAM_EVENT_CREATE),
    )
    async def create_program_event(body: s.ProgramEventCreate, _: Syncer) -> s.ProgramEventCreated:
        """Keep a scheduled DERMS stage as a program event: ``Created`` (Pending, then
        Scheduled at once), or ``Exists`` for the same stage again, unchanged."""
        event = m.NewProgramEvent(
            external_identifier=body.externalIdentifier,
            event_external_identifier=body.eventExternalIdentifier,
            program_external_identifier=body.programExternalIdentifier,
            category=body.programEventCategory,
            start=body.startDateTime,
            end=body.endDateTime,
        )
        done = await run_in_threadpool(
            service.create_program_event, db=db, clock=clock, event=event
        )
        return s.ProgramEventCreated(
            outcome=m.CreateOutcome(done.outcome), programEvent=_read(done.program_event)
        )

    @router.post(
        "/program-events/lifecycle",
        responses={**_UNKNOWN, **_ACTION_REFUSED, **_STATE},
        openapi_extra=body_example(s.LifecycleActionCreate, examples.PROGRAM_EVENT_LIFECYCLE),
    )
    async def apply_action(body: s.LifecycleActionCreate, _: Syncer) -> s.LifecycleResultRead:
        """Apply a lifecycle action to a stage's program event: ``Applied``, or ``Unchanged``
        when the event is in the action's state already, or past it."""
        done = await run_in_threadpool(
            service.apply_action,
            db=db,
            clock=clock,
            external_identifier=body.externalIdentifier,
            event_external_identifier=body.eventExternalIdentifier,
            action=body.action,
            cancel_reason=body.cancelReason or "",
        )
        return s.LifecycleResultRead(
            outcome=m.LifecycleOutcome(done.outcome), programEvent=_read(done.program_event)
        )

    @router.get("/program-events")
    async def list_program_events(
        _: Reader,
        program: Annotated[str, Query(max_length=80)] = "",
        eventExternalIdentifier: Filter = "",
        externalIdentifier: Filter = "",
        state: m.ProgramEventState | None = None,
        id: Annotated[str, Query(max_length=ID)] = "",
        after: Annotated[str | None, Query(max_length=ID + 50)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> s.ProgramEventPage:
        """Program events, the latest start first, narrowed by program code, DERMS event id,
        stage id, state or cpm's id."""
        narrowed = service.ProgramEventFilter(
            program_code=program.strip(),
            event_external_identifier=eventExternalIdentifier.strip(),
            external_identifier=externalIdentifier.strip(),
            state=state,
            program_event_id=id.strip(),
        )
        page = await run_in_threadpool(
            service.list_program_events, db=db, narrowed=narrowed, after=after, limit=limit
        )
        return s.ProgramEventPage(items=[_read(v) for v in page.items], next=page.next)

    @router.get("/program-events/{program_event_id}", responses=_UNKNOWN)
    async def get_program_event(
        program_event_id: Annotated[str, Path(max_length=ID)], _: Reader
    ) -> s.ProgramEventDetailRead:
        """One program event with its history, oldest first, and its participations' counts
        by state."""
        view = await run_in_threadpool(
            service.get_program_event, db=db, program_event_id=program_event_id
        )
        return s.ProgramEventDetailRead(
            **_read(view).model_dump(),
            participations={p.ParticipationState(k): n for k, n in view.participations.items()},
            history=[
                s.TransitionRead(
                    at=t.at,
                    action=t.action,
                    fromState=t.from_state,
                    toState=t.to_state,
                    detail=t.detail,
                )
                for t in view.history
            ],
        )

    @router.post(
        "/program-events/reservations",
        response_model=s.ReservationResultsRead,
        responses={**_UNKNOWN, **_RESERVE_REFUSED, **_RESERVE_STATE},
        openapi_extra=json_body_schema(s.ReservationsCreate, s.RESERVATION_EXAMPLE),
    )
    async def reserve_devices(request: Request, _: Syncer) -> Response:
        """Reserve a stage's devices (EVT-RESERVE): one result per device, in order,
        ``Reserved``, ``Exists`` (reserved before: no second effect) or ``Rejected`` with a
        code; the others go on."""
        # The hot path of EVT-RESERVE (collections of 5,000): the body is parsed and validated
        # in one pass by pydantic's JSON parser and the answer written by orjson, as the
        # acknowledgements' collections are.
        body = await parse_json_body(s.ReservationsCreate, await request.body())
        done = await run_in_threadpool(
            participations.reserve_devices,
            db=db,
            clock=clock,
            external_identifier=body.externalIdentifier,
            event_external_identifier=body.eventExternalIdentifier,
            devices=[
                p.RequestedDevice(
                    d.headEndSystem, d.nicId, d.reservationStartDateTime, d.reservationEndDateTime
                )
                for d in body.deviceList
            ],
        )
        results = [
            {"headEndSystem": r.head_end_system, "nicId": r.nic_id, "outcome": r.outcome.value,
             "code": r.code, "detail": r.detail, "participationId": r.participation_id}
            for r in done
        ]  # fmt: skip
        return Response(orjson.dumps({"results": results}), media_type="application/json")

    @router.post(
        "/program-events/outcomes",
        response_model=s.OutcomeResultsRead,
        responses={**_UNKNOWN, **_OUTCOMES_REFUSED},
        openapi_extra=json_body_schema(s.OutcomesCreate, s.OUTCOMES_EXAMPLE),
    )
    async def post_outcomes(request: Request, _: Syncer) -> Response:
        """Record a stage's device outcomes (EVT-OUTCOME, Oracle's post event outcome): one
        result per device, in order, ``Recorded`` (the participation is OutcomeRecorded),
        ``Exists`` (the same outcome recorded before: no second effect) or ``Rejected`` with a
        code (CPM-OUTCOME-INVALID, CPM-PARTICIPATION-UNKNOWN, CPM-PARTICIPATION-STATE,
        CPM-OUTCOME-RECORDED); the others go on."""
        body = await parse_json_body(s.OutcomesCreate, await request.body())
        done = await run_in_threadpool(
            outcome_service.record_outcomes,
            db=db,
            clock=clock,
            external_identifier=body.externalIdentifier,
            event_external_identifier=body.eventExternalIdentifier,
            file_name=body.fileName,
            outcomes=[
                outcome.PostedOutcome(
                    d.headEndSystem, d.nicId, d.outcome, d.errorMessage,
                    d.participationStartDateTime, d.participationEndDateTime, d.measuredKw,
                )
                for d in body.postOutcomeList
            ],
        )  # fmt: skip
        results = [
            {"headEndSystem": r.head_end_system, "nicId": r.nic_id, "outcome": r.result.value,
             "code": r.code, "detail": r.detail, "participationId": r.participation_id}
            for r in done
        ]  # fmt: skip
        return Response(orjson.dumps({"results": results}), media_type="application/json")

    @router.get("/program-events/{program_event_id}/participations", responses=_UNKNOWN)
    async def list_participations(
        program_event_id: Annotated[str, Path(max_length=ID)],
        _: Reader,
        state: p.ParticipationState | None = None,
        nicId: NicId = "",
        deviceId: DeviceId = "",
        after: After = None,
        limit: Limit = 100,
    ) -> s.ParticipationPage:
        """A program event's participations in device key order (head-end system, NIC id),
        narrowed by state, NIC id or cpm's device id."""
        page = await run_in_threadpool(
            participations.participations_of_event,
            db=db,
            zone=zone,
            program_event_id=program_event_id,
            narrowed=participations.ParticipationFilter(
                device_id=deviceId.strip(), nic_id=nicId.strip(), state=state
            ),
            after=after,
            limit=limit,
        )
        return s.ParticipationPage(
            items=[s.ParticipationRead(**_participation(v)) for v in page.items], next=page.next
        )

    @router.get("/participations")
    async def event_history(
        _: Reader,
        deviceId: DeviceId = "",
        headEndSystem: Annotated[str, Query(max_length=p.MAX_HEAD_END_SYSTEM)] = "",
        nicId: NicId = "",
        subscriptionId: Annotated[str, Query(max_length=ID)] = "",
        state: p.ParticipationState | None = None,
        after: After = None,
        limit: Limit = 100,
    ) -> s.ParticipationHistoryPage:
        """A device's event history, the newest reservation first: its participations, by
        cpm's device id, its NIC id (with its head-end system) or its subscription."""
        narrowed = participations.ParticipationFilter(
            device_id=deviceId.strip(),
            head_end_system=headEndSystem.strip(),
            nic_id=nicId.strip(),
            subscription_id=subscriptionId.strip(),
            state=state,
        )
        if not narrowed.names_a_device:
            raise RequestValidationError(
                [{"loc": ("query", "deviceId"), "type": "missing",
                  "msg": "name the device: deviceId, nicId (with headEndSystem) or "
                         "subscriptionId"}]
            )  # fmt: skip
        page = await run_in_threadpool(
            participations.event_history,
            db=db,
            zone=zone,
            narrowed=narrowed,
            after=after,
            limit=limit,
        )
        return s.ParticipationHistoryPage(
            items=[
                s.ParticipationHistoryRead(
                    **_participation(v),
                    programEventState=v.program_event_state,
                    programEventCategory=v.program_event_category,
                )
                for v in page.items
            ],
            next=page.next,
        )

    @router.post(
        "/participations/{participation_id}/opt-out",
        responses={**_PARTICIPATION_UNKNOWN, **_OPT_OUT_REFUSED},
        openapi_extra=body_example(s.OptOutCreate, s.OPT_OUT_CREATE_EXAMPLE),
    )
    async def opt_out(
        participation_id: ParticipationId, body: s.OptOutCreate, client: Writer
    ) -> s.OptOutResultRead:
        """Opt a Reserved participation out of its program event before the cut-off, as the
        calling client: ``OptedOut``, its OPT-OUT message on its way to DERMS; ``Unchanged``
        for one opted out already (no second message)."""
        done = await run_in_threadpool(
            opt_outs.opt_out,
            db=db,
            clock=clock,
            zone=zone,
            participation_id=participation_id,
            channel=body.channel,
            actor=client.client_id,
            reason=body.reason,
        )
        return s.OptOutResultRead(
            outcome=done.outcome,
            participation=s.ParticipationRead(**_participation(done.participation)),
        )

    @router.post(
        "/participations/{participation_id}/opt-out/resend",
        responses={**_PARTICIPATION_UNKNOWN, **_RESEND_STATE},
    )
    async def resend_opt_out(participation_id: ParticipationId, _: Admin) -> s.ParticipationRead:
        """Send an opted-out participation's opt-out to DERMS again, as the next version: after
        DERMS refused it (Error) or never answered (Pending)."""
        view = await run_in_threadpool(
            opt_outs.resend_opt_out,
            db=db,
            clock=clock,
            zone=zone,
            participation_id=participation_id,
        )
        return s.ParticipationRead(**_participation(view))

    @router.post(
        "/participations/opt-out-acknowledgements",
        openapi_extra=body_example(s.OptOutAcks, s.OPT_OUT_ACKS_EXAMPLE),
    )
    async def acknowledge_opt_outs(body: s.OptOutAcks, _: Syncer) -> s.OptOutAckResults:
        """DERMS's answers to opt-outs, through the hub (OPT-OUT): one result each, in order,
        ``Applied``, ``Stale`` or ``Rejected``, as master data's are."""
        results = await run_in_threadpool(
            opt_outs.acknowledge, db=db, acks=_answers(body.acknowledgements)
        )
        return s.OptOutAckResults(results=[s.OptOutAckResult.model_validate(r) for r in results])

    # -- unavailability (UNAVAIL) -------------------------------------------------------------

    @router.post(
        "/devices/{device_id}/unavailabilities",
        status_code=201,
        responses={**_DEVICE_UNKNOWN, **_UNAVAILABILITY_INVALID},
        openapi_extra=body_example(s.UnavailabilityCreate, s.UNAVAILABILITY_CREATE_EXAMPLE),
    )
    async def add_unavailability(
        device_id: Annotated[str, Path(max_length=ID)], body: s.UnavailabilityCreate, client: Writer
    ) -> s.UnavailabilityRead:
        """Add a device's unavailability period as the calling client: Active, version 1, its
        UNAVAIL message on its way to DERMS."""
        view = await run_in_threadpool(
            unavailabilities.add_unavailability,
            db=db,
            clock=clock,
            device_id=device_id,
            period=u.Period(body.start, body.end, body.reason),
            actor=client.client_id,
        )
        return _unavailability(view)

    @router.get("/unavailabilities")
    async def list_unavailabilities(
        _: Reader,
        deviceId: DeviceId = "",
        nicId: NicId = "",
        status: u.UnavailabilityStatus | None = None,
        after: After = None,
        limit: Limit = 100,
    ) -> s.UnavailabilityPage:
        """Unavailability periods, the latest start first, narrowed by cpm's device id, NIC id
        or status."""
        page = await run_in_threadpool(
            unavailabilities.list_unavailabilities,
            db=db,
            narrowed=unavailabilities.UnavailabilityFilter(
                device_id=deviceId.strip(), nic_id=nicId.strip(), status=status
            ),
            after=after,
            limit=limit,
        )
        return s.UnavailabilityPage(items=[_unavailability(v) for v in page.items], next=page.next)

    @router.get("/unavailabilities/{unavailability_id}", responses=_UNAVAILABILITY_UNKNOWN)
    async def get_unavailability(
        unavailability_id: UnavailabilityId, _: Reader
    ) -> s.UnavailabilityRead:
        """One unavailability period, and what DERMS holds of it."""
        view = await run_in_threadpool(
            unavailabilities.get_unavailability, db=db, unavailability_id=unavailability_id
        )
        return _unavailability(view)

    @router.patch(
        "/unavailabilities/{unavailability_id}",
        responses={
            **_UNAVAILABILITY_UNKNOWN,
            **_UNAVAILABILITY_CANCELED,
            **_UNAVAILABILITY_INVALID,
        },
        openapi_extra=body_example(s.UnavailabilityUpdate, s.UNAVAILABILITY_UPDATE_EXAMPLE),
    )
    async def edit_unavailability(
        unavailability_id: UnavailabilityId, body: s.UnavailabilityUpdate, client: Writer
    ) -> s.UnavailabilityEdited:
        """Edit an Active period's start, end or reason as the calling client: ``Changed``, its
        next version on its way to DERMS; ``Unchanged`` when the edit names what the period
        holds (no new version, no message)."""
        done = await run_in_threadpool(
            unavailabilities.edit_unavailability,
            db=db,
            clock=clock,
            unavailability_id=unavailability_id,
            change=u.PeriodChange(body.start, body.end, body.reason),
            actor=client.client_id,
        )
        return s.UnavailabilityEdited(
            outcome=done.outcome, unavailability=_unavailability(done.unavailability)
        )

    @router.post(
        "/unavailabilities/{unavailability_id}/cancel",
        responses={**_UNAVAILABILITY_UNKNOWN, **_UNAVAILABILITY_CANCELED},
    )
    async def cancel_unavailability(
        unavailability_id: UnavailabilityId, client: Writer
    ) -> s.UnavailabilityCanceled:
        """Cancel an Active period as the calling client: ``Canceled``, its next version
        (status CANCELED) on its way to DERMS."""
        view = await run_in_threadpool(
            unavailabilities.cancel_unavailability,
            db=db,
            clock=clock,
            unavailability_id=unavailability_id,
            actor=client.client_id,
        )
        return s.UnavailabilityCanceled(
            outcome=u.CancelOutcome.CANCELED, unavailability=_unavailability(view)
        )

    @router.post(
        "/unavailabilities/{unavailability_id}/resend",
        responses={**_UNAVAILABILITY_UNKNOWN, **_UNAVAILABILITY_RESEND_STATE},
    )
    async def resend_unavailability(
        unavailability_id: UnavailabilityId, _: Admin
    ) -> s.UnavailabilityRead:
        """Send a period to DERMS again, as the next version: after DERMS refused it (Error) or
        never answered (Pending)."""
        view = await run_in_threadpool(
            unavailabilities.resend_unavailability,
            db=db,
            clock=clock,
            unavailability_id=unavailability_id,
        )
        return _unavailability(view)

    @router.post(
        "/unavailabilities/acknowledgements",
        openapi_extra=body_example(s.UnavailabilityAcks, s.UNAVAILABILITY_ACKS_EXAMPLE),
    )
    async def acknowledge_unavailabilities(
        body: s.UnavailabilityAcks, _: Syncer
    ) -> s.UnavailabilityAckResults:
        """DERMS's answers to unavailability periods, through the hub (UNAVAIL): one result
        each, in order, ``Applied``, ``Stale`` or ``Rejected``, as opt-outs' are."""
        results = await run_in_threadpool(
            unavailabilities.acknowledge, db=db, acks=_answers(body.acknowledgements)
        )
        return s.UnavailabilityAckResults(
            results=[s.UnavailabilityAckResult.model_validate(r) for r in results]
        )

    return router


def _answers(
    acks: Sequence[s.OptOutAckCreate] | Sequence[s.UnavailabilityAckCreate],
) -> list[MasterDataAck]:
    """DERMS's answers through the hub, as the services record them."""
    return [
        MasterDataAck(a.kind, a.code, a.version, a.status == "SUCCESS", a.errorCode, a.message)
        for a in acks
    ]


def _unavailability(v: unavailabilities.UnavailabilityView) -> s.UnavailabilityRead:
    return s.UnavailabilityRead(
        id=v.unavailability_id,
        deviceId=v.device_id,
        headEndSystem=v.head_end_system,
        nicId=v.nic_id,
        start=v.start,
        end=v.end,
        reason=v.reason,
        status=v.status,
        version=v.version,
        createdAt=v.created_at,
        createdBy=v.created_by,
        updatedAt=v.updated_at,
        updatedBy=v.updated_by,
        dermsVersion=v.derms_version,
        dermsSync=v.derms_sync.value,
        dermsDetail=v.derms_detail,
    )


def _participation(v: participations.ParticipationView) -> dict[str, Any]:
    return {
        "id": v.participation_id,
        "programEventId": v.program_event_id,
        "externalIdentifier": v.external_identifier,
        "eventExternalIdentifier": v.event_external_identifier,
        "programCode": v.program_code,
        "deviceId": v.device_id,
        "subscriptionId": v.subscription_id,
        "headEndSystem": v.head_end_system,
        "nicId": v.nic_id,
        "reservationStartDateTime": v.reservation_start,
        "reservationEndDateTime": v.reservation_end,
        "state": v.state,
        "reserved": v.reserved,
        "outcome": v.outcome,
        "preemptiveOptOut": v.preemptive_opt_out,
        "createdAt": v.created_at,
        "updatedAt": v.updated_at,
        "optOut": _opt_out(v.opt_out) if v.opt_out else None,
        "optOutCutoff": (
            s.CutoffRead(at=m.utc_text(v.cutoff.at), minutes=v.cutoff.minutes) if v.cutoff else None
        ),
        "outcomeDetail": (
            s.OutcomeDetailRead(
                errorMessage=d.error_message,
                participationStartDateTime=d.participation_start,
                participationEndDateTime=d.participation_end,
                measuredKw=d.measured_kw,
                recordedAt=d.recorded_at,
                fileName=d.file_name,
            )
            if (d := v.outcome_detail)
            else None
        ),
    }


def _opt_out(o: participations.OptOutView) -> s.OptOutRead:
    return s.OptOutRead(
        at=o.at,
        channel=o.channel,
        by=o.by,
        reason=o.reason,
        version=o.version,
        dermsVersion=o.derms_version,
        dermsSync=o.derms_sync.value if o.derms_sync else None,
        dermsDetail=o.derms_detail,
    )


def _read(v: service.ProgramEventView) -> s.ProgramEventRead:
    return s.ProgramEventRead(
        id=v.program_event_id,
        externalIdentifier=v.external_identifier,
        eventExternalIdentifier=v.event_external_identifier,
        programCode=v.program_code,
        programExternalIdentifier=v.program_external_identifier,
        programEventCategory=v.category,
        startDateTime=v.start,
        endDateTime=v.end,
        state=v.state,
        cancelReason=v.cancel_reason,
        createdAt=v.created_at,
        updatedAt=v.updated_at,
    )
