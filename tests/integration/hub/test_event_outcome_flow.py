"""EVT-OUTCOME and EVT-OUTCOME-OUAI end to end against the real parts, on SQLite and PostgreSQL:
a head-end system's outcome file taken in by DERMS, the stage's outcome window closed (the
unreported device D1ND), DERMS's outcome file copied to analytics' object storage and its rows
recorded on cpm's participations (a device cpm holds no participation of refused by row), and
DERMS keeps what became of the file; the same file again has no second effect."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from derlink.common.clock import FixedClock
from derlink.contracts.event_files import HEADEND_OUTCOME_HEADER
from derlink.derms.events import outcome_files, outcomes, reservations, service
from derlink.hub.model import InstanceStatus

from .test_event_reservation_flow import active_device
from .test_event_status_flow import clock, derms, scheduled_event, unsent
from .test_hub_with_parts import Served, World, served, world

__all__ = ["clock", "served", "world"]


async def test_an_outcome_file_reaches_cpm_and_analytics_and_derms_learns_it(
    world: World, served: Served
) -> None:
    await active_device(world, "NIC-1")  # cpm does not hold NIC-9
    event_id, (first, _second) = await scheduled_event(world, served, ("NIC-1", "NIC-9"))
    await reservations.write_files(
        db=served.derms.db, clock=served.clock, store=served.derms.content
    )
    [message] = unsent(served, 0, "EVT-RESERVE")
    await world.publish("derms", "EVT-RESERVE", {"batchId": "EVR-1", "reservations": [message]})

    # The stage runs 22:00–00:00 UTC; the head-end system reports NIC-1, not NIC-9.
    started = FixedClock(served.clock.now() + timedelta(hours=7, minutes=30))
    service.advance_stages(db=served.derms.db, clock=started)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([
        HEADEND_OUTCOME_HEADER,
        (first, "ECOBEE-HE", "NIC-1", "D1SP", "", "2026-07-17T22:00:00Z",
         "2026-07-18T00:00:00Z", "1.25"),
    ])  # fmt: skip
    headend = served.settings.home / "files" / "derms-headend"
    headend.mkdir(parents=True, exist_ok=True)
    (headend / "HEOUTCOME_ecobee.csv").write_text(out.getvalue())
    (taken,) = await served.derms.outcome_intake.run_once()
    assert taken.accepted == 1, taken
    closing = FixedClock(served.clock.now() + timedelta(hours=10))  # 01:00, window passed
    service.advance_stages(db=served.derms.db, clock=closing)
    outcomes.close_stages(db=served.derms.db, clock=closing, window=timedelta(minutes=60))
    (written,) = await outcome_files.write_files(
        db=served.derms.db, clock=closing, store=served.derms.content
    )
    [sent] = unsent(served, 0, "EVT-OUTCOME")
    content = served.settings.home / "files" / "derms-content" / written.file_name
    data = content.read_bytes()

    answer = await world.publish("derms", "EVT-OUTCOME", {"batchId": "EVO-1", "outcomes": [sent]})
    assert answer.status_code == 202, answer.text
    instance = world.instance(answer.json()["instanceId"])
    assert instance["status"] == InstanceStatus.COMPLETED_WITH_ERRORS, instance
    outcome = instance["outcome"]
    assert (outcome["processed"], outcome["succeeded"]) == (2, 1)
    assert [(e["key"], e["code"]) for e in outcome["errors"]] == [
        ("row 3", "CPM-PARTICIPATION-UNKNOWN")
    ]
    # EVT-OUTCOME-OUAI: the same bytes in analytics' object storage.
    copied = served.settings.home / "files" / "analytics-storage" / written.file_name
    assert copied.read_bytes() == data
    assert outcome["renamedTo"] == f"Sent-{written.file_name}"

    [program_event] = world.cpm_call("GET", f"/program-events?externalIdentifier={first}")["items"]
    held = world.cpm_call("GET", f"/program-events/{program_event['id']}/participations")
    [one] = held["items"]
    assert (one["nicId"], one["state"], one["outcome"]) == ("NIC-1", "OutcomeRecorded", "D1SP")
    assert (one["outcomeDetail"]["measuredKw"], one["outcomeDetail"]["fileName"]) == (
        1.25, written.file_name)  # fmt: skip
    [file] = derms(world, "GET", f"/outcome-files?eventId={event_id}", who="viewer")
    assert file["state"] == "Failed"
    assert file["detail"].startswith(
        "CPM-OUTCOME-REFUSED: 1 recorded in cpm, 0 recorded already, 1 refused; copied to "
        "analytics: row 3 CPM-PARTICIPATION-UNKNOWN"
    )

    # DERMS wrote the same file again (a crash before it was marked sent) and sent it again.
    store = served.settings.home / "files" / "derms-content"
    (store / f"Sent-{written.file_name}").rename(store / written.file_name)
    again = await world.publish("derms", "EVT-OUTCOME", {"batchId": "EVO-2", "outcomes": [sent]})
    detail = world.instance(again.json()["instanceId"])
    assert detail["status"] == InstanceStatus.COMPLETED, detail
    assert detail["outcome"]["duplicateOf"] == "EVT-OUTCOME:EVO-1"
