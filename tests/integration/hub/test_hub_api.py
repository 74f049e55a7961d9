"""The hub's HTTP edge: credentials and scopes, precise 422s, 413, and the operator routes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.contracts import examples
from derlink.hub import scopes
from derlink.platform.auth import CredentialStore
from tests.support.poison import POISON, expect_refused, with_poison

from .test_hub_flows import Harness, sync_record


@pytest.fixture
def api(tmp_path: Path, database_url: str):
    harness = Harness(tmp_path, database_url)
    store: CredentialStore = harness.part.app.state.credentials
    with TestClient(harness.part.app) as client:
        client.harness = harness  # type: ignore[attr-defined]
        client.store = store  # type: ignore[attr-defined]
        yield client


def _auth(client: TestClient, who: str) -> dict[str, str]:
    return client.store.client(who).header()  # type: ignore[attr-defined]


def test_every_route_requires_credentials(api: TestClient):
    response = api.get("/api/v1/flows")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert (
        api.get("/api/v1/flows", headers={"Authorization": "Bearer operator.wrong"}).status_code
        == 401
    )


def test_a_client_without_the_scope_is_forbidden(api: TestClient):
    body = {"batchId": "B1", "messages": [sync_record("SR1")]}
    response = api.post("/api/v1/flows/ENR-SYNC/messages", json=body, headers=_auth(api, "viewer"))
    assert response.status_code == 403
    assert "hub:publish" in response.json()["detail"]
    assert api.post("/api/v1/flows/ENR-SYNC/pause", headers=_auth(api, "cpm")).status_code == 403


def test_a_wrong_field_gets_422_naming_its_path(api: TestClient):
    record = sync_record("SR1")
    del record["subscriptionInfo"]["subscriptionId"]
    response = api.post(
        "/api/v1/flows/ENR-SYNC/messages",
        json={"batchId": "B1", "messages": [record]},
        headers=_auth(api, "cpm"),
    )
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["messages[0].subscriptionInfo.subscriptionId"]


def test_malformed_json_gets_422(api: TestClient):
    response = api.post(
        "/api/v1/flows/ENR-SYNC/messages",
        content=b"{not json",
        headers={**_auth(api, "cpm"), "content-type": "application/json"},
    )
    assert response.status_code == 422


def test_an_unsafe_batch_id_is_refused(api: TestClient):
    response = api.post(
        "/api/v1/flows/ENR-SYNC/messages",
        json={"batchId": "../../etc", "messages": [sync_record("SR1")]},
        headers=_auth(api, "cpm"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "batchId"


def test_an_oversize_body_gets_413(api: TestClient):
    big = b'{"batchId":"B","messages":[' + b" " * (2 * 1024 * 1024) + b"]}"
    response = api.post(
        "/api/v1/flows/ENR-SYNC/messages",
        content=big,
        headers={**_auth(api, "cpm"), "content-type": "application/json"},
    )
    assert response.status_code == 413


def test_an_unknown_flow_is_404(api: TestClient):
    response = api.post("/api/v1/flows/NOPE/messages", json={}, headers=_auth(api, "cpm"))
    assert response.status_code == 404
    assert response.json()["code"] == "HUB-FLOW-UNKNOWN"


def test_accepting_answers_202_and_a_repeat_is_marked_duplicate(api: TestClient):
    body = {"batchId": "B2", "messages": [sync_record("SR2")]}
    first = api.post("/api/v1/flows/ENR-SYNC/messages", json=body, headers=_auth(api, "cpm"))
    second = api.post("/api/v1/flows/ENR-SYNC/messages", json=body, headers=_auth(api, "cpm"))
    assert (first.status_code, second.status_code) == (202, 202)
    assert (first.json()["duplicate"], second.json()["duplicate"]) == (False, True)
    assert first.json()["instanceId"] == "ENR-SYNC:B2"


def test_operators_pause_and_resume_flows_and_edit_lookups(api: TestClient):
    op = _auth(api, "operator")
    assert api.post("/api/v1/flows/ENR-SYNC/pause", headers=op).json()["status"] == "paused"
    flows = {f["code"]: f for f in api.get("/api/v1/flows", headers=op).json()}
    assert flows["ENR-SYNC"]["status"] == "paused"
    assert api.post("/api/v1/flows/ENR-SYNC/resume", headers=op).json()["status"] == "active"
    response = api.put("/api/v1/lookups/AssetSpec/ACME!X1", json={"value": "ACME-X"}, headers=op)
    assert response.status_code == 200
    assert api.get("/api/v1/lookups", headers=op).json()["AssetSpec"]["ACME!X1"] == "ACME-X"
    unknown = api.put("/api/v1/lookups/Nope/K", json={"value": "V"}, headers=op)
    assert unknown.status_code == 422 and unknown.json()["code"] == "HUB-LOOKUP-UNKNOWN"


def test_event_flows_have_nothing_to_run_now(api: TestClient):
    response = api.post("/api/v1/flows/ENR-SYNC/run-now", headers=_auth(api, "operator"))
    assert response.status_code == 422
    assert response.json()["code"] == "HUB-NOT-SCHEDULED"


def test_resubmit_needs_a_selection(api: TestClient):
    response = api.post("/api/v1/hospital/resubmit", json={}, headers=_auth(api, "operator"))
    assert response.status_code == 422
    assert response.json()["code"] == "HUB-SELECTION"


def test_metrics_are_exposed_in_prometheus_format(api: TestClient):
    body = {"batchId": "B9", "messages": [sync_record("SR9")]}
    api.post("/api/v1/flows/ENR-SYNC/messages", json=body, headers=_auth(api, "cpm"))
    response = api.get("/api/v1/metrics", headers=_auth(api, "viewer"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'derlink_hub_instances{flow="ENR-SYNC",status=' in response.text
    assert api.get("/api/v1/metrics").status_code == 401


def test_repeated_wrong_secrets_get_429_with_retry_after(api: TestClient):
    wrong = {"Authorization": "Bearer operator.wrong"}
    answers = [api.get("/api/v1/flows", headers=wrong).status_code for _ in range(10)]
    assert answers == [401] * 10
    throttled = api.get("/api/v1/flows", headers=_auth(api, "operator"))
    assert throttled.status_code == 429
    assert throttled.headers["content-type"] == "application/problem+json"
    assert 0 < int(throttled.headers["retry-after"]) <= 300
    assert throttled.json()["code"] == "DL-TOO-MANY-ATTEMPTS"
    # The refusal does not tell whether the client exists: an unknown one is answered alike.
    for _ in range(10):
        api.get("/api/v1/flows", headers={"Authorization": "Bearer nobody.wrong"})
    assert api.get("/api/v1/flows", headers={"Authorization": "Bearer nobody.x"}).status_code == 429


def test_wrong_secrets_on_a_route_with_a_body_are_counted_before_the_body_is_read(api: TestClient):
    def intake(authorization: str) -> Any:
        headers = {"Authorization": authorization, "content-type": "application/json"}
        return api.post("/api/v1/flows/ENR-SYNC/messages", content=b"{not json", headers=headers)

    assert [intake("Bearer cpm.wrong").status_code for _ in range(10)] == [401] * 10
    throttled = intake(f"Bearer {api.store.client('cpm').bearer()}")  # type: ignore[attr-defined]
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "DL-TOO-MANY-ATTEMPTS"


def _audited_actor(api: TestClient) -> str:
    history = api.harness.hub.configuration_history()  # type: ignore[attr-defined]
    return str(history["lookups"][0]["actor"])


def test_the_actor_is_the_client_and_a_named_user_is_refused_from_a_client_not_trusted_to(
    api: TestClient,
):
    op = _auth(api, "operator")
    forged = api.put(
        "/api/v1/lookups/AssetSpec/ACME!X1",
        json={"value": "ACME-X"},
        headers={**op, "x-derlink-user": "alice"},
    )
    assert forged.status_code == 403
    assert scopes.ACT_FOR_USERS in forged.json()["detail"]
    assert "ACME!X1" not in api.get("/api/v1/lookups", headers=op).json()["AssetSpec"]
    assert (
        api.put(
            "/api/v1/lookups/AssetSpec/ACME!X1", json={"value": "ACME-X"}, headers=op
        ).status_code
        == 200
    )
    assert _audited_actor(api) == "operator"


def test_a_client_trusted_to_act_for_users_is_recorded_as_user_via_client(api: TestClient):
    store = CredentialStore.generate(
        {**DEFAULT_CLIENTS, "portal": (scopes.READ, scopes.OPERATE, scopes.ACT_FOR_USERS)}
    )
    api.harness.part.app.state.credentials = store  # type: ignore[attr-defined]
    portal = store.client("portal").header()
    response = api.put(
        "/api/v1/lookups/AssetSpec/ACME!X1",
        json={"value": "ACME-X"},
        headers={**portal, "x-derlink-user": "alice"},
    )
    assert response.status_code == 200
    assert _audited_actor(api) == "alice via portal"
    paused = api.post("/api/v1/flows/ENR-SYNC/pause", headers={**portal, "x-derlink-user": "bob"})
    assert paused.status_code == 200
    too_long = api.put(
        "/api/v1/lookups/AssetSpec/ACME!X2",
        json={"value": "ACME-X"},
        headers={**portal, "x-derlink-user": "x" * 41},
    )
    assert too_long.status_code == 422
    assert "X-Derlink-User" in too_long.json()["detail"]


def _ack(sync_id: str) -> dict[str, object]:
    return {"ackType": "SUCCESS", "whenISO": "2026-07-01T18:00:01.000Z", "dacsMessageId": sync_id}


@pytest.mark.parametrize(
    ("client", "code", "body", "message"),
    [
        (
            "cpm",
            "ENR-ACK",
            {"batchId": "B1", "acks": [_ack("SR1")]},
            "client 'cpm' publishes for cpm; ENR-ACK (Enrollment Acknowledgement) takes "
            "messages from derms only",
        ),
        (
            "analytics",
            "ENR-SYNC",
            {"batchId": "B1", "messages": [sync_record("SR1")]},
            "client 'analytics' publishes for analytics; ENR-SYNC (Enrollment "
            "Synchronization) takes messages from cpm only",
        ),
        (
            "operator",
            "ENR-SYNC",
            {"batchId": "B1", "messages": [sync_record("SR1")]},
            "client 'operator' lacks scope 'hub:publish'",
        ),
        (
            "cpm",
            "RECONCILE",
            {"batchId": "B1", "runs": [{"scheduledAt": "2026-07-01T18:00:00Z"}]},
            "RECONCILE is started by the hub's reconcile schedule, not by messages: no client "
            "publishes into it",
        ),
    ],
)  # fmt: skip
def test_a_publisher_is_confined_to_the_flows_whose_source_it_is(
    api: TestClient, client: str, code: str, body: dict[str, object], message: str
):
    harness: Harness = api.harness  # type: ignore[attr-defined]
    response = api.post(f"/api/v1/flows/{code}/messages", json=body, headers=_auth(api, client))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == message
    # Nothing was received, nothing ran, no target heard of it.
    assert harness.hub.store.search(flow=code) == []
    assert (harness.cpm.calls, harness.derms.calls) == ([], [])


def test_each_part_publishes_into_the_flows_whose_source_it_is(api: TestClient):
    ack = api.post(
        "/api/v1/flows/ENR-ACK/messages",
        json={"batchId": "B1", "acks": [_ack("SR1")]},
        headers=_auth(api, "derms"),
    )
    sync = api.post(
        "/api/v1/flows/ENR-SYNC/messages",
        json={"batchId": "B1", "messages": [sync_record("SR1")]},
        headers=_auth(api, "cpm"),
    )
    assert (ack.status_code, sync.status_code) == (202, 202)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"whenISO": "yesterday"}, "acks[0].whenISO"),
        ({"whenISO": "2026-07-01T18:00:01"}, "acks[0].whenISO"),
        ({"whenISO": "2026-13-01T18:00:01.000Z"}, "acks[0].whenISO"),
        (
            {"responses": [{"id": "D1", "value": "D1RE", "responseCode": "SUCCESS",
                            "dacsMessageId": "SR1", "responseTimeISO": "soon"}]},
            "acks[0].responses[0].responseTimeISO",
        ),
    ],
)  # fmt: skip
def test_an_ack_timestamp_that_is_not_one_gets_422_naming_it(
    api: TestClient, change: dict[str, object], field: str
):
    response = api.post(
        "/api/v1/flows/ENR-ACK/messages",
        json={"batchId": "B1", "acks": [{**_ack("SR1"), **change}]},
        headers=_auth(api, "derms"),
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert "an ISO 8601 timestamp with its UTC offset" in error["message"]
    assert api.harness.hub.store.search(flow="ENR-ACK") == []  # type: ignore[attr-defined]


def test_ack_timestamps_with_z_or_an_offset_are_taken(api: TestClient):
    response_ = {"id": "D1", "value": "D1RE", "responseCode": "SUCCESS",
                 "dacsMessageId": "SR1", "responseTimeISO": "2026-07-01T18:00:01Z"}  # fmt: skip
    ack = {**_ack("SR1"), "whenISO": "2026-07-01T11:00:01-07:00", "responses": [response_]}
    response = api.post(
        "/api/v1/flows/ENR-ACK/messages",
        json={"batchId": "B1", "acks": [ack]},
        headers=_auth(api, "derms"),
    )
    assert response.status_code == 202, response.text


def _post_raw(api: TestClient, raw: bytes, who: str = "cpm") -> Any:
    headers = {**_auth(api, who), "content-type": "application/json"}
    return api.post("/api/v1/flows/ENR-SYNC/messages", content=raw, headers=headers)


def _instances(api: TestClient) -> list[Any]:
    answer = api.get("/api/v1/instances", headers=_auth(api, "viewer"))
    assert answer.status_code == 200, answer.text
    listed: list[Any] = answer.json()
    return listed


@pytest.mark.parametrize("case", POISON)
@pytest.mark.parametrize(
    ("where", "field"),
    [
        # A field the hub passes on to the target as it came.
        (("messages", 0, "locationInfo", "controllableDevices"), "messages[0].locationInfo"),
        (("messages", 0, "contactInfo"), "messages[0].contactInfo"),
    ],
)
def test_poison_at_the_intake_is_refused_naming_the_field(
    api: TestClient, case: str, where: tuple[str | int, ...], field: str
):
    text, message = POISON[case]
    body = {"batchId": "B1", "messages": [sync_record("SR1")]}
    if where[-1] == "controllableDevices":
        where = (*where, 0)
        body["messages"][0]["locationInfo"]["controllableDevices"] = [{"deviceId": "D1"}]
    answer = _post_raw(api, with_poison(body, where, text))
    expect_refused(answer, field, message)
    assert _instances(api) == []


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (2**63, "outside the signed 64-bit range"),
        # Within 64 bits, beyond the contract (32-bit columns on PostgreSQL).
        (2**31, "less than or equal to 2147483647"),
    ],
)
def test_a_version_beyond_the_contract_is_refused_at_the_intake(
    api: TestClient, version: int, message: str
):
    record = sync_record("SR1")
    record["subscriptionInfo"]["version"] = version
    answer = _post_raw(api, json.dumps({"batchId": "B1", "messages": [record]}).encode())
    expect_refused(answer, "messages[0].subscriptionInfo.version", message)
    assert _instances(api) == []


def _reconciled(api: TestClient) -> None:
    """cpm holds E1 and E2 active, DERMS E1 and E3: two differences."""

    async def pages(path: str, params: Any) -> Any:
        if params.get("after"):
            return {"items": [], "next": None}
        ids = ("E1", "E2") if path.endswith("/reconciliation/subscriptions") else ("E1", "E3")
        status = "Active" if path.endswith("/reconciliation/subscriptions") else "ACTIVE"
        items = [{"subscriptionId": i, "status": status, "devices": [f"HE!{i}"]} for i in ids]
        return {"items": items, "next": None}

    api.harness.cpm.handler = pages  # type: ignore[attr-defined]
    api.harness.derms.handler = pages  # type: ignore[attr-defined]


def wait_until(ready: Callable[[], bool]) -> None:
    """Until the run in the client's event loop has done what ``ready`` checks (10 s at most)."""
    deadline = time.monotonic() + 10
    while not ready():
        assert time.monotonic() < deadline, "the reconciliation run never finished"
        time.sleep(0.02)


def test_the_reconciliation_keeps_every_run_in_one_history(api: TestClient):
    _reconciled(api)
    viewer = _auth(api, "viewer")
    assert api.get("/api/v1/reconciliation/runs", headers=viewer).json() == []
    refused = api.post("/api/v1/reconciliation/runs", headers=viewer)
    assert refused.status_code == 403
    started = api.post("/api/v1/reconciliation/runs", headers=_auth(api, "operator"))
    assert started.status_code == 202, started.text
    run = started.json()
    assert run["instanceId"].startswith("RECONCILE:manual-")
    assert run["startedBy"] == "operator"
    path = f"/api/v1/reconciliation/runs/{run['instanceId']}"
    wait_until(lambda: api.get(path, headers=viewer).json()["compared"] is not None)
    report = api.get(path, headers=viewer).json()
    assert (report["status"], report["compared"], report["differences"]) == (
        "Completed with errors",
        3,  # E1, E2 and E3
        2,
    )
    assert {i["subscriptionId"] for i in report["items"]} == {"E2", "E3"}
    (listed,) = api.get("/api/v1/reconciliation/runs", headers=viewer).json()
    assert listed["instanceId"] == run["instanceId"] and listed["differences"] == 2
    assert "items" not in listed
    other = api.get("/api/v1/reconciliation/runs/ENR-SYNC:B1", headers=viewer)
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"


#: cpm's versioned flows: the flow, its batch field, a record, the same record made bad, and
#: the fields the intake names for it.
VERSIONED = [
    ("OPT-OUT", "optOuts", examples.OPT_OUT,
     {"channel": "PHONE", "version": 0, "optOutDateTime": "2026-07-17T19:12:40",
      "participationId": ""},
     ["channel", "optOutDateTime", "participationId", "version"]),
    ("UNAVAIL", "unavailabilities", examples.UNAVAILABILITY,
     {"status": "Active", "version": 0, "end": "2026-07-18T03:00:00", "unavailabilityId": "",
      "reason": "r" * 501},
     ["end", "reason", "status", "unavailabilityId", "version"]),
]  # fmt: skip


@pytest.mark.parametrize(("flow", "field", "record", "bad", "named"), VERSIONED,
                         ids=[v[0] for v in VERSIONED])  # fmt: skip
def test_the_intake_takes_cpm_s_versioned_records_and_refuses_a_record_naming_its_field(
    api: TestClient,
    flow: str,
    field: str,
    record: dict[str, Any],
    bad: dict[str, Any],
    named: list[str],
):
    path = f"/api/v1/flows/{flow}/messages"
    taken = api.post(path, json={"batchId": "B-1", field: [record]}, headers=_auth(api, "cpm"))
    assert taken.status_code == 202, taken.text
    assert taken.json()["records"] == 1
    from_derms = api.post(path, json={"batchId": "B-2", field: [record]},
                          headers=_auth(api, "derms"))  # fmt: skip
    assert from_derms.status_code == 403
    assert from_derms.json()["code"] == "HUB-PUBLISH-SOURCE"

    def refused(body: dict[str, Any]) -> list[str]:
        answer = api.post(path, json=body, headers=_auth(api, "cpm"))
        assert answer.status_code == 422, answer.text
        return [e["field"] for e in answer.json()["errors"]]

    assert sorted(refused({"batchId": "B-3", field: [{**record, **bad}]})) == [
        f"{field}[0].{name}" for name in named
    ]
    assert refused({"batchId": "B-4", field: []}) == [field]
    harness: Harness = api.harness  # type: ignore[attr-defined]
    assert len(harness.hub.store.search(flow=flow)) == 1  # the first batch only
