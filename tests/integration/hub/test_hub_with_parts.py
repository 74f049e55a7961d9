"""The hub's message flows against the real parts: cpm and derms served on loopback, each on its
own database (SQLite files, or schemas of one PostgreSQL database), the hub on the in-memory
runtime; messages come in through the hub's HTTP intake with each part's own client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.common.clock import FixedClock
from derlink.cpm.app import CpmPart
from derlink.cpm.app import create_part as create_cpm
from derlink.derms.app import DermsPart
from derlink.derms.app import create_part as create_derms
from derlink.hub.app import HubPart
from derlink.hub.app import create_part as create_hub
from derlink.hub.catalog import CATALOG
from derlink.hub.connections import Targets
from derlink.hub.model import InstanceStatus
from derlink.hub.runtime.memory import MemoryRuntime
from derlink.hub.runtime.port import RetryPolicy
from derlink.platform.auth import CredentialStore
from derlink.platform.database import is_sqlite
from derlink.platform.files import open_store
from derlink.platform.http import Connection, HttpClient
from derlink.platform.mail import MemoryMailer
from derlink.platform.settings import Settings
from tests.support.servers import serve

CLOCK = FixedClock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC))


@dataclass
class World:
    credentials: CredentialStore
    cpm_part: CpmPart
    cpm: httpx.Client
    hub_part: HubPart
    hub: httpx.AsyncClient
    runtime: MemoryRuntime
    derms_url: str

    async def publish(self, client: str, code: str, body: dict[str, Any]) -> httpx.Response:
        """POST a message to the hub's intake as ``client``, then let every run finish."""
        response = await self.hub.post(
            f"/api/v1/flows/{code}/messages",
            json=body,
            headers=self.credentials.client(client).header(),
        )
        await self.runtime.drain()
        return response

    def instance(self, instance_id: str) -> dict[str, Any]:
        detail: dict[str, Any] = self.hub_part.hub.store.detail(instance_id)
        return detail

    def cpm_call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.cpm.request(method, f"/api/v1{path}", json=body)
        assert response.status_code < 300, response.text
        return response.json()

    def enroll(self, message_id: str = "REQ-1", nic: str = "NIC-1") -> dict[str, Any]:
        answer: dict[str, Any] = self.cpm_call("POST", "/enrollments", request(message_id, nic=nic))
        return answer

    def enrollment(self, enrollment_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.cpm_call("GET", f"/enrollments/{enrollment_id}")
        return found


def request(message_id: str, *, nic: str = "NIC-1", **asset: Any) -> dict[str, Any]:
    """An enrollment request with every field of Oracle's published mapping."""
    return {
        "messageId": message_id,
        "drmsInstanceId": "derms-1",
        "customerInfo": {"cisPersonId": "P1", "cisAccountId": "A1", "name": "Ann Lee",
                         "homePhone": "", "businessPhone": "", "email": "ann@example.org"},
        "programInfo": {"cisServiceAgreementId": "SA1", "programCode": "BYOT",
                        "startDateTimeISO": "2026-06-01T00:00:00-07:00",
                        "endDateTimeISO": "2026-10-01T00:00:00-07:00"},
        "locationInfo": {"locationId": "L1", "division": "CA", "cisPremiseId": "PR1",
                         "cisServicePointId": "SP1", "timeZone": "America/Los_Angeles",
                         "address1": "1 Main St", "city": "Fresno", "country": "US",
                         "county": "Fresno", "state": "CA", "postal": "93701"},
        "assetInfo": {"installationMethod": "SELF", "assetOwnership": "CUSTOMER",
                      "assetList": [{"sequence": 1, "assetId": "T-1",
                                     "specification": "ECOBEE-ST", "assetType": "THERMOSTAT",
                                     "badgeNo": "B1", "serialNo": "SN1", "nicId": nic,
                                     "headEndSystem": "ECOBEE-HE", **asset}]},
    }  # fmt: skip


def _connection(name: str, base_url: str, credentials: CredentialStore) -> HttpClient:
    hub = credentials.client("hub")
    return HttpClient(
        Connection(name=name, base_url=base_url, username=hub.client_id, secret=hub.secret)
    )


@dataclass
class Served:
    """cpm and derms served on loopback, with the credentials, settings and clock they share."""

    credentials: CredentialStore
    settings: Settings
    cpm: CpmPart
    derms: DermsPart
    urls: dict[str, str]
    clock: FixedClock


@pytest.fixture
def clock() -> FixedClock:
    """The parts' and the hub's clock (a module that moves it overrides this fixture)."""
    return CLOCK


@pytest.fixture
def served(tmp_path: Path, database_url: str, clock: FixedClock) -> Iterator[Served]:
    """cpm and derms, each on its own database, served on loopback."""
    credentials = CredentialStore.generate(DEFAULT_CLIENTS)
    settings = Settings(
        home=tmp_path, database_url=None if is_sqlite(database_url) else database_url
    )
    cpm = create_cpm(settings=settings, credentials=credentials, clock=clock, hub=None)
    derms = create_derms(settings=settings, credentials=credentials, clock=clock, hub=None)
    try:
        with serve(cpm.app) as cpm_url, serve(derms.app) as derms_url:
            urls = {"cpm": cpm_url, "derms": derms_url}
            yield Served(credentials, settings, cpm, derms, urls, clock)
    finally:
        cpm.db.dispose()
        derms.db.dispose()


@pytest.fixture
async def world(served: Served) -> AsyncIterator[World]:
    credentials = served.credentials
    settings = served.settings
    # Every store a file flow of the catalog names, where the parts keep them: the hub builds
    # all its file flows, and reads what DERMS writes.
    stores = {
        name: open_store(settings.store_url(name), home=settings.home)
        for spec in CATALOG
        if spec.files is not None
        for name in filter(None, (spec.files.source_store, spec.files.target_store))
    }
    targets = Targets(
        cpm=_connection("cpm", served.urls["cpm"], credentials),
        derms=_connection("derms", served.urls["derms"], credentials),
        stores=stores,
    )
    runtime = MemoryRuntime(RetryPolicy(max_attempts=1, interval_s=0.001))
    hub_part = create_hub(
        database_url=served.settings.database_for("hub"),
        credentials=credentials,
        clock=served.clock,
        targets=targets,
        runtime=runtime,
        mailer=MemoryMailer(),
        max_body_bytes=1 << 20,
    )
    cpm = httpx.Client(base_url=served.urls["cpm"], headers=credentials.client("operator").header())
    transport = httpx.ASGITransport(app=hub_part.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as hub:
        world = World(credentials, served.cpm, cpm, hub_part, hub, runtime, served.urls["derms"])
        _seed(world)
        try:
            yield world
        finally:
            await runtime.stop()
            await targets.close()
            cpm.close()
            hub_part.db.dispose()


def _seed(world: World) -> None:
    world.cpm_call("POST", "/programs", {
        "programCode": "BYOT", "name": "BYOT", "status": "Active", "programType": "DR",
        "eligibleSpecifications": ["ECOBEE-ST", "ACME-SPEC"]})  # fmt: skip
    world.cpm_call("POST", "/master-data", {
        "persons": [{"cisPersonId": "P1", "name": "Ann Lee"}],
        "accounts": [{"cisAccountId": "A1", "cisPersonId": "P1"}],
        "premises": [{"cisPremiseId": "PR1", "cisAccountId": "A1", "division": "CA"}],
        "servicePoints": [{"cisServicePointId": "SP1", "cisPremiseId": "PR1"}],
    })  # fmt: skip


def _msg_ack(sync_id: str, *responses: dict[str, Any]) -> dict[str, Any]:
    return {"ackType": "SUCCESS", "whenISO": "2026-05-01T12:00:01.000Z",
            "dacsMessageId": sync_id, "responses": list(responses)}  # fmt: skip


# -- publishers --------------------------------------------------------------------------------


async def test_cpm_cannot_acknowledge_its_own_sync_request_in_the_name_of_derms(world: World):
    created = world.enroll()
    sync_id = created["syncRequestId"]
    ack = {"batchId": "ACK-1", "acks": [_msg_ack(sync_id)]}

    refused = await world.publish("cpm", "ENR-ACK", ack)

    assert refused.status_code == 403
    assert refused.json()["code"] == "HUB-PUBLISH-SOURCE"
    enrollment = world.enrollment(created["enrollmentId"])
    assert enrollment["status"] == "Pending"
    assert [s["state"] for s in enrollment["syncRequests"]] == ["Pending"]
    assert world.hub_part.hub.store.search(flow="ENR-ACK") == []
    # The same ack from derms's client goes through.
    assert (await world.publish("derms", "ENR-ACK", ack)).status_code == 202
    assert world.enrollment(created["enrollmentId"])["status"] == "Active"


# -- Oracle's shapes ---------------------------------------------------------------------------


def _only_enrollment(world: World) -> dict[str, Any]:
    (sync,) = world.cpm_call("GET", "/sync-requests")["items"]
    return world.enrollment(sync["enrollmentId"])


@pytest.mark.parametrize("mode", ["collection", "single"])
async def test_every_oracle_field_is_taken_and_unknown_ones_are_ignored_and_counted(
    world: World, mode: str
):
    world.hub_part.hub.targets.cpm_mode = mode  # type: ignore[assignment]
    sent = request("M1", firmware="1.2")
    sent["surveyAnswer"] = "yes"
    sent["customerInfo"]["nickname"] = "Annie"

    answer = await world.publish("derms", "ENR-REQ", {"batchId": "REQ-B1", "requests": [sent]})

    assert answer.status_code == 202, answer.text
    detail = world.instance(answer.json()["instanceId"])
    assert detail["status"] == InstanceStatus.COMPLETED, detail["outcome"]
    assert detail["outcome"]["ignoredFields"] == {
        "surveyAnswer": 1,
        "customerInfo.nickname": 1,
        "assetInfo.assetList.firmware": 1,
    }
    enrollment = _only_enrollment(world)
    assert enrollment["messageId"] == "M1"
    assert enrollment["drmsInstanceId"] == "derms-1"
    assert enrollment["startDateTimeISO"] == "2026-06-01T00:00:00-07:00"
    assert enrollment["endDateTimeISO"] == "2026-10-01T00:00:00-07:00"


async def test_a_specification_sent_as_make_model_is_mapped_through_asset_spec(world: World):
    lookup = await world.hub.put(
        "/api/v1/lookups/AssetSpec/ACME!X1",
        json={"value": "ACME-SPEC"},
        headers=world.credentials.client("operator").header(),
    )
    assert lookup.status_code == 200, lookup.text
    requests = [request("M1", specification="acme!x1"),
                request("M2", nic="NIC-2", specification="NOPE!Z9")]  # fmt: skip

    answer = await world.publish("derms", "ENR-REQ", {"batchId": "REQ-B2", "requests": requests})

    detail = world.instance(answer.json()["instanceId"])
    assert detail["outcome"]["errors"] == [
        {"key": "M2", "code": "HUB-LOOKUP-ASSETSPEC", "message": "no AssetSpec value for 'NOPE!Z9'"}
    ]
    (device,) = _only_enrollment(world)["devices"]
    assert (device["specification"], device["make"], device["model"]) == ("ACME-SPEC", "ACME", "X1")


# -- acknowledgements --------------------------------------------------------------------------


async def test_device_status_answers_are_recorded_per_record(world: World):
    created = world.enroll()
    (device,) = world.enrollment(created["enrollmentId"])["devices"]
    check = world.cpm_call("POST", f"/devices/{device['deviceId']}/status-checks")["dacsMessageId"]
    answers = [
        {"transactionId": check, "status": "SUCCESS", "message": ""},
        {"transactionId": "DS-none", "status": "FAILURE", "message": "no answer"},
    ]

    first = await world.publish(
        "derms", "DEV-STATUS-ACK", {"batchId": "DS-B1", "responses": answers}
    )
    again = await world.publish(
        "derms", "DEV-STATUS-ACK", {"batchId": "DS-B2", "responses": answers[:1]}
    )

    detail = world.instance(first.json()["instanceId"])
    assert detail["status"] == InstanceStatus.COMPLETED_WITH_ERRORS
    assert (detail["outcome"]["processed"], detail["succeeded"], detail["failed"]) == (2, 1, 1)
    assert detail["outcome"]["errors"] == [
        {"key": "DS-none", "code": "CPM-CHECK-UNKNOWN",
         "message": "no device status check with dacsMessageId 'DS-none'"}
    ]  # fmt: skip
    repeated = world.instance(again.json()["instanceId"])
    assert repeated["status"] == InstanceStatus.COMPLETED
    assert repeated["outcome"]["duplicates"] == 1


async def test_an_ack_naming_a_device_the_subscription_does_not_hold_is_a_record_error(
    world: World,
):
    created = world.enroll()
    sync_id = created["syncRequestId"]
    (device,) = world.enrollment(created["enrollmentId"])["devices"]
    ack = _msg_ack(
        sync_id,
        {"id": device["deviceId"], "value": "D1RE", "responseCode": "SUCCESS",
         "dacsMessageId": sync_id},
        {"id": "D-stranger", "value": "D1RE", "responseCode": "SUCCESS",
         "dacsMessageId": sync_id},
    )  # fmt: skip

    answer = await world.publish("derms", "ENR-ACK", {"batchId": "ACK-B1", "acks": [ack]})

    detail = world.instance(answer.json()["instanceId"])
    assert detail["status"] == InstanceStatus.COMPLETED_WITH_ERRORS
    [error] = detail["outcome"]["errors"]
    assert (error["key"], error["code"]) == (sync_id, "CPM-DEVICE-NOT-ON-ENROLLMENT")
    assert "D-stranger" in error["message"]
    enrollment = world.enrollment(created["enrollmentId"])
    assert enrollment["status"] == "Pending"
    assert [s["state"] for s in enrollment["syncRequests"]] == ["Pending"]
    assert enrollment["devices"][0]["headEndRegistration"] is None


# -- master data: PROG-RULE and AGGREGATOR -----------------------------------------------------

RULE = {
    "effectiveFrom": "2026-06-01", "effectiveTo": "2026-10-01", "allowEventDays": ["WEEKDAYS"],
    "windowStart": "12:00", "windowEnd": "20:00", "minEventDurationMin": 30,
    "maxEventDurationMin": 240, "maxEventsPerCycle": 15, "cycleFrequency": "SEASON",
    "maxOverridesPerCycle": 3, "optOutCutoffMin": 60, "minRestMin": 720, "overridable": False,
}  # fmt: skip


async def _publish_outbox(world: World, flow: str, field: str, batch_id: str) -> dict[str, Any]:
    """What cpm's publisher does: its unsent messages of ``flow`` to the hub, as cpm."""
    import orjson
    import sqlalchemy as sa

    from derlink.cpm.db import outbox

    with world.cpm_part.db.read() as conn:
        payloads = conn.execute(
            sa.select(outbox.c.payload).where(outbox.c.flow == flow).order_by(outbox.c.id)
        ).scalars()
        records = [orjson.loads(p) for p in payloads]
    answer = await world.publish("cpm", flow, {"batchId": batch_id, field: records})
    assert answer.status_code == 202, answer.text
    return world.instance(answer.json()["instanceId"])


def _derms(world: World, path: str) -> Any:
    response = httpx.get(
        f"{world.derms_url}/api/v1{path}",
        headers=world.credentials.client("operator").header(),
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_program_rules_reach_derms_mapped_and_cpm_learns_it_holds_them(world: World):
    world.cpm_call("POST", "/programs/BYOT/rules", RULE)

    instance = await _publish_outbox(world, "PROG-RULE", "programs", "PRB-1")

    assert instance["status"] == "Completed", instance
    held = _derms(world, "/programs/BYOT")
    assert held["version"] == 2
    [rule] = held["rules"]
    assert (rule["allowEventDays"], rule["cycleFrequency"]) == (["WEEKDAY"], "SEASON")
    sync = world.cpm_call("GET", "/programs/BYOT")["dermsSync"]
    assert sync == {"version": 2, "dermsVersion": 2, "state": "Synchronized", "detail": ""}
    # Delivered again (a re-sent batch under a new id): DERMS already holds both versions.
    again = await _publish_outbox(world, "PROG-RULE", "programs", "PRB-2")
    assert again["status"] == "Completed"
    assert again["outcome"]["stale"] == 2
    assert world.cpm_call("GET", "/programs/BYOT")["dermsSync"]["state"] == "Synchronized"


async def test_a_rule_value_without_a_lookup_entry_fails_that_program_only_and_cpm_says_why(
    world: World,
):
    world.cpm_call("POST", "/programs", {"programCode": "EV", "status": "Active"})
    world.cpm_call("POST", "/programs/BYOT/rules", {**RULE, "allowEventDays": ["FRIDAYS"]})

    instance = await _publish_outbox(world, "PROG-RULE", "programs", "PRB-1")

    assert instance["status"] == "Completed with errors", instance
    assert [(e["key"], e["code"]) for e in instance["outcome"]["errors"]] == [
        ("BYOT", "HUB-LOOKUP-ALLOWEVENTDAYS")
    ]
    sync = world.cpm_call("GET", "/programs/BYOT")["dermsSync"]
    assert (sync["state"], sync["dermsVersion"]) == ("Error", 1)
    assert sync["detail"] == "HUB-LOOKUP-ALLOWEVENTDAYS: no AllowEventDays value for 'FRIDAYS'"
    assert _derms(world, "/programs/BYOT")["version"] == 1
    assert world.cpm_call("GET", "/programs/EV")["dermsSync"]["state"] == "Synchronized"


async def test_aggregators_reach_derms_and_an_inactive_one_stays(world: World):
    world.cpm_call("POST", "/aggregators", {"code": "AGG-1", "name": "Valley",
                                            "externalSystem": "VALLEY-HES"})  # fmt: skip
    world.cpm_call("PATCH", "/aggregators/AGG-1", {"status": "Inactive"})

    instance = await _publish_outbox(world, "AGGREGATOR", "aggregators", "AGB-1")

    assert instance["status"] == "Completed", instance
    held = _derms(world, "/aggregators/AGG-1")
    assert (held["version"], held["status"], held["externalSystem"]) == (
        2, "Inactive", "VALLEY-HES")  # fmt: skip
    sync = world.cpm_call("GET", "/aggregators/AGG-1")["dermsSync"]
    assert (sync["state"], sync["dermsVersion"]) == ("Synchronized", 2)
