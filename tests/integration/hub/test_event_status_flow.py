"""EVT-STATUS end to end against the real parts, on SQLite and PostgreSQL: an event scheduled in
DERMS becomes cpm program events (category through the lookup EventType), the stages' later
transitions become lifecycle actions, and DERMS keeps cpm's answer on each transition; a
missing lookup value or an unreachable cpm ends in a failure DERMS shows and audits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest

from derlink.common.clock import FixedClock
from derlink.derms.events import service
from derlink.derms.events.schemas import STRATEGY_EXAMPLE
from derlink.hub.app import create_part as create_hub
from derlink.hub.connections import Targets
from derlink.hub.model import InstanceStatus
from derlink.hub.runtime.memory import MemoryRuntime
from derlink.hub.runtime.port import RetryPolicy
from derlink.platform.http import Connection, HttpClient
from derlink.platform.mail import MemoryMailer
from tests.integration.derms.support import outbox_messages
from tests.integration.derms.test_derms_network import NETWORK, model_file
from tests.support.servers import free_port

from .test_hub_with_parts import Served, World, _connection, _publish_outbox, served, world

__all__ = ["served", "world"]  # the fixtures, shared with the other flows' tests

T0 = datetime(2026, 7, 17, 22, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def clock() -> FixedClock:
    """This module moves time: its own clock."""
    return FixedClock(datetime(2026, 7, 17, 15, 0, tzinfo=UTC))


def derms(world: World, method: str, path: str, body: Any = None, *, who: str = "operator") -> Any:
    answer = httpx.request(
        method,
        f"{world.derms_url}/api/v1{path}",
        json=body,
        headers=world.credentials.client(who).header(),
    )
    assert answer.status_code < 300, answer.text
    return answer.json()


async def scheduled_event(
    world: World, served: Served, nics: tuple[str, ...] = ()
) -> tuple[str, list[str]]:
    """An EMERGENCY event of two two-hour stages of program BYOT, approved and so Scheduled,
    the first stage planned with the devices ``nics`` (of head-end ECOBEE-HE); its id and its
    stages' ids."""
    world.cpm_call("PATCH", "/programs/BYOT", {"externalId": "BYOT-2026"})
    rules = await _publish_outbox(world, "PROG-RULE", "programs", "PRB-1")
    assert rules["status"] == "Completed", rules
    model = served.settings.home / "files" / "derms-model"
    model.mkdir(parents=True, exist_ok=True)
    (model / "NETMODEL_1.csv").write_bytes(
        model_file(("SUBSTATION", "SUB-NORTH", "", "North", "2026-01-01"))
    )
    derms(world, "POST", f"{NETWORK.removeprefix('/api/v1')}/model-files/intake")
    derms(world, "PUT", "/strategy-types/PEAK", {"name": "Peak", "priority": 50,
                                                  "baChecked": True})  # fmt: skip
    strategy = derms(world, "POST", "/strategies", STRATEGY_EXAMPLE)
    event = derms(world, "POST", "/events", {
        "strategyId": strategy["id"], "name": "Heat wave", "type": "EMERGENCY",
        "start": T0.isoformat(), "end": (T0 + 4 * H).isoformat()})  # fmt: skip
    planned = tuple(("ECOBEE-HE", nic, f"D-{nic}", "SP1", "F1") for nic in nics)
    plans = [
        service.StagePlan("BYOT", T0 + i * 2 * H, T0 + (i + 1) * 2 * H, 3600,
                          (800.0,) * 2, (1000.0,) * 2, (1200.0,) * 2, 100,
                          devices=planned if i == 0 else ())
        for i in range(2)
    ]  # fmt: skip
    service.plan_event(
        db=served.derms.db, clock=served.clock, event_id=event["id"], plans=plans,
        actor="operator",
    )  # fmt: skip
    derms(world, "POST", f"/events/{event['id']}/submit")
    done = derms(world, "POST", f"/events/{event['id']}/approve", who="approver")
    assert done["event"]["state"] == "Scheduled"
    return event["id"], [s["id"] for s in done["event"]["stages"]]


def unsent(served: Served, sent: int, flow: str = "EVT-STATUS") -> list[dict[str, Any]]:
    """DERMS's messages of ``flow`` after the first ``sent``, as its publisher sends them."""
    return [orjson.loads(p) for _, p in outbox_messages(served.derms, flow)][sent:]


async def publish(world: World, batch_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
    answer = await world.publish("derms", "EVT-STATUS", {"batchId": batch_id, "statuses": records})
    assert answer.status_code == 202, answer.text
    return world.instance(answer.json()["instanceId"])


def program_events(world: World, event_id: str) -> dict[str, dict[str, Any]]:
    page = world.cpm_call("GET", f"/program-events?eventExternalIdentifier={event_id}")
    return {p["externalIdentifier"]: p for p in page["items"]}


def transitions(world: World, event_id: str) -> list[tuple[str, str, str | None, str]]:
    return [
        (t["stageId"], t["toState"], t["cpm"], t["cpmDetail"])
        for t in derms(world, "GET", f"/events/{event_id}/transitions", who="viewer")
    ]


async def test_a_scheduled_event_becomes_program_events_that_follow_its_stages(
    world: World, served: Served
) -> None:
    event_id, (first, second) = await scheduled_event(world, served)

    instance = await publish(world, "EVS-1", unsent(served, 0))

    assert instance["status"] == InstanceStatus.COMPLETED, instance
    held = program_events(world, event_id)
    shown = {k: (p["state"], p["programEventCategory"], p["programCode"]) for k, p in held.items()}
    assert shown == {first: ("Scheduled", "X1EM", "BYOT"), second: ("Scheduled", "X1EM", "BYOT")}
    assert held[first]["startDateTime"].startswith("2026-07-17T22:00:00")
    assert transitions(world, event_id) == [
        (first, "Scheduled", "Delivered", held[first]["id"]),
        (second, "Scheduled", "Delivered", held[second]["id"]),
    ]

    # The first stage runs and ends; the operator cancels the event during the second.
    served.clock.advance(hours=10)
    service.advance_stages(db=served.derms.db, clock=served.clock)
    derms(world, "POST", f"/events/{event_id}/cancel", {"reason": "the feeder tripped"})
    later = unsent(served, 2)
    assert [(m["stageId"], m["status"]) for m in later] == [
        (first, "In Progress"), (first, "Completed"), (second, "In Progress"),
        (second, "Canceled"),
    ]  # fmt: skip

    instance = await publish(world, "EVS-2", later)

    assert instance["status"] == InstanceStatus.COMPLETED, instance
    held = program_events(world, event_id)
    assert (held[first]["state"], held[second]["state"]) == ("Complete", "Canceled")
    assert held[second]["cancelReason"] == "the feeder tripped"
    assert {c for _, _, c, _ in transitions(world, event_id)} == {"Delivered"}

    # The same batch delivered again (a resubmit): no second effect anywhere.
    again = await publish(world, "EVS-3", later)
    assert again["status"] == InstanceStatus.COMPLETED
    assert again["outcome"]["unchanged"] == 4
    assert program_events(world, event_id) == held


async def test_a_transition_whose_create_failed_creates_its_program_event_late(
    world: World, served: Served
) -> None:
    event_id, (first, _second) = await scheduled_event(world, served)
    served.clock.advance(hours=8)  # 23:00: the first stage is In Progress
    service.advance_stages(db=served.derms.db, clock=served.clock)
    [started] = [m for m in unsent(served, 2) if m["stageId"] == first]

    instance = await publish(world, "EVS-1", [started])  # its Scheduled message never came

    assert instance["status"] == InstanceStatus.COMPLETED, instance
    assert instance["outcome"]["createdLate"] == 1
    assert program_events(world, event_id)[first]["state"] == "In Progress"


async def test_an_event_type_the_lookup_does_not_hold_fails_its_messages_and_derms_says_why(
    world: World, served: Served
) -> None:
    event_id, (first, second) = await scheduled_event(world, served)
    world.hub_part.lookups.set("EventType", "EMERGENCY", None, actor="operator")

    instance = await publish(world, "EVS-1", unsent(served, 0))

    assert instance["status"] == InstanceStatus.COMPLETED_WITH_ERRORS, instance
    assert [(e["key"], e["code"]) for e in instance["outcome"]["errors"]] == [
        (f"{first}.SCHEDULED", "HUB-LOOKUP-EVENTTYPE"),
        (f"{second}.SCHEDULED", "HUB-LOOKUP-EVENTTYPE"),
    ]
    assert program_events(world, event_id) == {}
    failed = transitions(world, event_id)
    assert {c for _, _, c, _ in failed} == {"Failed"}
    assert failed[0][3] == "HUB-LOOKUP-EVENTTYPE: no EventType value for 'EMERGENCY'"
    trail = derms(world, "GET", f"/events/{event_id}/audit", who="viewer")
    assert [a["action"] for a in trail][-2:] == ["CPM_FAILED", "CPM_FAILED"]

    # The lookup mended, the operator sends the failed transitions again.
    world.hub_part.lookups.set("EventType", "EMERGENCY", "X1EM", actor="operator")
    assert derms(world, "POST", f"/events/{event_id}/transitions/resend") == {"resent": 2}
    assert {c for _, _, c, _ in transitions(world, event_id)} == {"Pending"}
    instance = await publish(world, "EVS-2", unsent(served, 2))
    assert instance["status"] == InstanceStatus.COMPLETED, instance
    assert set(program_events(world, event_id)) == {first, second}
    assert {c for _, _, c, _ in transitions(world, event_id)} == {"Delivered"}
    assert derms(world, "POST", f"/events/{event_id}/transitions/resend") == {"resent": 0}


async def test_an_unreachable_cpm_ends_in_a_failure_acknowledgement_to_derms(
    world: World, served: Served
) -> None:
    event_id, (first, second) = await scheduled_event(world, served)
    credentials = served.credentials
    runtime = MemoryRuntime(RetryPolicy(max_attempts=2, interval_s=0.001))
    nowhere = HttpClient(
        Connection(name="cpm", base_url=f"http://127.0.0.1:{free_port()}/cpm", auth="none")
    )
    targets = Targets(cpm=nowhere, derms=_connection("derms", served.urls["derms"], credentials))
    hub = create_hub(
        database_url=f"sqlite:///{served.settings.home / 'hub-2.db'}",
        credentials=credentials,
        clock=served.clock,
        targets=targets,
        runtime=runtime,
        mailer=MemoryMailer(),
        max_body_bytes=1 << 20,
    )
    try:
        transport = httpx.ASGITransport(app=hub.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as intake:
            answer = await intake.post(
                "/api/v1/flows/EVT-STATUS/messages",
                json={"batchId": "EVS-1", "statuses": unsent(served, 0)},
                headers=credentials.client("derms").header(),
            )
            assert answer.status_code == 202, answer.text
            await runtime.drain()
        detail = hub.hub.store.detail(answer.json()["instanceId"])
        assert detail["status"] == InstanceStatus.FAULTED, detail
    finally:
        await runtime.stop()
        await targets.close()
        hub.db.dispose()
    failed = transitions(world, event_id)
    assert [(s, c) for s, _, c, _ in failed] == [(first, "Failed"), (second, "Failed")]
    assert failed[0][3].startswith(
        "FAILURE: deliver-cpm-1 failed after 2 attempts: cpm unreachable"
    )
