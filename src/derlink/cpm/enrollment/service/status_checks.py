"""Device status checks (DEV-STATUS): cpm asks derms whether a device answers its head-end.

A check is written with its outbound message in one transaction; the response comes back later
through the hub, carrying the check's dacsMessageId as ``transactionId``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.common.clock import Clock
from derlink.common.errors import NotFound
from derlink.common.ids import new_id
from derlink.cpm.db import outbox
from derlink.cpm.enrollment import model as m
from derlink.cpm.enrollment.tables import device_status_checks, devices
from derlink.platform.database import Database
from derlink.platform.outbox import enqueue


def request_device_status_check(*, db: Database, clock: Clock, device_id: str, actor: str) -> str:
    """Start a status check of one device; its dacsMessageId."""
    d = devices
    stamp = clock.now().isoformat()
    check_id = new_id("DS-")
    with db.begin() as conn:
        row = conn.execute(
            sa.select(
                d.c.division, d.c.device_type, d.c.specification, d.c.head_end_system, d.c.nic_id
            ).where(d.c.id == device_id)
        ).first()
        if row is None:
            raise NotFound(f"no device {device_id}")
        conn.execute(
            device_status_checks.insert().values(
                id=check_id,
                device_id=device_id,
                state=m.DeviceCheckState.PENDING.value,
                requested_by=actor,
                requested_at=stamp,
            )
        )
        conn.execute(
            d.update()
            .where(d.c.id == device_id)
            .values(last_status_check_id=check_id, updated_at=stamp)
        )
        payload = m.device_status_check_payload(
            dacs_message_id=check_id,
            division=row.division,
            device_type=row.device_type,
            specification=row.specification,
            head_end_system=row.head_end_system,
            nic_id=row.nic_id,
        )
        enqueue(conn, outbox, flow=m.DEV_STATUS, key=check_id, payload=payload, clock=clock)
    return check_id


def on_device_status_sent(clock: Clock) -> Callable[[Connection, list[str]], None]:
    """The outbox Route's ``on_sent`` for DEV-STATUS: the checks are now Sent."""

    def on_sent(conn: Connection, keys: list[str]) -> None:
        c = device_status_checks
        to_state = m.check_state_when_sent(m.DeviceCheckState.PENDING)
        assert to_state is not None
        conn.execute(
            c.update()
            .where(c.c.id.in_(keys), c.c.state == m.DeviceCheckState.PENDING.value)
            .values(state=to_state.value)
        )

    return on_sent


@dataclass(frozen=True)
class AnswerResult:
    transaction_id: str
    outcome: m.AnswerOutcome
    code: str | None = None
    detail: str | None = None


def record_device_status_responses(
    *, db: Database, clock: Clock, answers: Sequence[m.DeviceStatusAnswer]
) -> list[AnswerResult]:
    """Record device-status responses on their checks and devices, one result each."""
    if not answers:
        return []
    c, d = device_status_checks, devices
    stamp = clock.now().isoformat()
    results: list[AnswerResult] = []
    with db.begin() as conn:
        rows = conn.execute(
            sa.select(c.c.id, c.c.state, c.c.device_id)
            .where(c.c.id.in_({a.transaction_id for a in answers}))
            .with_for_update()
        ).all()
        state = {r.id: m.DeviceCheckState(r.state) for r in rows}
        device_of = {r.id: r.device_id for r in rows}
        recorded: list[dict[str, Any]] = []
        for answer in answers:
            outcome = m.decide_status_answer(state.get(answer.transaction_id))
            if outcome is m.AnswerOutcome.REJECTED:
                results.append(
                    AnswerResult(
                        answer.transaction_id,
                        outcome,
                        m.CHECK_UNKNOWN,
                        m.unknown_check(answer.transaction_id),
                    )
                )
            else:
                results.append(AnswerResult(answer.transaction_id, outcome))
            if outcome is m.AnswerOutcome.RECORDED:
                state[answer.transaction_id] = m.DeviceCheckState.ANSWERED
                recorded.append(
                    {
                        "b_id": answer.transaction_id,
                        "b_device": device_of[answer.transaction_id],
                        "b_result": answer.result.value,
                        "b_message": answer.message,
                    }
                )
        if recorded:
            conn.execute(
                c.update()
                .where(c.c.id == sa.bindparam("b_id"))
                .values(
                    state=m.DeviceCheckState.ANSWERED.value,
                    result=sa.bindparam("b_result"),
                    message=sa.bindparam("b_message"),
                    answered_at=stamp,
                ),
                recorded,
            )
            # The device shows the answer of its latest check only.
            conn.execute(
                d.update()
                .where(
                    d.c.id == sa.bindparam("b_device"),
                    d.c.last_status_check_id == sa.bindparam("b_id"),
                )
                .values(
                    last_status=sa.bindparam("b_result"), last_status_at=stamp, updated_at=stamp
                ),
                recorded,
            )
    return results
