"""Events' HTTP API (docs/contracts/derms-events.md): thin routes only.

Reads need ``derms:read``; keeping strategy types and strategies and creating, submitting,
scheduling and canceling events need ``derms:events``; approving or denying ``derms:approve``;
the balance authority's approval ``derms:ba-approve``. The actor of every audited action is the
calling client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query
from starlette.concurrency import run_in_threadpool

from derlink.common.clock import Clock
from derlink.common.errors import BusinessError
from derlink.derms import scopes
from derlink.derms.db import CODE, EXT
from derlink.derms.events import (
    model,
    opt_outs,
    outcome_files,
    planning,
    reservations,
    schemas,
    service,
    status,
    unavailability,
)
from derlink.derms.events.stage_inputs import ManualWindow
from derlink.derms.events.tables import ID
from derlink.derms.events.tables import reservations as reservation_rows
from derlink.derms.masterdata.schemas import Result, Results
from derlink.platform.auth import Client
from derlink.platform.database import Database
from derlink.platform.intake.driver import FileIntake
from derlink.platform.openapi import body_example, documented_error
from derlink.platform.web import JsonRoute, require

Reader = Annotated[Client, Depends(require(scopes.READ))]
Planner = Annotated[Client, Depends(require(scopes.EVENTS))]
Approver = Annotated[Client, Depends(require(scopes.APPROVE))]
BaApprover = Annotated[Client, Depends(require(scopes.BA_APPROVE))]
Hub = Annotated[Client, Depends(require(scopes.SYNC))]
EventId = Annotated[str, Path(min_length=1, max_length=ID)]
TypeCode = Annotated[str, Path(min_length=1, max_length=CODE, pattern=r"^[A-Z0-9_-]+$")]

#: Tells the balance authority an event awaits its approval: ``notify(event, peak MW)``.
Notify = Callable[[model.Event, float], Awaitable[None]]

_UNKNOWN_EVENT = documented_error(
    404, "derms holds no such event.", "derms holds no event EV-9", "DL-NOT-FOUND"
)
_UNKNOWN_STRATEGY = documented_error(
    404, "derms holds no such strategy.", "derms holds no strategy ST-9", "DL-NOT-FOUND"
)
_UNKNOWN_TYPE = documented_error(
    404, "derms holds no such strategy type.", "derms holds no strategy type 'PEAK'",
    "DL-NOT-FOUND",
)  # fmt: skip
_UNKNOWN_STAGE = documented_error(
    404, "derms holds no such stage.", "derms holds no stage SG-9", "DL-NOT-FOUND"
)
_BAD_STRATEGY = documented_error(
    422,
    "The strategy does not hold together: a blank name or zone, an unknown type or program, a "
    "zone that is not a network node in force, an objective's figures missing or out of range, "
    "or an Archived strategy.",
    "programs BYOT-X are not programs derms holds (PROG-RULE brings them)",
    model.STRATEGY_INVALID,
)
_BAD_EVENT = documented_error(
    422,
    "The event does not hold together: a blank name, an end not after its start, an "
    "objective's figures missing or out of range, an Archived strategy, or (on submit) no stage.",
    "end 2026-07-17T22:00:00+00:00 is not after start 2026-07-18T02:00:00+00:00",
    model.EVENT_INVALID,
)
_STATE = documented_error(
    409,
    "The event's state does not allow the action (or the approval was given already).",
    "event EV-9 is Completed: it can be canceled only when Approved or In Progress or New or "
    "Scheduled or Submitted",
    model.EVENT_STATE,
)


def _maybe(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _detail(view: service.EventView) -> schemas.EventDetail:
    return schemas.EventDetail.of_view(view.event, view.stages)


def _decision(done: service.Decided) -> schemas.Decision:
    return schemas.Decision(event=_detail(done.view), preempted=list(done.preempted))


def _manual(w: schemas.ManualWindowWrite) -> ManualWindow:
    try:
        return ManualWindow(w.program, w.start, w.end)
    except ValueError as exc:
        raise BusinessError(str(exc), code=model.EVENT_INVALID) from None


def create_router(
    *,
    db: Database,
    clock: Clock,
    ba_threshold_mw: float,
    notify_ba: Notify,
    zone: ZoneInfo,
    outcome_intake: FileIntake,
) -> APIRouter:
    """Events' routes of derms's API, bound to its database and clock, the balance-authority
    threshold, who to tell when an event awaits the balance authority, and the head-end
    outcome intake."""
    router = APIRouter(route_class=JsonRoute)

    async def call(fn: Callable[..., Any], **kwargs: Any) -> Any:
        return await run_in_threadpool(fn, db=db, **kwargs)

    async def acknowledge(
        record: Callable[..., list[tuple[str, str]]], body: schemas.EventAck
    ) -> schemas.StatusAckResults:
        """The hub's acknowledgement of an event flow's messages, kept by ``record``: one
        result per response."""
        answers = [
            status.AckAnswer(r.dacsMessageId or r.id, r.responseCode, r.value or "")
            for r in body.responses
        ]
        done = await call(record, clock=clock, answers=answers)
        return schemas.StatusAckResults(
            results=[schemas.StatusAckResult(messageId=m, outcome=o) for m, o in done]
        )

    # --- Strategy types ------------------------------------------------------------------

    @router.put(
        "/strategy-types/{code}",
        responses=documented_error(422, "A blank name.", "name is blank", model.STRATEGY_INVALID),
        openapi_extra=body_example(
            schemas.StrategyTypeWrite, {"name": "System peak", "priority": 50, "baChecked": True}
        ),
    )
    async def put_strategy_type(
        code: TypeCode, body: schemas.StrategyTypeWrite, _: Planner
    ) -> schemas.StrategyTypeRead:
        """Create or replace a strategy type (the same answer either way: a repeated call
        changes nothing more). Events created before keep the priority and check they were
        created with."""
        kind = body.to_domain(code)
        await run_in_threadpool(service.put_strategy_type, db=db, clock=clock, kind=kind)
        return schemas.StrategyTypeRead.of(kind)

    @router.get("/strategy-types")
    async def strategy_types(_: Reader) -> list[schemas.StrategyTypeRead]:
        """Every strategy type, by code."""
        found = await call(service.list_strategy_types)
        return [schemas.StrategyTypeRead.of(t) for t in found]

    @router.get("/strategy-types/{code}", responses=_UNKNOWN_TYPE)
    async def strategy_type(code: TypeCode, _: Reader) -> schemas.StrategyTypeRead:
        return schemas.StrategyTypeRead.of(await call(service.get_strategy_type, code=code))

    # --- Strategies ------------------------------------------------------------------------

    @router.post(
        "/strategies",
        status_code=201,
        responses=_BAD_STRATEGY,
        openapi_extra=body_example(schemas.StrategyWrite, schemas.STRATEGY_EXAMPLE),
    )
    async def create_strategy(body: schemas.StrategyWrite, _: Planner) -> schemas.StrategyRead:
        """Keep a new strategy, Active: a template events are created from."""
        done = await call(service.create_strategy, clock=clock, draft=body.to_domain())
        return schemas.StrategyRead.of(done)

    @router.get("/strategies")
    async def strategies(
        _: Reader, state: Annotated[model.StrategyState | None, Query()] = None
    ) -> list[schemas.StrategyRead]:
        """Every strategy (of ``state``, when given), by id."""
        found = await call(service.list_strategies, state=state)
        return [schemas.StrategyRead.of(s) for s in found]

    @router.get("/strategies/{strategyId}", responses=_UNKNOWN_STRATEGY)
    async def strategy(strategyId: EventId, _: Reader) -> schemas.StrategyRead:
        return schemas.StrategyRead.of(await call(service.get_strategy, strategy_id=strategyId))

    @router.put(
        "/strategies/{strategyId}",
        responses={**_UNKNOWN_STRATEGY, **_BAD_STRATEGY},
        openapi_extra=body_example(schemas.StrategyWrite, schemas.STRATEGY_EXAMPLE),
    )
    async def update_strategy(
        strategyId: EventId, body: schemas.StrategyWrite, _: Planner
    ) -> schemas.StrategyRead:
        """Replace an Active strategy's fields; its events keep what they were created with."""
        done = await call(
            service.update_strategy, clock=clock, strategy_id=strategyId, draft=body.to_domain()
        )
        return schemas.StrategyRead.of(done)

    @router.post("/strategies/{strategyId}/archive", responses=_UNKNOWN_STRATEGY)
    async def archive_strategy(strategyId: EventId, _: Planner) -> schemas.StrategyRead:
        """Archive a strategy: no new event may come from it; its events go on."""
        done = await call(service.archive_strategy, clock=clock, strategy_id=strategyId)
        return schemas.StrategyRead.of(done)

    # --- Events ----------------------------------------------------------------------------

    @router.post(
        "/events",
        status_code=201,
        responses={**_UNKNOWN_STRATEGY, **_BAD_EVENT},
        openapi_extra=body_example(schemas.EventCreate, schemas.EVENT_CREATE_EXAMPLE),
    )
    async def create_event(body: schemas.EventCreate, client: Planner) -> schemas.EventDetail:
        """A New event from an Active strategy over a window, with the strategy's objective
        unless it gives its own."""
        event = await call(
            service.create_event,
            clock=clock,
            strategy_id=body.strategyId,
            name=body.name,
            event_type=body.type,
            start=body.start,
            end=body.end,
            target=body.target.to_domain() if body.target else None,
            actor=client.client_id,
        )
        return schemas.EventDetail.of_view(event, ())

    @router.get("/events")
    async def events(
        _: Reader,
        state: Annotated[model.EventState | None, Query()] = None,
        strategyId: Annotated[str | None, Query(max_length=ID)] = None,
        program: Annotated[str | None, Query(max_length=80)] = None,
        after: Annotated[datetime | None, Query(description="Windows ending after it.")] = None,
        before: Annotated[datetime | None, Query(description="Windows starting before it.")] = None,
        cursor: Annotated[str | None, Query(max_length=120)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> schemas.EventPage:
        """A page of events, the latest window first, filtered by state, strategy, program and
        window."""
        query = service.EventQuery(state, strategyId, program, after, before)
        page, nxt = await call(service.list_events, query=query, cursor=cursor, limit=limit)
        return schemas.EventPage(items=[schemas.EventRead.of(e, ()) for e in page], next=nxt)

    @router.get("/events/{eventId}", responses=_UNKNOWN_EVENT)
    async def event(eventId: EventId, _: Reader) -> schemas.EventDetail:
        """One event with its stages."""
        return _detail(await call(service.get_event, event_id=eventId))

    @router.get("/events/{eventId}/audit", responses=_UNKNOWN_EVENT)
    async def event_audit(eventId: EventId, _: Reader) -> list[schemas.AuditRead]:
        """The event's audit trail, oldest first: every action, with its actor."""
        return [schemas.AuditRead.of(a) for a in await call(service.audit_trail, event_id=eventId)]

    @router.get("/events/{eventId}/transitions", responses=_UNKNOWN_EVENT)
    async def event_transitions(eventId: EventId, _: Reader) -> list[schemas.TransitionRead]:
        """Every transition of the event's stages in the order they were due, each with where
        its message to cpm (EVT-STATUS) stands."""
        await call(service.get_event, event_id=eventId)
        return [
            schemas.TransitionRead(
                stageId=t.move.stage_id,
                fromState=t.move.from_state,
                toState=t.move.to_state,
                due=t.move.due,
                recordedAt=t.recorded_at,
                messageId=status.message_id(t.move.stage_id, t.move.to_state)
                if t.cpm is not None
                else None,
                cpm=t.cpm.value if t.cpm is not None else None,
                cpmDetail=t.cpm_detail,
                cpmAt=t.cpm_at,
            )
            for t in await call(status.transitions, event_id=eventId)
        ]

    @router.get("/stages/{stageId}/reservations", responses=_UNKNOWN_STAGE)
    async def stage_reservations(
        stageId: EventId,
        _: Reader,
        after: Annotated[str | None, Query(max_length=170)] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
        state: reservations.ReservationState | None = None,
    ) -> schemas.ReservationPage:
        """A page of a stage's reservations by head-end system and NIC id: each device reserved
        when the stage was Scheduled, its state (Reserved, Dispatched, Closed, Released) and,
        when released, why."""
        head_end, _bang, nic = (after or "").partition("!")
        rows, nxt = await call(
            service.stage_device_page, stage_id=stageId, after=(head_end, nic) if after else None,
            limit=limit, table=reservation_rows,
            state=state.value if state is not None else None,
        )  # fmt: skip
        return schemas.ReservationPage(
            items=[
                schemas.ReservationRead(
                    headEndSystem=r.head_end_system,
                    nicId=r.nic_id,
                    deviceId=r.device_id,
                    spId=r.sp_id,
                    feederId=r.feeder_id,
                    program=r.program,
                    start=datetime.fromisoformat(r.start_at),
                    end=datetime.fromisoformat(r.end_at),
                    state=r.state,
                    reason=r.reason,
                    outcome=r.outcome,
                    errorMessage=r.error_message,
                    participationStart=_maybe(r.participation_start_at),
                    participationEnd=_maybe(r.participation_end_at),
                    measuredKw=r.measured_kw,
                    outcomeAt=_maybe(r.outcome_at),
                    outcomeSource=r.outcome_source,
                    fileSeq=r.file_seq,
                    recordId=r.record_id,
                )
                for r in rows
            ],
            next="!".join(nxt) if nxt else None,
        )

    @router.get("/events/{eventId}/reservation-files", responses=_UNKNOWN_EVENT)
    async def reservation_files(eventId: EventId, _: Reader) -> list[schemas.ReservationFileRead]:
        """The event's reservation files (EVT-RESERVE), by stage and seq: written, sent and
        what cpm made of each."""
        await call(service.get_event, event_id=eventId)
        return [
            schemas.ReservationFileRead(
                stageId=f.stage_id,
                seq=f.seq,
                messageId=reservations.message_id(f.stage_id, f.seq),
                fileName=f.file_name,
                rows=f.rows,
                state=f.state.value,
                detail=f.detail,
                createdAt=f.created_at,
                sentAt=f.sent_at,
                ackedAt=f.acked_at,
            )
            for f in await call(reservations.files_of, event_id=eventId)
        ]

    @router.post(
        "/acks/event-reservations",
        openapi_extra=body_example(schemas.EventAck, schemas.RESERVATION_ACK_EXAMPLE),
    )
    async def event_reservation_ack(body: schemas.EventAck, _: Hub) -> schemas.StatusAckResults:
        """The hub's acknowledgement of EVT-RESERVE messages, one response per reservation file:
        SUCCESS with the counts, or the code with the counts and the first refusals (cpm did
        not take every row), or FAILURE (the file did not reach cpm). Kept on the file; a file
        not taken whole in the event's audit trail too."""
        return await acknowledge(reservations.record_acks, body)

    @router.post(
        "/opt-outs",
        openapi_extra=body_example(
            schemas.OptOutBatch,
            {"batchId": "hub-opt-out-000012", "optOuts": [schemas.OPT_OUT_EXAMPLE]},
        ),
    )
    async def receive_opt_outs(body: schemas.OptOutBatch, _: Hub) -> Results:
        """OPT-OUT: keep each newer opt-out and release the device's reservation of the stage;
        a Scheduled stage it leaves is then reviewed against its target (and backfilled). One
        result per record: Applied, Stale (a version not newer than the one held) or Rejected
        (DERMS-STAGE-UNKNOWN, DERMS-RESERVATION-UNKNOWN)."""
        records = [
            opt_outs.OptOut(
                dacs_message_id=r.dacsMessageId,
                participation_id=r.participationId,
                event_id=r.eventExternalIdentifier,
                stage_id=r.externalIdentifier,
                head_end_system=r.headEndSystem,
                nic_id=r.nicId,
                opted_out_at=r.optOutDateTime,
                channel=r.channel,
                version=r.version,
            )
            for r in body.optOuts
        ]
        done = await call(opt_outs.apply_opt_outs, clock=clock, records=records)
        return Results(results=[Result.of(r) for r in done])

    @router.get("/events/{eventId}/opt-outs", responses=_UNKNOWN_EVENT)
    async def event_opt_outs(eventId: EventId, _: Reader) -> list[schemas.OptOutRead]:
        """The opt-outs cpm sent of the event's stages, by stage and device, and what each did
        to the device's reservation."""
        await call(service.get_event, event_id=eventId)
        return [
            schemas.OptOutRead(
                participationId=o.participation_id,
                version=o.version,
                stageId=o.stage_id,
                headEndSystem=o.head_end_system,
                nicId=o.nic_id,
                channel=o.channel,
                optedOutAt=o.opted_out_at,
                receivedAt=o.received_at,
                effect=o.effect,
            )
            for o in await call(opt_outs.opt_outs_of, event_id=eventId)
        ]

    @router.post(
        "/unavailabilities",
        openapi_extra=body_example(
            schemas.UnavailabilityBatch,
            {"batchId": "hub-unavail-000003", "unavailabilities": [schemas.UNAVAILABILITY_EXAMPLE]},
        ),
    )
    async def receive_unavailabilities(body: schemas.UnavailabilityBatch, _: Hub) -> Results:
        """UNAVAIL: keep each newer version of a customer's unavailability period; an Active
        one releases the device's reservations of Scheduled stages it overlaps (outcome D1CN)
        and stage generation leaves the device out of the stages it overlaps. One result per
        record: Applied, Stale (a version not newer than the one held) or Rejected
        (DERMS-UNAVAILABILITY-INVALID)."""
        records = [
            unavailability.Unavailability(
                dacs_message_id=r.dacsMessageId,
                unavailability_id=r.unavailabilityId,
                head_end_system=r.headEndSystem,
                nic_id=r.nicId,
                start=r.start,
                end=r.end,
                status=unavailability.Status(r.status),
                reason=r.reason,
                version=r.version,
            )
            for r in body.unavailabilities
        ]
        done = await call(unavailability.apply_unavailabilities, clock=clock, records=records)
        return Results(results=[Result.of(r) for r in done])

    @router.get("/unavailabilities")
    async def list_unavailabilities(
        _: Reader,
        nicId: Annotated[str | None, Query(max_length=EXT)] = None,
        headEndSystem: Annotated[str | None, Query(max_length=EXT)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[schemas.UnavailabilityRead]:
        """The customer unavailability periods DERMS holds, the latest start first (of one
        device when its NIC id, and head-end system, are given), and how many reservations
        each released."""
        found = await call(
            unavailability.list_unavailabilities,
            nic_id=nicId,
            head_end_system=headEndSystem,
            limit=limit,
        )
        return [
            schemas.UnavailabilityRead(
                unavailabilityId=v.unavailability_id,
                version=v.version,
                headEndSystem=v.head_end_system,
                nicId=v.nic_id,
                start=v.start,
                end=v.end,
                status=v.status.value,
                reason=v.reason,
                receivedAt=v.received_at,
                released=v.released,
            )
            for v in found
        ]

    @router.post("/outcome-files/intake")
    async def run_outcome_intake(_: Planner) -> schemas.OutcomeIntakeRead:
        """Take the head-end outcome files waiting in DERMS's head-end store now (the part's
        loop takes them every DERLINK_OUTCOME_INTAKE_INTERVAL_S too): each row recorded on
        its device's reservation or refused, every row answered in the acknowledgement."""
        return schemas.OutcomeIntakeRead(
            files=[schemas.OutcomeFileRead.of(s) for s in await outcome_intake.run_once()]
        )

    @router.get("/outcome-files")
    async def list_outcome_files(
        _: Reader,
        eventId: Annotated[str | None, Query(max_length=ID)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[schemas.OutcomeFileOut]:
        """DERMS's outcome files (EVT-OUTCOME), the latest first (those carrying a stage of
        ``eventId`` when given): the stages each carries, and what cpm and analytics made of
        it."""
        found = await call(outcome_files.files_of, event_id=eventId, limit=limit)
        return [
            schemas.OutcomeFileOut(
                seq=f.seq,
                messageId=outcome_files.message_id(f.seq),
                fileName=f.file_name,
                stageIds=f.stage_ids,
                rows=f.rows,
                state=f.state.value,
                detail=f.detail,
                createdAt=f.created_at,
                sentAt=f.sent_at,
                ackedAt=f.acked_at,
            )
            for f in found
        ]

    @router.post(
        "/acks/event-outcomes",
        openapi_extra=body_example(schemas.EventAck, schemas.OUTCOME_ACK_EXAMPLE),
    )
    async def event_outcome_ack(body: schemas.EventAck, _: Hub) -> schemas.StatusAckResults:
        """The hub's acknowledgement of EVT-OUTCOME messages, one response per outcome file:
        SUCCESS with the counts, or the code with the counts and the first refusals (cpm did
        not take every row, or the copy to analytics failed), or FAILURE. Kept on the file; a
        file not taken whole in the audit trail of each event it carries."""
        return await acknowledge(outcome_files.record_acks, body)

    @router.post("/events/{eventId}/transitions/resend", responses=_UNKNOWN_EVENT)
    async def resend_transitions(eventId: EventId, client: Planner) -> schemas.Resent:
        """Send cpm again every transition of the event's stages it did not take (Failed),
        once the cause is fixed; they show Pending until the hub acknowledges them."""
        sent = await call(
            service.resend_transitions, clock=clock, event_id=eventId, actor=client.client_id
        )
        return schemas.Resent(resent=sent)

    @router.post(
        "/acks/event-status",
        openapi_extra=body_example(schemas.EventAck, schemas.STATUS_ACK_EXAMPLE),
    )
    async def event_status_ack(body: schemas.EventAck, _: Hub) -> schemas.StatusAckResults:
        """The hub's acknowledgement of EVT-STATUS messages: SUCCESS for each transition cpm
        applied (its program event id in ``value``), another code for one it refused or could
        not be given; kept on the transition, a failure in the event's audit trail too."""
        return await acknowledge(status.record_acks, body)

    @router.get("/stages/{stageId}", responses=_UNKNOWN_STAGE)
    async def stage(stageId: EventId, _: Reader) -> schemas.StageRead:
        return schemas.StageRead.of(await call(service.get_stage, stage_id=stageId))

    @router.post(
        "/events/{eventId}/generate",
        responses={**_UNKNOWN_EVENT, **_BAD_EVENT, **_STATE},
        openapi_extra=body_example(schemas.GenerateWrite, schemas.GENERATE_EXAMPLE),
    )
    async def generate(
        eventId: EventId, body: schemas.GenerateWrite, client: Planner
    ) -> schemas.Generated:
        """Generate a New event's stages from its strategy: the candidates pass the hard
        rules, are ranked by expected reduction per cost, and fill the objective's need; the
        stages replace any earlier ones. The plan says what each rule left out and any
        shortfall."""
        ask = planning.Ask(
            step_s=body.intervalSeconds,
            zone_load_mw=tuple(body.zoneLoadMw),
            windows=tuple(_manual(w) for w in body.windows),
            target_mw=body.targetMw,
            optimise=body.optimise,
            time_limit_s=body.timeLimitSeconds,
        )
        done = await call(
            planning.generate, clock=clock, event_id=eventId, ask=ask, zone=zone,
            actor=client.client_id,
        )  # fmt: skip
        held = await call(service.get_plan, event_id=eventId)
        return schemas.Generated(
            event=_detail(done.view),
            plan=schemas.PlanRead.of(eventId, held.planned_at, held.planned_by, held.detail),
        )

    @router.get(
        "/events/{eventId}/plan",
        responses=documented_error(
            404,
            "derms holds no such event, or no generated plan of it.",
            "derms holds no generated plan of event EV-9",
            "DL-NOT-FOUND",
        ),
    )
    async def event_plan(eventId: EventId, _: Reader) -> schemas.PlanRead:
        """The plan the event's stages were generated from."""
        held = await call(service.get_plan, event_id=eventId)
        return schemas.PlanRead.of(eventId, held.planned_at, held.planned_by, held.detail)

    @router.get("/stages/{stageId}/devices", responses=_UNKNOWN_STAGE)
    async def stage_devices(
        stageId: EventId,
        _: Reader,
        after: Annotated[str | None, Query(max_length=170)] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    ) -> schemas.StageDevicePage:
        """A page of a stage's devices by head-end system and NIC id."""
        head_end, _bang, nic = (after or "").partition("!")
        key = (head_end, nic) if after else None
        rows, nxt = await call(service.stage_device_page, stage_id=stageId, after=key, limit=limit)
        return schemas.StageDevicePage(
            items=[
                schemas.StageDevice(
                    headEndSystem=r.head_end_system,
                    nicId=r.nic_id,
                    deviceId=r.device_id,
                    spId=r.sp_id,
                    feederId=r.feeder_id,
                )
                for r in rows
            ],
            next="!".join(nxt) if nxt else None,
        )

    @router.post("/events/{eventId}/submit", responses={**_UNKNOWN_EVENT, **_BAD_EVENT, **_STATE})
    async def submit(eventId: EventId, client: Planner) -> schemas.EventDetail:
        """New → Submitted. When the event's type is checked by the balance authority and its
        expected reduction with the other open checked events passes the threshold at any
        instant, the balance authority must approve it too (and hears of it)."""
        change = await call(
            service.submit_event,
            clock=clock,
            event_id=eventId,
            threshold_mw=ba_threshold_mw,
            actor=client.client_id,
        )
        if change.event.needs_ba:
            await notify_ba(change.event, model.peak_kw([change.stages]) / 1000)
        return schemas.EventDetail.of_view(change.event, change.stages)

    @router.post("/events/{eventId}/approve", responses={**_UNKNOWN_EVENT, **_STATE})
    async def approve(eventId: EventId, client: Approver) -> schemas.Decision:
        """Approve a Submitted event. Once it has every approval it needs it is Approved and
        scheduled at once: conflicting events of lower priority are preempted; one of equal or
        higher priority leaves it Approved (the audit trail says which)."""
        done = await call(
            service.approve_event, clock=clock, event_id=eventId, ba=False,
            actor=client.client_id,
        )  # fmt: skip
        return _decision(done)

    @router.post("/events/{eventId}/ba-approve", responses={**_UNKNOWN_EVENT, **_STATE})
    async def ba_approve(eventId: EventId, client: BaApprover) -> schemas.Decision:
        """The balance authority's approval of a Submitted event that needs it."""
        done = await call(
            service.approve_event, clock=clock, event_id=eventId, ba=True,
            actor=client.client_id,
        )  # fmt: skip
        return _decision(done)

    @router.post(
        "/events/{eventId}/deny",
        responses={**_UNKNOWN_EVENT, **_STATE},
        openapi_extra=body_example(schemas.ReasonWrite, {"reason": "Not needed: cooler forecast"}),
    )
    async def deny(
        eventId: EventId, body: schemas.ReasonWrite, client: Approver
    ) -> schemas.EventDetail:
        """Submitted → Denied, with the reason."""
        event = await call(
            service.deny_event, clock=clock, event_id=eventId, reason=body.reason,
            actor=client.client_id,
        )  # fmt: skip
        return _detail(await call(service.get_event, event_id=event.id))

    @router.post("/events/{eventId}/schedule", responses={**_UNKNOWN_EVENT, **_STATE})
    async def schedule(eventId: EventId, client: Planner) -> schemas.Decision:
        """Try again to schedule an Approved event a conflict held back."""
        done = await call(
            service.schedule_event, clock=clock, event_id=eventId, actor=client.client_id
        )
        return _decision(done)

    @router.post(
        "/events/{eventId}/cancel",
        responses={**_UNKNOWN_EVENT, **_STATE},
        openapi_extra=body_example(schemas.ReasonWrite, {"reason": "Feeder outage"}),
    )
    async def cancel(
        eventId: EventId, body: schemas.ReasonWrite, client: Planner
    ) -> schemas.EventDetail:
        """Cancel an open event with a reason; its stages not yet ended are canceled."""
        view = await call(
            service.cancel_event, clock=clock, event_id=eventId, reason=body.reason,
            actor=client.client_id,
        )  # fmt: skip
        return _detail(view)

    return router
