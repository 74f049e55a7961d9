"""Opt-outs' services (docs/contracts/program-events.md, "Opt-outs"): a customer, or an agent for
them, opts a device out of a program event until its cut-off; cpm tells DERMS through the hub
(OPT-OUT, docs/contracts/opt-outs.md), sends it again on demand, and keeps DERMS's answers.

An opt-out changes the participation and writes its OPT-OUT message to the outbox in one
transaction, each version of it once. The participation's row is locked first (PostgreSQL;
SQLite lets one writer in at a time), so of two opt-outs of one participation at once the second
sees the first's and answers ``Unchanged``: one message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy.engine import Connection, Row

from derlink.common.clock import Clock, iso_z
from derlink.common.errors import NotFound
from derlink.common.ids import new_id
from derlink.cpm.catalog.model import DermsSync
from derlink.cpm.catalog.service import MasterDataAck, Versioned, record_answers
from derlink.cpm.db import outbox
from derlink.cpm.errors import CpmConflict
from derlink.cpm.events import participation as p
from derlink.cpm.events.model import utc_text
from derlink.cpm.events.participation_service import (
    READ,
    ParticipationView,
    cutoff_of,
    rules_of,
    with_cutoffs,
)
from derlink.cpm.events.tables import event_participations
from derlink.platform.database import Database
from derlink.platform.outbox import enqueue

ep = event_participations

#: What DERMS holds of each participation's opt-out, for its answers (OPT-OUT).
OPT_OUTS = Versioned(ep, ep.c.id, ep.c.opt_out_version, "no participation {!r}")
#: The sync states in which an opt-out is sent again: DERMS refused it, or has not answered.
RESENDABLE = frozenset({DermsSync.ERROR.value, DermsSync.PENDING.value})


@dataclass(frozen=True)
class OptOutDone:
    """What an opt-out did, and the participation as it now is."""

    outcome: p.OptOutOutcome
    participation: ParticipationView


def opt_out(
    *,
    db: Database,
    clock: Clock,
    zone: tzinfo,
    participation_id: str,
    channel: p.OptOutChannel,
    actor: str,
    reason: str = "",
) -> OptOutDone:
    """Opt a participation out of its program event (participation.decide_opt_out, the cut-off
    in the utility's ``zone``): ``OptedOut``, the participation marked as ``actor`` asked and
    version 1 of its OPT-OUT message written to the outbox in the same transaction; or
    ``Unchanged`` for one opted out already. 404 CPM-PARTICIPATION-UNKNOWN for no such
    participation; 409 CPM-PARTICIPATION-STATE, CPM-OPT-OUT-CUTOFF."""
    now = clock.now()
    with db.begin() as conn:
        row = _locked(conn, participation_id)
        cutoff = cutoff_of(row, rules_of(conn, [row.program_code]), zone)
        outcome = p.decide_opt_out(
            participation_id, p.ParticipationState(row.state), now=now, cutoff=cutoff
        )
        if outcome is p.OptOutOutcome.OPTED_OUT:
            at = utc_text(now)
            conn.execute(
                ep.update()
                .where(ep.c.id == participation_id)
                .values(
                    state=p.ParticipationState.OPTED_OUT.value,
                    preemptive_opt_out=True,
                    opted_out_at=at,
                    opt_out_channel=channel.value,
                    opt_out_by=actor,
                    opt_out_reason=reason,
                    updated_at=at,
                )
            )
            _send(conn, clock, participation_id)
        (after,) = with_cutoffs(conn, zone, [_locked(conn, participation_id)])
    return OptOutDone(outcome, after)


def resend_opt_out(
    *, db: Database, clock: Clock, zone: tzinfo, participation_id: str
) -> ParticipationView:
    """Send an opted-out participation's opt-out to DERMS again, as the next version: after a
    refusal whose cause is fixed elsewhere, or a message DERMS never answered. 409
    CPM-PARTICIPATION-STATE unless it is OptedOut and its DERMS sync is Error or Pending."""
    with db.begin() as conn:
        row = _locked(conn, participation_id)
        if row.state != p.ParticipationState.OPTED_OUT.value or row.derms_sync not in RESENDABLE:
            sync = row.derms_sync or "never sent"
            raise CpmConflict(
                f"participation {participation_id} is {row.state}, its opt-out {sync} at DERMS: "
                "only an OptedOut participation whose opt-out DERMS refused (Error) or has not "
                "answered (Pending) is sent again",
                code=p.PARTICIPATION_STATE,
                state=row.state,
            )
        _send(conn, clock, participation_id)
        (view,) = with_cutoffs(conn, zone, [_locked(conn, participation_id)])
    return view


def acknowledge(*, db: Database, acks: Sequence[MasterDataAck]) -> list[dict[str, Any]]:
    """Record DERMS's answers to opt-outs, one result each, in order, as master data's are
    (catalog.service.record_answer): ``Applied``; ``Stale`` for a version older than the one
    cpm sent last (a success only raises the version DERMS is known to hold); ``Rejected`` for
    a participation cpm does not hold."""
    return record_answers(db=db, kept=OPT_OUTS, acks=acks)


def _locked(conn: Connection, participation_id: str) -> Row[Any]:
    """The participation's ``READ`` row, locked for the transaction; 404 when there is none."""
    row = conn.execute(READ.where(ep.c.id == participation_id).with_for_update(of=ep)).first()
    if row is None:
        raise NotFound(f"no participation {participation_id!r}", code=p.PARTICIPATION_UNKNOWN)
    return row


def _send(conn: Connection, clock: Clock, participation_id: str) -> None:
    """The participation's opt-out as its next version, written to the outbox for OPT-OUT in
    the caller's transaction (docs/contracts/opt-outs.md); DERMS's sync Pending."""
    row = conn.execute(READ.where(ep.c.id == participation_id)).one()
    version = row.opt_out_version + 1
    message_id = new_id("OOM-")
    payload = {
        "dacsMessageId": message_id,
        "participationId": row.id,
        "programEventId": row.program_event_id,
        "eventExternalIdentifier": row.event_external_identifier,
        "externalIdentifier": row.external_identifier,
        "programCode": row.program_code,
        "headEndSystem": row.head_end_system,
        "nicId": row.nic_id,
        "deviceId": row.device_id,
        "optOutDateTime": iso_z(datetime.fromisoformat(row.opted_out_at)),
        "channel": row.opt_out_channel,
        "version": version,
    }
    conn.execute(
        ep.update()
        .where(ep.c.id == participation_id)
        .values(opt_out_version=version, derms_sync=DermsSync.PENDING.value, derms_detail="")
    )
    enqueue(conn, outbox, flow=p.OPT_OUT, key=message_id, payload=payload, clock=clock)
