"""derms's enrollment endpoints over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from derlink.derms.app import DermsPart
from derlink.platform.auth import CredentialStore

from .support import (
    Headers,
    enroll_sync,
    enrollment_request,
    outbox_messages,
    status_check,
    thermostat,
)


def enroll(
    client: TestClient, headers: Headers, *messages: dict[str, Any], batch: str = "B-1"
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/enrollments", json={"batchId": batch, "messages": list(messages)}, headers=headers
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def serve_head_ends(client: TestClient, operator: Headers, *codes: str) -> None:
    response = client.post(
        "/api/v1/head-end-systems", json={"codes": list(codes)}, headers=operator
    )
    assert response.status_code == 200, response.text


def acks(part: DermsPart) -> dict[str, dict[str, Any]]:
    return {key: orjson.loads(payload) for key, payload in outbox_messages(part, "ENR-ACK")}


# --- credentials and input ------------------------------------------------------------------


def test_a_call_without_credentials_is_refused_with_401(edge_client: TestClient) -> None:
    response = edge_client.get("/api/v1/registry")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("who", "method", "path"),
    [
        ("viewer", "POST", "/api/v1/enrollments"),
        ("hub", "POST", "/api/v1/enrollment-requests/originate"),
        ("hub", "POST", "/api/v1/head-end-systems"),
        ("viewer", "POST", "/api/v1/device-status-checks"),
    ],
)
def test_a_client_without_the_route_s_scope_is_refused_with_403(
    edge_client: TestClient, credentials: CredentialStore, who: str, method: str, path: str
) -> None:
    response = edge_client.request(method, path, json={}, headers=credentials.client(who).header())

    assert response.status_code == 403
    assert response.json()["code"] == "DL-FORBIDDEN"


def test_a_sync_without_a_version_is_refused_with_422_naming_the_field(
    edge_client: TestClient, hub_headers: Headers
) -> None:
    broken = enroll_sync("SR-2", "E-2", thermostat("NIC-2"))
    del broken["subscriptionInfo"]["version"]

    response = edge_client.post(
        "/api/v1/enrollments",
        json={"batchId": "B-1", "messages": [enroll_sync("SR-1", "E-1"), broken]},
        headers=hub_headers,
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [
        "messages[1].subscriptionInfo.version"
    ]


def test_a_request_without_a_program_code_is_refused_with_422_naming_the_field(
    edge_client: TestClient, operator: Headers
) -> None:
    broken = enrollment_request("REQ-2")
    del broken["programInfo"]["programCode"]

    response = edge_client.post(
        "/api/v1/enrollment-requests/originate",
        json={"requests": [enrollment_request("REQ-1"), broken]},
        headers=operator,
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [
        "requests[1].programInfo.programCode"
    ]


def test_health_is_up(edge_client: TestClient, hub_headers: Headers) -> None:
    response = edge_client.get("/api/v1/health", headers=hub_headers)

    assert (response.status_code, response.json()) == (200, {"status": "UP"})


# --- DERMS Enroll ---------------------------------------------------------------------------


def test_an_enrollment_batch_is_accepted_and_each_record_gets_one_ack_in_the_outbox(
    client: TestClient, part: DermsPart, hub_headers: Headers, operator: Headers
) -> None:
    serve_head_ends(client, operator, "ECOBEE-HE")
    receipt = enroll(
        client,
        hub_headers,
        enroll_sync("SR-1", "E-1", thermostat("NIC-1")),
        enroll_sync("SR-2", "E-2", thermostat("NIC-2", he="UNKNOWN-HE")),
        enroll_sync("SR-3", "E-3", thermostat("NIC-1")),
    )

    assert receipt == {"accepted": 3, "duplicates": 0}
    sent = acks(part)
    assert list(sent) == ["SR-1", "SR-2", "SR-3"]
    assert sent["SR-1"]["ackType"] == "SUCCESS"
    assert sent["SR-1"]["whenISO"] == "2026-06-01T12:00:00.000Z"
    assert [(r["id"], r["value"]) for r in sent["SR-1"]["responses"]] == [("D-NIC-1", "D1RE")]
    assert [(r["id"], r["value"]) for r in sent["SR-2"]["responses"]] == [("D-NIC-2", "D1NR")]
    assert sent["SR-3"]["ackType"] == "ERROR"
    assert sent["SR-3"]["responses"][-1]["responseCode"] == "DERMS-DEVICE-CONFLICT"
    assert sent["SR-3"]["responses"][-1]["id"] == "E-3"


def test_a_redelivered_message_has_no_second_effect_and_no_second_ack(
    client: TestClient, part: DermsPart, hub_headers: Headers
) -> None:
    batch = [enroll_sync(f"SR-{n}", f"E-{n}", thermostat(f"NIC-{n}")) for n in range(3)]
    first = enroll(client, hub_headers, *batch, batch[0])
    enroll(
        client,
        hub_headers,
        enroll_sync(
            "SR-9", "E-0", thermostat("NIC-0"), version=2, status="INACTIVE", sync_type="UNENROLL"
        ),
        batch="B-2",
    )

    again = enroll(client, hub_headers, *batch)

    assert first == {"accepted": 3, "duplicates": 1}
    assert again == {"accepted": 0, "duplicates": 3}
    assert len(outbox_messages(part, "ENR-ACK")) == 4
    entry = client.get("/api/v1/registry/E-0", headers=hub_headers).json()
    assert (entry["status"], entry["version"], entry["lastDacsMessageId"]) == (
        "INACTIVE",
        2,
        "SR-9",
    )


def test_syncs_of_one_batch_apply_in_order_and_the_newest_version_wins(
    client: TestClient, part: DermsPart, hub_headers: Headers, operator: Headers
) -> None:
    serve_head_ends(client, operator, "ECOBEE-HE")
    enroll(
        client,
        hub_headers,
        enroll_sync("SR-1", "E-1", thermostat("OLD")),
        enroll_sync(
            "SR-2",
            "E-1",
            thermostat("OLD", status="REMOVED"),
            thermostat("NEW"),
            version=2,
            sync_type="DEVICE_REPLACEMENT",
        ),
        enroll_sync("SR-3", "E-1", thermostat("OLD"), version=1),
    )

    entry = client.get("/api/v1/registry/E-1", headers=hub_headers).json()
    assert entry["devices"] == ["ECOBEE-HE!NEW"]
    assert {d["nicId"]: d["registration"] for d in entry["registrations"]} == {
        "NEW": "D1RE",
        "OLD": "D1DR",
    }
    stale = acks(part)["SR-3"]
    assert stale["ackType"] == "SUCCESS"
    assert [(r["id"], r["value"]) for r in stale["responses"]] == [("D-OLD", "D1DR")]


def test_a_device_can_move_to_a_new_subscription_in_a_later_batch(
    client: TestClient, hub_headers: Headers, operator: Headers
) -> None:
    serve_head_ends(client, operator, "ECOBEE-HE")
    enroll(client, hub_headers, enroll_sync("SR-1", "E-1", thermostat("NIC-1")))
    enroll(
        client,
        hub_headers,
        enroll_sync(
            "SR-2", "E-1", thermostat("NIC-1"), version=2, status="INACTIVE", sync_type="UNENROLL"
        ),
        batch="B-2",
    )

    enroll(client, hub_headers, enroll_sync("SR-3", "E-2", thermostat("NIC-1")), batch="B-3")

    old = client.get("/api/v1/registry/E-1", headers=hub_headers).json()
    new = client.get("/api/v1/registry/E-2", headers=hub_headers).json()
    assert (old["status"], old["devices"], old["registrations"]) == ("INACTIVE", [], [])
    assert new["devices"] == ["ECOBEE-HE!NIC-1"]


def test_a_batch_larger_than_one_transaction_is_applied_whole(
    client: TestClient, part: DermsPart, hub_headers: Headers
) -> None:
    batch = [enroll_sync(f"SR-{n:04}", f"E-{n:04}", thermostat(f"NIC-{n}")) for n in range(501)]

    receipt = enroll(client, hub_headers, *batch)

    assert receipt == {"accepted": 501, "duplicates": 0}
    assert len(outbox_messages(part, "ENR-ACK")) == 501


# --- registry -------------------------------------------------------------------------------


def test_the_registry_pages_by_subscription_id(
    client: TestClient, hub_headers: Headers, viewer: Headers
) -> None:
    enroll(
        client,
        hub_headers,
        *[
            enroll_sync(f"SR-{n}", f"E-{n}", thermostat(f"B{n}"), thermostat(f"A{n}"))
            for n in (3, 1, 5, 2, 4)
        ],
    )

    pages, after = [], None
    while True:
        params = {"limit": "2"} | ({"after": after} if after else {})
        page = client.get("/api/v1/registry", params=params, headers=viewer).json()
        pages.append([item["subscriptionId"] for item in page["items"]])
        after = page["next"]
        if after is None:
            break
        first = page["items"][0]

    assert pages == [["E-1", "E-2"], ["E-3", "E-4"], ["E-5"]]
    assert first == {
        "subscriptionId": "E-3",
        "status": "ACTIVE",
        "programCode": "BYOT-SUMMER",
        "cisServicePointId": "SP-E-3",
        "cisAccountId": "A1",
        "devices": ["ECOBEE-HE!A3", "ECOBEE-HE!B3"],
        "version": 1,
    }


def test_the_registry_narrows_by_status_program_service_point_account_and_ids(
    client: TestClient, hub_headers: Headers, viewer: Headers
) -> None:
    enroll(
        client,
        hub_headers,
        enroll_sync("SR-1", "E-1", thermostat("N1")),
        enroll_sync("SR-2", "E-2", thermostat("N2"), status="INACTIVE"),
        enroll_sync("SR-3", "E-3", thermostat("N3")),
    )

    def listed(**params: str) -> list[str]:
        page = client.get("/api/v1/registry", params=params, headers=viewer)
        assert page.status_code == 200, page.text
        return [i["subscriptionId"] for i in page.json()["items"]]

    assert listed(status="INACTIVE") == ["E-2"]
    assert listed(status="ACTIVE", programCode="BYOT-SUMMER") == ["E-1", "E-3"]
    assert listed(programCode="OTHER") == []
    assert listed(servicePointId="SP-E-3") == ["E-3"]
    assert listed(accountId="A1") == ["E-1", "E-2", "E-3"]
    assert listed(id="SP-E-1") == ["E-1"]
    assert listed(id="E-2") == ["E-2"]
    assert listed(subscriptionIds="E-3,E-1,E-9") == ["E-1", "E-3"]
    assert listed(subscriptionIds="E-3", status="INACTIVE") == []


def test_an_entry_derms_does_not_hold_is_404(edge_client: TestClient, viewer: Headers) -> None:
    response = edge_client.get("/api/v1/registry/E-404", headers=viewer)

    assert response.status_code == 404
    assert response.json()["code"] == "DL-NOT-FOUND"


def test_head_end_systems_are_registered_once(client: TestClient, operator: Headers) -> None:
    first = client.post(
        "/api/v1/head-end-systems", json={"codes": ["B-HE", "A-HE"]}, headers=operator
    )
    second = client.post(
        "/api/v1/head-end-systems", json={"codes": ["A-HE", "C-HE"]}, headers=operator
    )

    assert first.json() == {"added": ["B-HE", "A-HE"]}
    assert second.json() == {"added": ["C-HE"]}
    listed = client.get("/api/v1/head-end-systems", headers=operator).json()
    assert [h["code"] for h in listed["items"]] == ["A-HE", "B-HE", "C-HE"]


# --- device status checks -------------------------------------------------------------------


def test_a_status_check_is_answered_once_through_the_outbox(
    client: TestClient, part: DermsPart, hub_headers: Headers, operator: Headers
) -> None:
    serve_head_ends(client, operator, "ECOBEE-HE")
    enroll(client, hub_headers, enroll_sync("SR-1", "E-1", thermostat("NIC-1")))
    checks = {
        "batchId": "SC-1",
        "messages": [status_check("DS-1", "NIC-1"), status_check("DS-2", "NIC-404")],
    }

    first = client.post("/api/v1/device-status-checks", json=checks, headers=hub_headers)
    again = client.post("/api/v1/device-status-checks", json=checks, headers=hub_headers)

    assert first.status_code == again.status_code == 202
    assert again.json() == {"accepted": 0, "duplicates": 2}
    answers = [orjson.loads(p) for _, p in outbox_messages(part, "DEV-STATUS-ACK")]
    assert [(a["transactionId"], a["status"]) for a in answers] == [
        ("DS-1", "SUCCESS"),
        ("DS-2", "FAILURE"),
    ]
    assert "not in the registry" in answers[1]["message"]
