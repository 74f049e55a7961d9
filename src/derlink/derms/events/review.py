"""A Scheduled stage's review after opt-outs (docs/contracts/opt-outs.md): checked against its
target and, where its strategy allows, backfilled with the next devices of the planner's
ranking.

An opt-out that releases a reservation of a Scheduled stage marks the stage due for review;
the stage loop reviews the due stages, one at a time, each from a fresh read:

1. The target is the stage's planned curve (its P50, or P10 for a firm strategy); what it now
   expects is the same quantile over the devices it still holds, from the forecasts held now.
2. Where the expectation falls below target × (1 − ``STAGE_SHORTFALL_TOLERANCE``) in some
   interval, the event's audit trail takes an alert (``SHORTFALL``) with the figures.
3. When the strategy backfills, the planner takes the next eligible devices in its key order —
   never a device of the event already, nor one opted out of it — until the target is covered
   again; they join the stage's devices, are reserved and travel as a delta reservation file
   (the stage's next seq, its recordIds going on). The audit says how many (``BACKFILL``).

A stage that is no longer Scheduled when its review comes is not reviewed, and the audit says
so. A review that found an opt-out arriving while it ran leaves the stage due: the next pass
reviews it again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.common.clock import Clock
from derlink.derms.events import generation as gen
from derlink.derms.events import model, service
from derlink.derms.events.planning import stage_request
from derlink.derms.events.reservations import LIVE, reserve
from derlink.derms.events.stage_setup import TOL_KW, prepare
from derlink.derms.events.tables import opt_outs, reservations, stage_devices, stages
from derlink.platform.database import Database

log = logging.getLogger("derlink.derms")

#: How far below its target a stage's expected reduction may fall before the alert.
DEFAULT_TOLERANCE = 0.05


def mark_due(conn: Connection, stage_ids: Iterable[str], at: str) -> None:
    """Mark the stages due for review at ``at`` (a stage marked already keeps its time): the
    Scheduled stages a release (an opt-out, an unavailability) took a device from."""
    wanted = sorted(set(stage_ids))
    if wanted:
        conn.execute(
            stages.update()
            .where(
                stages.c.id.in_(wanted),
                stages.c.state == model.StageState.SCHEDULED.value,
                stages.c.review_due_at.is_(None),
            )
            .values(review_due_at=at)
        )


@dataclass(frozen=True, slots=True)
class Reviewed:
    stage_id: str
    event_id: str
    #: The lowest share of the target expected in an interval, before and after the backfill.
    before: float
    after: float
    short: bool
    added: int
    #: The delta file's line, or why the stage was not reviewed or topped up.
    detail: str


def review_stages(
    *, db: Database, clock: Clock, zone: ZoneInfo, tolerance: float = DEFAULT_TOLERANCE
) -> list[Reviewed]:
    """Review every stage due for review, the earliest marked first; a stage whose review
    fails is logged and stays due."""
    with db.read() as conn:
        due = conn.execute(
            sa.select(stages.c.id, stages.c.review_due_at)
            .where(stages.c.review_due_at.is_not(None))
            .order_by(stages.c.review_due_at, stages.c.id)
        ).all()
    done: list[Reviewed] = []
    for row in due:
        try:
            done.append(
                review_stage(
                    db=db,
                    clock=clock,
                    zone=zone,
                    stage_id=row.id,
                    due_at=row.review_due_at,
                    tolerance=tolerance,
                )
            )
        except Exception:
            # One stage's failure holds up no other; it stays due and the next pass tries again.
            log.exception("stage %s: the review against its target failed; it stays due", row.id)
    return done


def review_stage(
    *,
    db: Database,
    clock: Clock,
    zone: ZoneInfo,
    stage_id: str,
    due_at: str,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Reviewed:
    """Review one stage marked due at ``due_at`` (see the module's documentation)."""
    stage = service.get_stage(db=db, stage_id=stage_id)
    if stage.state is not model.StageState.SCHEDULED:
        why = f"not reviewed against its target: the stage is {stage.state.value}"
        _finish(db, clock, stage, due_at, [(model.Action.SHORTFALL, why)], None)
        return Reviewed(stage.id, stage.event_id, 0.0, 0.0, False, 0, why)
    with db.read() as conn:
        event_devices = {
            (str(r.head_end_system), str(r.nic_id))
            for r in conn.execute(
                sa.select(stage_devices.c.head_end_system, stage_devices.c.nic_id).where(
                    stage_devices.c.event_id == stage.event_id
                )
            )
        }
        held = {
            (str(r.head_end_system), str(r.nic_id))
            for r in conn.execute(
                sa.select(reservations.c.head_end_system, reservations.c.nic_id).where(
                    reservations.c.stage_id == stage.id, reservations.c.state.in_(LIVE)
                )
            )
        }
        opted = frozenset(
            (str(r.head_end_system), str(r.nic_id))
            for r in conn.execute(
                sa.select(opt_outs.c.head_end_system, opt_outs.c.nic_id).where(
                    opt_outs.c.event_id == stage.event_id
                )
            )
        )
    found = stage_request(db=db, clock=clock, stage=stage, opted_out=opted, zone=zone)
    strategy = found.strategy
    setup = prepare(found.request)
    keys = list(zip(found.columns["head_end_system"], found.columns["nic_id"], strict=True))
    in_stage = np.array([(str(h), str(n)) in held for h, n in keys], bool)
    in_event = np.array([(str(h), str(n)) in event_devices for h, n in keys], bool)
    firm = strategy.draft.firm
    target = np.asarray(stage.p10_kw if firm else stage.p50_kw, np.float64)
    topped = gen.top_up(
        setup,
        held=np.flatnonzero(in_stage),
        excluded=in_event & ~in_stage,
        target=target,
        tolerance=tolerance,
        backfill=strategy.draft.backfill,
    )
    quantile = "P10" if firm else "P50"
    lines: list[tuple[model.Action, str]] = []
    if topped.short:
        lines.append((model.Action.SHORTFALL, _shortfall(topped, quantile, tolerance, len(held))))
    added = [
        (
            str(found.columns["head_end_system"][i]),
            str(found.columns["nic_id"][i]),
            str(found.columns["device_id"][i]),
            str(found.columns["service_point"][i]),
            str(found.columns["feeder"][i]),
        )
        for i in topped.added.tolist()
    ]
    if topped.short and not strategy.draft.backfill:
        lines.append((model.Action.BACKFILL, "not backfilled: the strategy does not backfill"))
    elif topped.short and topped.note and not added:
        lines.append((model.Action.BACKFILL, f"not backfilled: {topped.note}"))
    done = _finish(db, clock, stage, due_at, lines, (added, topped) if added else None)
    return Reviewed(
        stage.id, stage.event_id, _lowest(topped.expected_kw, target),
        _lowest(topped.after_kw, target), topped.short, len(added), done,
    )  # fmt: skip


def _lowest(kw: np.ndarray, target: np.ndarray) -> float:
    """The lowest share of the target in an interval with one (1.0 when none has)."""
    has = target > TOL_KW
    return float((kw[has] / target[has]).min()) if has.any() else 1.0


def _shortfall(topped: gen.TopUp, quantile: str, tolerance: float, held: int) -> str:
    target, expected = topped.target_kw, topped.expected_kw
    gap = target - expected
    worst = int(np.argmax(gap))
    return (
        f"alert: after opt-outs the stage's {held} reserved device(s) are expected to reduce "
        f"{expected[worst]:.1f} kW ({quantile}) against a target of {target[worst]:.1f} kW in "
        f"its interval {worst + 1}, {gap[worst] / target[worst]:.1%} short; the tolerance is "
        f"{tolerance:.0%}"
    )


def _finish(
    db: Database,
    clock: Clock,
    stage: model.Stage,
    due_at: str,
    lines: list[tuple[model.Action, str]],
    backfill: tuple[list[tuple[str, str, str, str, str]], gen.TopUp] | None,
) -> str:
    """In one transaction: the backfilled devices joined to the stage and reserved (when the
    stage is still Scheduled), the audit lines, and the review cleared unless an opt-out
    marked the stage again since ``due_at``. What the backfill did ("" when none ran)."""
    now = clock.now()
    said = ""
    with db.begin() as conn:
        row = conn.execute(
            sa.select(stages.c.state, stages.c.review_due_at, stages.c.device_count)
            .where(stages.c.id == stage.id)
            .with_for_update()
        ).one()
        audit = [model.Audit(stage.event_id, now, model.SYSTEM, action, None, None, detail,
                             stage_id=stage.id) for action, detail in lines]  # fmt: skip
        if backfill is not None and row.state == model.StageState.SCHEDULED.value:
            devices, topped = backfill
            conn.execute(
                stage_devices.insert(),
                [
                    {"stage_id": stage.id, "head_end_system": he, "nic_id": nic,
                     "event_id": stage.event_id, "device_id": device, "sp_id": sp,
                     "feeder_id": feeder, "program": stage.program}
                    for he, nic, device, sp, feeder in devices
                ],
            )  # fmt: skip
            conn.execute(
                stages.update()
                .where(stages.c.id == stage.id)
                .values(device_count=row.device_count + len(devices))
            )
            line = reserve(conn, stage, now, action=model.Action.BACKFILL)
            target = topped.target_kw
            said = (
                f"backfilled {len(devices)} device(s), the next of the planner's ranking: "
                f"{line.detail}; now expected to reach {_lowest(topped.after_kw, target):.1%} "
                f"of the target at its lowest" + (f" ({topped.note})" if topped.note else "")
            )
            audit.append(
                model.Audit(
                    stage.event_id,
                    now,
                    model.SYSTEM,
                    model.Action.BACKFILL,
                    None,
                    None,
                    said,
                    stage_id=stage.id,
                )
            )
        service.write_audit(conn, audit)
        if row.review_due_at == due_at:
            conn.execute(stages.update().where(stages.c.id == stage.id).values(review_due_at=None))
    if said:
        log.info("stage %s of event %s: %s", stage.id, stage.event_id, said)
    return said or (lines[-1][1] if lines else "")
