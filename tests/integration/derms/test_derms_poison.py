"""Poison input at derms's HTTP edge: refused with 422 naming the field, never a 500, nothing
stored, on SQLite and PostgreSQL (docs/contracts/README.md, "Limits of a JSON body")."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from derlink.derms.app import DermsPart
from tests.support.poison import POISON, expect_refused, with_poison

from .support import (
    Headers,
    enroll_sync,
    enrollment_request,
    outbox_messages,
    status_check,
    thermostat,
)


def post_raw(client: TestClient, path: str, raw: bytes, headers: Headers) -> Any:
    return client.post(path, content=raw, headers={**headers, "content-type": "application/json"})


def registry_is_empty(client: TestClient, headers: Headers) -> bool:
    answer = client.get("/api/v1/registry", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"] == []


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (2**63, "outside the signed 64-bit range"),
        (2**64, "outside the signed 64-bit range"),
        # Within 64 bits, beyond the registry's column (32 bits on PostgreSQL).
        (2**31, "less than or equal to 2147483647"),
    ],
)
def test_a_version_no_column_holds_is_refused_naming_the_field(
    client: TestClient, hub_headers: Headers, version: int, message: str
) -> None:
    sync = enroll_sync("DM-1", "SUB-1", thermostat("NIC-1"), version=version)
    answer = client.post(
        "/api/v1/enrollments", json={"batchId": "B-1", "messages": [sync]}, headers=hub_headers
    )
    expect_refused(answer, "messages[0].subscriptionInfo.version", message)
    assert registry_is_empty(client, hub_headers)


def test_the_largest_version_the_column_holds_is_taken(
    client: TestClient, hub_headers: Headers
) -> None:
    sync = enroll_sync("DM-1", "SUB-1", thermostat("NIC-1"), version=2**31 - 1)
    answer = client.post(
        "/api/v1/enrollments", json={"batchId": "B-1", "messages": [sync]}, headers=hub_headers
    )
    assert answer.status_code == 202, answer.text
    entry = client.get("/api/v1/registry/SUB-1", headers=hub_headers).json()
    assert entry["version"] == 2**31 - 1


@pytest.mark.parametrize("case", POISON)
def test_poison_in_a_sync_is_refused_naming_the_field(
    client: TestClient, hub_headers: Headers, case: str
) -> None:
    text, message = POISON[case]
    body = {"batchId": "B-1", "messages": [enroll_sync("DM-1", "SUB-1", thermostat("NIC-1"))]}
    where = ("messages", 0, "locationInfo", "controllableDevices", 0, "serialNo")
    answer = post_raw(client, "/api/v1/enrollments", with_poison(body, where, text), hub_headers)
    expect_refused(answer, "messages[0].locationInfo.controllableDevices[0].serialNo", message)
    assert registry_is_empty(client, hub_headers)


@pytest.mark.parametrize("case", POISON)
def test_poison_in_an_originated_request_is_refused_naming_the_field(
    client: TestClient, part: DermsPart, operator: Headers, case: str
) -> None:
    """An enrollment request keeps fields derms does not know and passes them on."""
    text, message = POISON[case]
    body = {"requests": [enrollment_request("R-1")]}
    raw = with_poison(body, ("requests", 0, "customerInfo", "loyaltyId"), text)
    answer = post_raw(client, "/api/v1/enrollment-requests/originate", raw, operator)
    expect_refused(answer, "requests[0].customerInfo.loyaltyId", message)
    assert outbox_messages(part, "ENR-REQ") == []


@pytest.mark.parametrize("case", POISON)
def test_poison_in_a_status_check_is_refused_naming_the_field(
    client: TestClient, part: DermsPart, hub_headers: Headers, case: str
) -> None:
    text, message = POISON[case]
    body = {"batchId": "B-1", "messages": [status_check("DM-1", "NIC-1")]}
    raw = with_poison(body, ("messages", 0, "deviceInfo", "nicId"), text)
    answer = post_raw(client, "/api/v1/device-status-checks", raw, hub_headers)
    expect_refused(answer, "messages[0].deviceInfo.nicId", message)
    assert outbox_messages(part, "DEV-STATUS-ACK") == []
