"""Event outcomes' service in cpm (EVT-OUTCOME, docs/contracts/event-outcomes.md): record a
stage's device outcomes on their participations.

A call is set-based, for the hub's collections of 5,000 devices: one read of the program event
(share-locked, so a lifecycle action waits for it), one read of its participations of the
devices named (locked for update on PostgreSQL, so that of two deliveries of one collection at
once the second finds the first's outcomes: ``Exists``), and one update of the recorded ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from derlink.common.clock import Clock
from derlink.common.errors import NotFound
from derlink.cpm.errors import CpmBusinessError
from derlink.cpm.events import model as m
from derlink.cpm.events import outcome as o
from derlink.cpm.events.participation import ParticipationState
from derlink.cpm.events.participation_service import of_keys
from derlink.cpm.events.tables import event_participations, program_events
from derlink.platform.database import Database

ep, pe = event_participations, program_events
#: The columns a recorded outcome sets, bound by name in the update.
_SET = ("state", "outcome", "outcome_error", "participation_start_at", "participation_end_at",
        "measured_kw", "outcome_at", "outcome_file", "updated_at")  # fmt: skip


def record_outcomes(
    *,
    db: Database,
    clock: Clock,
    external_identifier: str,
    event_external_identifier: str,
    outcomes: Sequence[o.PostedOutcome],
    file_name: str = "",
) -> list[o.Decided]:
    """Record the outcomes of a stage's devices: one decision per device, in order
    (outcome.decide_outcomes). 404 CPM-PROGRAM-EVENT-UNKNOWN for no program event of the stage,
    422 CPM-PROGRAM-EVENT-INVALID for one of another DERMS event."""
    with db.begin() as conn:
        event = conn.execute(
            sa.select(pe.c.id, pe.c.event_external_identifier)
            .where(pe.c.external_identifier == external_identifier)
            .with_for_update(read=True)
        ).first()
        if event is None:
            raise NotFound(
                f"no program event for the stage {external_identifier!r}",
                code=m.PROGRAM_EVENT_UNKNOWN,
            )
        if event.event_external_identifier != event_external_identifier:
            raise CpmBusinessError(
                f"program event {external_identifier} belongs to the event "
                f"{event.event_external_identifier}, not {event_external_identifier}",
                code=m.PROGRAM_EVENT_INVALID,
            )
        keys = list(dict.fromkeys(x.key for x in outcomes))
        held: dict[tuple[str, str], o.HeldParticipation] = {}
        if keys:
            rows = conn.execute(
                sa.select(ep.c.id, ep.c.head_end_system, ep.c.nic_id, ep.c.state, ep.c.outcome)
                .where(
                    ep.c.program_event_id == event.id,
                    of_keys(ep.c.head_end_system, ep.c.nic_id, keys),
                )
                .with_for_update()
            )
            held = {
                (r.head_end_system, r.nic_id): o.HeldParticipation(
                    r.id, ParticipationState(r.state), r.outcome
                )
                for r in rows
            }
        decided = o.decide_outcomes(outcomes, held=held)
        at = m.utc_text(clock.now())
        updates = [
            {
                "pid": d.participation_id,
                "v_state": ParticipationState.OUTCOME_RECORDED.value,
                "v_outcome": x.outcome,
                "v_outcome_error": x.error_message,
                "v_participation_start_at": d.start,
                "v_participation_end_at": d.end,
                "v_measured_kw": x.measured_kw,
                "v_outcome_at": at,
                "v_outcome_file": file_name,
                "v_updated_at": at,
            }
            for x, d in zip(outcomes, decided, strict=True)
            if d.result is o.OutcomeResult.RECORDED
        ]
        if updates:
            conn.execute(
                ep.update()
                .where(ep.c.id == sa.bindparam("pid"))
                .values({name: sa.bindparam(f"v_{name}") for name in _SET}),
                updates,
            )
    return decided
