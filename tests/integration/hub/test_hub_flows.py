"""The hub's flows, executor, tracking and hospital on a real hub database, with the
in-memory runtime and in-memory targets standing in for cpm and DERMS."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.common.clock import FixedClock
from derlink.common.errors import BusinessFault, RemoteFault
from derlink.contracts import examples
from derlink.hub.app import HubPart, create_part
from derlink.hub.connections import Targets
from derlink.hub.model import InstanceStatus
from derlink.hub.runtime.memory import MemoryRuntime
from derlink.hub.runtime.port import RetryPolicy
from derlink.platform.auth import CredentialStore
from derlink.platform.mail import MemoryMailer

Handler = Callable[[str, Any], Awaitable[Any]]


class FakeTarget:
    """A target system in memory: records every call and answers through ``handler``."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler or self.accept
        self.calls: list[tuple[str, Any]] = []

    @staticmethod
    async def accept(path: str, body: Any) -> Any:
        return {"accepted": 1}

    async def post(self, path: str, body: Any, *, idempotency_key: str | None = None) -> Any:
        self.calls.append((path, body))
        return await self.handler(path, body)

    async def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        self.calls.append((path, params))
        return await self.handler(path, params)

    async def close(self) -> None:
        return None


class Harness:
    def __init__(
        self,
        tmp_path: Path,
        database_url: str | None = None,
        runtime: MemoryRuntime | None = None,
    ) -> None:
        self.cpm = FakeTarget()
        self.derms = FakeTarget()
        self.mailer = MemoryMailer()
        self.runtime = runtime or MemoryRuntime(RetryPolicy(max_attempts=3, interval_s=0.001))
        self.part: HubPart = create_part(
            database_url=database_url or f"sqlite:///{tmp_path}/hub.sqlite",
            credentials=CredentialStore.generate(DEFAULT_CLIENTS),
            clock=FixedClock(datetime(2026, 7, 1, 18, 0, tzinfo=UTC)),
            targets=Targets(cpm=self.cpm, derms=self.derms),
            runtime=self.runtime,
            mailer=self.mailer,
            max_body_bytes=1024 * 1024,
        )
        self.hub = self.part.hub

    async def send(self, code: str, body: dict[str, Any], sender: str = "test") -> str:
        batch = self.hub.flow(code).spec.batch.model_validate(body)
        received = await self.hub.accept(code, batch, sender)
        await self.runtime.drain()
        return received.instance_id


def as_collection(single: Handler) -> Handler:
    """cpm's collection enroll, answering per record what ``single`` answers per call."""

    async def handler(path: str, body: Any) -> Any:
        if path != "/api/v1/enrollments/collection":
            return await single(path, body)
        results = []
        for request in body["requests"]:
            try:
                answer = await single("/api/v1/enrollments", request)
                results.append(
                    {
                        "messageId": request["messageId"],
                        "outcome": "Created",
                        "enrollmentId": answer["enrollmentId"],
                    }
                )
            except BusinessFault as exc:
                if exc.status == 409:
                    results.append(
                        {
                            "messageId": request["messageId"],
                            "outcome": "Exists",
                            "enrollmentId": exc.body["enrollmentId"],
                        }
                    )
                else:
                    results.append(
                        {
                            "messageId": request["messageId"],
                            "outcome": "Rejected",
                            "code": exc.body["code"],
                            "detail": exc.body["detail"],
                        }
                    )
        return {"results": results}

    return handler


def enrollment_request(n: int, **asset: str) -> dict[str, Any]:
    device = {
        "nicId": f"N{n}",
        "headEndSystem": "ECOBEE-HE",
        "make": "ECOBEE",
        "model": "SMARTTHERMOSTAT",
        "specification": "",
    }
    device.update(asset)
    return {
        "messageId": f"M{n}",
        "customerInfo": {"cisAccountId": f"A{n}"},
        "programInfo": {"programCode": "BYOT"},
        "locationInfo": {"cisServicePointId": f"SP{n}"},
        "assetInfo": {"assetList": [device]},
    }


@pytest.fixture
def harness(tmp_path: Path, database_url: str) -> Harness:
    return Harness(tmp_path, database_url)


@pytest.mark.parametrize("mode", ["single", "collection"])
async def test_enrollment_requests_fan_out_and_one_collection_ack_reports_each(
    harness: Harness, mode: str
):
    harness.hub.targets.cpm_mode = mode  # type: ignore[assignment]

    async def cpm(path: str, body: Any) -> Any:
        n = body["messageId"]
        if n == "M2":  # already exists: Oracle message 10589 counts as success
            raise BusinessFault(
                "exists",
                status=409,
                body={"code": "10589", "messageNumber": 10589, "enrollmentId": "E2"},
            )
        if n == "M3":
            raise BusinessFault(
                "inactive",
                status=422,
                body={"code": "CPM-PROGRAM-INACTIVE", "detail": "program is not Active"},
            )
        return {"enrollmentId": f"E{n[1:]}"}

    harness.cpm.handler = as_collection(cpm)
    requests = [
        enrollment_request(1),
        enrollment_request(2),
        enrollment_request(3),
        enrollment_request(4, make="ACME", model="X1"),
    ]
    instance = await harness.send("ENR-REQ", {"batchId": "B1", "requests": requests})

    if mode == "single":
        enrolled = [body for path, body in harness.cpm.calls]
    else:
        ((path, body),) = harness.cpm.calls
        assert path == "/api/v1/enrollments/collection"
        enrolled = body["requests"]
    assert [b["messageId"] for b in enrolled] == ["M1", "M2", "M3"]
    assert enrolled[0]["assetInfo"]["assetList"][0]["specification"] == "ECOBEE-ST"
    ((path, ack),) = harness.derms.calls
    assert path == "/api/v1/acks/enrollment-requests"
    assert ack["ackType"] == "ERROR"
    by_id = {r["id"]: r for r in ack["responses"]}
    assert by_id["M1"]["value"] == "E1" and by_id["M1"]["responseCode"] == "SUCCESS"
    assert by_id["M2"]["value"] == "E2" and by_id["M2"]["responseCode"] == "SUCCESS"
    assert by_id["M3"]["responseCode"] == "CPM-PROGRAM-INACTIVE"
    assert by_id["M4"]["responseCode"] == "HUB-LOOKUP-ASSETSPEC"
    detail = harness.hub.store.detail(instance)
    assert detail["status"] == InstanceStatus.COMPLETED_WITH_ERRORS
    assert (detail["succeeded"], detail["failed"]) == (2, 2)
    assert len(harness.mailer.sent) == 1
    assert "2 record(s) rejected" in str(harness.mailer.sent[0]["subject"])


async def test_a_target_that_stays_down_lands_in_the_hospital_and_resubmit_completes_it(
    harness: Harness,
):
    up = False

    async def cpm(path: str, body: Any) -> Any:
        if not up:
            raise RemoteFault("cpm unreachable: connection refused")
        return {"enrollmentId": "E1"}

    harness.cpm.handler = as_collection(cpm)
    instance = await harness.send("ENR-REQ", {"batchId": "B2", "requests": [enrollment_request(1)]})

    detail = harness.hub.store.detail(instance)
    assert detail["status"] == InstanceStatus.FAULTED
    assert detail["fault_category"] == "remote"
    assert detail["fault_step"] == "enroll-1"
    assert len(harness.cpm.calls) == 3  # every attempt of the retry policy
    retries = [e for e in detail["timeline"] if e["step"] == "enroll-1"]
    assert [e["outcome"] for e in retries] == ["failed:remote"] * 3 + ["faulted"]
    assert "faulted (remote)" in str(harness.mailer.sent[0]["subject"])
    ((_, failure),) = harness.derms.calls
    assert failure["ackType"] == "FAILURE"
    assert harness.hub.hospital_ids(flow=None, category="remote") == [instance]

    up = True
    assert await harness.hub.resubmit([instance], "operator", "cpm is back") == [instance]
    await harness.runtime.drain()
    detail = harness.hub.store.detail(instance)
    assert detail["status"] == InstanceStatus.COMPLETED
    assert detail["runs"] == 2
    assert detail["actions"][0]["action"] == "resubmit"
    assert detail["actions"][0]["actor"] == "operator"
    assert harness.derms.calls[-1][1]["ackType"] == "SUCCESS"
    assert harness.hub.hospital_ids(flow=None, category=None) == []


async def test_a_redelivered_batch_has_no_second_effect(harness: Harness):
    body = {"batchId": "B3", "messages": [sync_record("SR1")]}
    first = await harness.hub.accept(
        "ENR-SYNC", harness.hub.flow("ENR-SYNC").spec.batch.model_validate(body), "cpm"
    )
    second = await harness.hub.accept(
        "ENR-SYNC", harness.hub.flow("ENR-SYNC").spec.batch.model_validate(body), "cpm"
    )
    await harness.runtime.drain()
    assert (first.duplicate, second.duplicate) == (False, True)
    assert len(harness.derms.calls) == 1


def sync_record(sync_id: str) -> dict[str, Any]:
    return {
        "dacsMessageId": sync_id,
        "syncType": "ENROLL",
        "subscriptionInfo": {
            "subscriptionId": "E1",
            "programCode": "BYOT",
            "status": "ACTIVE",
            "version": 1,
        },
        "locationInfo": {"cisServicePointId": "SP1", "controllableDevices": []},
    }


async def test_acks_are_delivered_to_cpm_as_one_collection_and_refusals_are_record_errors(
    harness: Harness,
):
    async def cpm(path: str, body: Any) -> Any:
        return {
            "results": [
                {"syncRequestId": "SR1", "outcome": "Synchronized"},
                {"syncRequestId": "SR2", "outcome": "Duplicate"},
                {
                    "syncRequestId": "SR3",
                    "outcome": "Rejected",
                    "code": "CPM-SYNC-UNKNOWN",
                    "detail": "no such",
                },
            ]
        }

    harness.cpm.handler = cpm
    acks = [
        {
            "ackType": "SUCCESS",
            "whenISO": "2026-07-01T18:00:01.000Z",
            "responses": [
                {"id": "D1", "value": "D1RE", "responseCode": "SUCCESS", "dacsMessageId": sid}
            ],
        }
        for sid in ("SR1", "SR2", "SR3")
    ]
    instance = await harness.send("ENR-ACK", {"batchId": "B4", "acks": acks})
    ((path, body),) = harness.cpm.calls
    assert path == "/api/v1/sync-requests/acknowledgements"
    assert [a["syncRequestId"] for a in body["acknowledgements"]] == ["SR1", "SR2", "SR3"]
    detail = harness.hub.store.detail(instance)
    assert detail["status"] == InstanceStatus.COMPLETED_WITH_ERRORS
    assert detail["outcome"]["duplicates"] == 1
    assert detail["outcome"]["errors"] == [
        {"key": "SR3", "code": "CPM-SYNC-UNKNOWN", "message": "no such"}
    ]
    assert [k["value"] for k in detail["keys"] if k["name"] == "syncRequestId"] == [
        "SR1",
        "SR2",
        "SR3",
    ]


async def test_single_record_mode_calls_update_and_transition_once_per_ack(harness: Harness):
    harness.hub.targets.cpm_mode = "single"

    async def cpm(path: str, body: Any) -> Any:
        return {"syncRequestId": body["syncRequestId"], "outcome": "Synchronized"}

    harness.cpm.handler = cpm
    acks = [
        {
            "ackType": "SUCCESS",
            "whenISO": "2026-07-01T18:00:01.000Z",
            "dacsMessageId": sid,
            "responses": [],
        }
        for sid in ("S1", "S2")
    ]
    await harness.send("ENR-ACK", {"batchId": "B5", "acks": acks})
    assert sorted(p for p, _ in harness.cpm.calls) == [
        "/api/v1/sync-requests/S1/update-and-transition",
        "/api/v1/sync-requests/S2/update-and-transition",
    ]


@pytest.mark.parametrize("mode", ["single", "collection"])
async def test_an_ack_cpm_refuses_is_the_same_record_error_in_either_mode(
    harness: Harness, mode: str
):
    harness.hub.targets.cpm_mode = mode  # type: ignore[assignment]
    problem = {"code": "CPM-SYNC-UNKNOWN", "detail": "no such sync request"}

    async def cpm(path: str, body: Any) -> Any:
        if path.endswith("/acknowledgements"):
            return {
                "results": [
                    {"syncRequestId": a["syncRequestId"], "outcome": "Rejected", **problem}
                    for a in body["acknowledgements"]
                ]
            }
        raise BusinessFault(f"cpm rejected POST {path} (404)", status=404, body=problem)

    harness.cpm.handler = cpm
    acks = [
        {
            "ackType": "SUCCESS",
            "whenISO": "2026-07-01T18:00:01.000Z",
            "dacsMessageId": "S9",
            "responses": [],
        }
    ]
    instance = await harness.send("ENR-ACK", {"batchId": "B5R", "acks": acks})
    detail = harness.hub.store.detail(instance)
    assert detail["status"] == InstanceStatus.COMPLETED_WITH_ERRORS
    assert detail["outcome"]["errors"] == [
        {"key": "S9", "code": "CPM-SYNC-UNKNOWN", "message": "no such sync request"}
    ]


@pytest.mark.parametrize(
    ("problem", "code"),
    [
        (
            {"code": "CPM-PROGRAM-INACTIVE", "detail": "program is not Active"},
            "CPM-PROGRAM-INACTIVE",
        ),
        ({"messageNumber": 20001, "detail": "program is not Active"}, "20001"),
        ({"detail": "program is not Active"}, "HTTP-422"),
    ],
)
async def test_a_request_refused_by_a_single_record_target_is_acked_with_its_code(
    harness: Harness, problem: dict[str, Any], code: str
):
    harness.hub.targets.cpm_mode = "single"

    async def cpm(path: str, body: Any) -> Any:
        raise BusinessFault("cpm rejected POST /api/v1/enrollments (422)", status=422, body=problem)

    harness.cpm.handler = cpm
    await harness.send("ENR-REQ", {"batchId": "B6R", "requests": [enrollment_request(1)]})
    ((_, ack),) = harness.derms.calls
    assert ack["ackType"] == "ERROR"
    assert [(r["responseCode"], r["value"]) for r in ack["responses"]] == [
        (code, "program is not Active")
    ]


async def test_a_message_the_flow_cannot_map_is_a_technical_fault_without_retries(harness: Harness):
    harness.hub.targets.cpm_mode = "single"

    async def cpm(path: str, body: Any) -> Any:
        return {"unexpected": "shape"}  # no enrollmentId

    harness.cpm.handler = cpm
    instance = await harness.send("ENR-REQ", {"batchId": "B6", "requests": [enrollment_request(1)]})
    detail = harness.hub.store.detail(instance)
    assert detail["status"] == InstanceStatus.FAULTED
    assert detail["fault_category"] == "technical"
    assert len(harness.cpm.calls) == 1


async def test_a_paused_flow_holds_what_it_receives_until_resumed(harness: Harness):
    await harness.hub.pause("ENR-SYNC", "operator")
    instance = await harness.send("ENR-SYNC", {"batchId": "B7", "messages": [sync_record("SR9")]})
    assert harness.hub.store.status(instance) == InstanceStatus.HELD
    assert harness.derms.calls == []
    assert await harness.hub.resume("ENR-SYNC", "operator") == 1
    await harness.runtime.drain()
    assert harness.hub.store.status(instance) == InstanceStatus.COMPLETED
    assert len(harness.derms.calls) == 1


async def test_discard_takes_an_instance_out_of_the_hospital_and_records_who(harness: Harness):
    async def down(path: str, body: Any) -> Any:
        raise RemoteFault("down")

    harness.derms.handler = down
    instance = await harness.send("ENR-SYNC", {"batchId": "B8", "messages": [sync_record("SR8")]})
    await harness.hub.discard([instance], "operator/alice", "superseded")
    detail = harness.hub.store.detail(instance)
    assert detail["status"] == InstanceStatus.DISCARDED
    assert detail["actions"] == [
        {
            "action": "discard",
            "actor": "operator/alice",
            "at": detail["actions"][0]["at"],
            "note": "superseded",
        }
    ]
    with pytest.raises(Exception, match="not in the hospital"):
        await harness.hub.resubmit([instance], "operator")


async def test_a_lookup_change_takes_effect_without_a_restart(harness: Harness):
    harness.hub.targets.cpm_mode = "single"
    harness.part.lookups.set("AssetSpec", "ACME!X1", "ACME-SPEC", actor="operator")

    async def cpm(path: str, body: Any) -> Any:
        return {"enrollmentId": "E1"}

    harness.cpm.handler = cpm
    await harness.send(
        "ENR-REQ", {"batchId": "B9", "requests": [enrollment_request(1, make="ACME", model="X1")]}
    )
    ((_, body),) = harness.cpm.calls
    assert body["assetInfo"]["assetList"][0]["specification"] == "ACME-SPEC"


async def test_an_asset_type_is_mapped_through_asset_type_and_an_unknown_one_fails_its_request(
    harness: Harness,
):
    harness.part.lookups.set("AssetType", "TSTAT", "THERMOSTAT", actor="operator")

    async def cpm(path: str, body: Any) -> Any:
        return {"results": [{"messageId": r["messageId"], "outcome": "Created",
                             "enrollmentId": "E1"} for r in body["requests"]]}  # fmt: skip

    harness.cpm.handler = cpm
    requests = [enrollment_request(1, assetType="TSTAT"), enrollment_request(2, assetType="ROBOT")]
    instance = await harness.send("ENR-REQ", {"batchId": "B11", "requests": requests})
    ((_, body),) = harness.cpm.calls
    assert [r["assetInfo"]["assetList"][0]["assetType"] for r in body["requests"]] == ["THERMOSTAT"]
    errors = harness.hub.store.detail(instance)["outcome"]["errors"]
    assert [(e["code"], e["message"]) for e in errors] == [
        ("HUB-LOOKUP-ASSETTYPE", "no AssetType value for 'ROBOT'")
    ]


async def test_instances_are_found_by_any_business_identifier(harness: Harness):
    instance = await harness.send("ENR-SYNC", {"batchId": "B10", "messages": [sync_record("SR77")]})
    for key in ("SR77", "E1", "SP1", "B10"):
        assert [r["id"] for r in harness.hub.store.search(key=key)] == [instance]


async def test_the_reconciliation_runs_on_its_schedule_and_reports_each_difference(
    harness: Harness,
):
    async def pages(path: str, params: Any) -> Any:
        if params.get("after"):
            return {"items": [], "next": None}
        if path.endswith("/reconciliation/subscriptions"):
            return {
                "items": [
                    {"subscriptionId": "E1", "status": "Active", "devices": ["HE!N1"]},
                    {"subscriptionId": "E2", "status": "Active", "devices": ["HE!N2"]},
                ],
                "next": None,
            }
        return {
            "items": [
                {"subscriptionId": "E1", "status": "ACTIVE", "devices": ["HE!N1"]},
                {"subscriptionId": "E3", "status": "ACTIVE", "devices": ["HE!N3"]},
                {"subscriptionId": "E4", "status": "SUSPENDED", "devices": []},
                {"subscriptionId": "E5", "status": "INACTIVE", "devices": []},
            ],
            "next": None,
        }

    harness.cpm.handler = pages
    harness.derms.handler = pages
    cron, _ = harness.runtime.schedules["RECONCILE"]
    assert cron == "0 0 2 * * *"
    at = datetime(2026, 7, 2, 2, 0, tzinfo=UTC)
    await harness.runtime.tick("RECONCILE", at)
    await harness.runtime.tick("RECONCILE", at)  # a repeated tick starts nothing new
    await harness.runtime.drain()
    (found,) = harness.hub.store.search(flow="RECONCILE")
    assert found["id"] == "RECONCILE:scheduled-20260702T020000"
    detail = harness.hub.store.detail(found["id"])
    assert detail["status"] == InstanceStatus.COMPLETED_WITH_ERRORS
    assert [(e["key"], e["message"]) for e in detail["outcome"]["errors"]] == [
        ("E2", "active in cpm, missing in DERMS"),
        ("E3", "active in DERMS, unknown to cpm"),
        ("E4", "DERMS status 'SUSPENDED' has no EnrollmentStatus value"),
    ]
    assert "3 record(s) rejected" in str(harness.mailer.sent[-1]["subject"])


async def test_run_now_starts_a_scheduled_flow_and_a_paused_schedule_lets_its_time_pass(
    harness: Harness,
):
    async def empty(path: str, params: Any) -> Any:
        return {"items": [], "next": None}

    harness.cpm.handler = empty
    harness.derms.handler = empty
    (received,) = await harness.hub.run_now("RECONCILE", "operator")
    await harness.runtime.drain()
    assert harness.hub.store.status(received.instance_id) == InstanceStatus.COMPLETED
    await harness.hub.pause("RECONCILE", "operator")
    await harness.runtime.tick("RECONCILE", datetime(2026, 7, 3, 2, 0, tzinfo=UTC))
    assert len(harness.hub.store.search(flow="RECONCILE")) == 1


@dataclass(frozen=True)
class Versioned:
    """A cpm → DERMS flow of versioned records run as master data's: its batch field, the
    record's key field and a record of it, DERMS's service and cpm's acknowledgements."""

    flow: str
    field: str
    key: str
    example: dict[str, Any]
    derms_path: str
    ack_path: str
    #: DERMS's refusal of a record: its code and detail.
    refusal: tuple[str, str]

    def record(self, code: str, version: int, nic: str) -> dict[str, Any]:
        return {**self.example, "dacsMessageId": f"MSG-{code}-{version}", self.key: code,
                "nicId": nic, "version": version}  # fmt: skip


VERSIONED = [
    Versioned("OPT-OUT", "optOuts", "participationId", examples.OPT_OUT, "/api/v1/opt-outs",
              "/api/v1/participations/opt-out-acknowledgements",
              ("DERMS-RESERVATION-UNKNOWN", "no reservation of NIC-3")),
    Versioned("UNAVAIL", "unavailabilities", "unavailabilityId", examples.UNAVAILABILITY,
              "/api/v1/unavailabilities", "/api/v1/unavailabilities/acknowledgements",
              ("DERMS-UNAVAILABILITY-INVALID", "end is not after start")),
]  # fmt: skip


@pytest.mark.parametrize("kind", VERSIONED, ids=lambda kind: kind.flow)
async def test_versioned_records_go_to_derms_in_one_collection_and_each_answer_is_acknowledged(
    harness: Harness, kind: Versioned
):
    """OPT-OUT and UNAVAIL: each record delivered as the hub received it, each answer
    acknowledged to cpm (SUCCESS for Applied and Stale, ERROR for Rejected)."""
    code, detail = kind.refusal

    async def derms(path: str, body: Any) -> Any:
        return {"results": [
            {"code": "R-1", "version": 1, "outcome": "Applied", "errorCode": None, "detail": None},
            {"code": "R-2", "version": 2, "outcome": "Stale", "errorCode": None, "detail": None},
            {"code": "R-3", "version": 1, "outcome": "Rejected", "errorCode": code,
             "detail": detail},
        ]}  # fmt: skip

    harness.derms.handler = derms
    records = [kind.record("R-1", 1, "NIC-1"), kind.record("R-2", 2, "NIC-2"),
               kind.record("R-3", 1, "NIC-3")]  # fmt: skip
    instance = await harness.send(kind.flow, {"batchId": "B-1", kind.field: records})
    ((derms_path, delivered),) = harness.derms.calls
    assert derms_path == kind.derms_path
    assert delivered == {"batchId": "B-1", kind.field: records}  # as the hub received them
    ((cpm_path, acknowledged),) = harness.cpm.calls
    assert cpm_path == kind.ack_path
    assert acknowledged == {"acknowledgements": [
        {"kind": kind.flow, "code": "R-1", "version": 1, "status": "SUCCESS", "errorCode": "",
         "message": ""},
        {"kind": kind.flow, "code": "R-2", "version": 2, "status": "SUCCESS", "errorCode": "",
         "message": ""},
        {"kind": kind.flow, "code": "R-3", "version": 1, "status": "ERROR", "errorCode": code,
         "message": detail},
    ]}  # fmt: skip
    found = harness.hub.store.detail(instance)
    assert found["status"] == InstanceStatus.COMPLETED_WITH_ERRORS
    assert found["outcome"] == {
        "processed": 3, "succeeded": 2, "failed": 1, "stale": 1,
        "errors": [{"key": "R-3", "code": code, "message": detail}],
    }  # fmt: skip
    for key in ("R-2", "MSG-R-2-2", "NIC-2"):
        assert [r["id"] for r in harness.hub.store.search(key=key)] == [instance]
