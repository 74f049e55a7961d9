"""What PostgreSQL refuses is refused at the API, on SQLite as on PostgreSQL: a string longer
than its column, a NUL character. Each is a 422 naming the field, never a 500 (PostgreSQL) or a
value stored whole (SQLite)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from derlink.bootstrap import Platform
from derlink.hub.catalog import CATALOG
from tests.integration.hub.test_hub_flows import sync_record


def headers(platform: Platform, client: str) -> dict[str, str]:
    return platform.credentials.client(client).header()


def sync_message(**changes: Any) -> dict[str, Any]:
    message = sync_record("SR-PARITY-1")
    message["locationInfo"].update(changes)
    return message


def test_a_nul_character_in_an_intake_field_is_refused_naming_it(
    http: TestClient, platform: Platform
):
    body = {"batchId": "PARITY-NUL", "messages": [sync_message(cisServicePointId="SP\u00001")]}
    answer = http.post(
        "/hub/api/v1/flows/ENR-SYNC/messages", json=body, headers=headers(platform, "cpm")
    )
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["field"] == "messages[0].locationInfo.cisServicePointId"
    assert "NUL character" in error["message"]
    assert "\x00" not in answer.text and "\\u0000" in answer.text  # named, never echoed raw
    operator = headers(platform, "operator")
    assert http.get("/hub/api/v1/instances", params={"key": "SP-1"}, headers=operator).json() in (
        [],
        {"items": [], "next": None},
    )


def test_an_intake_identifier_longer_than_its_column_is_refused(
    http: TestClient, platform: Platform
):
    body = {"batchId": "PARITY-LONG", "messages": [sync_message(cisServicePointId="S" * 201)]}
    answer = http.post(
        "/hub/api/v1/flows/ENR-SYNC/messages", json=body, headers=headers(platform, "cpm")
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "messages[0].locationInfo.cisServicePointId"


def test_a_lookup_key_longer_than_its_column_is_refused(http: TestClient, platform: Platform):
    answer = http.put(
        f"/hub/api/v1/lookups/AssetSpec/{'K' * 250}",
        json={"value": "ACME-X"},
        headers=headers(platform, "operator"),
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "HUB-LOOKUP-KEY"
    assert "at most 200 characters, not 250" in answer.json()["detail"]


def test_a_nul_character_in_a_path_or_a_query_is_refused(http: TestClient, platform: Platform):
    operator = headers(platform, "operator")
    in_path = http.put("/hub/api/v1/lookups/AssetSpec/A%00B", json={"value": "X"}, headers=operator)
    in_query = http.get("/hub/api/v1/instances?key=A%00B", headers=operator)
    for answer in (in_path, in_query):
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert "NUL character" in answer.json()["detail"]


def test_a_derms_device_field_longer_than_its_column_is_refused(
    http: TestClient, platform: Platform
):
    device = {"deviceId": "D-1", "headEndSystem": "HES", "nicId": "N" * 81}
    message = {
        "dacsMessageId": "SR-PARITY-2",
        "subscriptionInfo": {"subscriptionId": "S-2", "status": "ACTIVE"},
        "locationInfo": {"controllableDevices": [device]},
    }
    answer = http.post(
        "/derms/api/v1/enrollments",
        json={"batchId": "B", "messages": [message]},
        headers=headers(platform, "hub"),
    )
    assert answer.status_code == 422, answer.text
    fields = [e["field"] for e in answer.json()["errors"]]
    assert "messages[0].locationInfo.controllableDevices[0].nicId" in fields


def unbounded_strings(schema: Any, defs: dict[str, Any], path: str, seen: tuple = ()) -> list:
    """The string fields of a JSON schema with no size: neither a maximum length, nor a set
    of values, nor a date or time format."""
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return [] if name in seen else unbounded_strings(defs[name], defs, path, (*seen, name))
    found = []
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            found += unbounded_strings(sub, defs, path, seen)
    sized = {"maxLength", "enum", "const"} & set(schema) or schema.get("format") in (
        "date-time",
        "date",
        "binary",
    )
    if schema.get("type") == "string" and not sized:
        found.append(path)
    if "items" in schema:
        found += unbounded_strings(schema["items"], defs, f"{path}[]", seen)
    for name, sub in schema.get("properties", {}).items():
        found += unbounded_strings(sub, defs, f"{path}.{name}", seen)
    return found


def every_definition(node: Any, found: dict[str, Any]) -> dict[str, Any]:
    """The schemas a document defines, in its components and in any nested ``$defs``."""
    if isinstance(node, dict):
        for key in ("schemas", "$defs"):
            if isinstance(node.get(key), dict):
                found.update(node[key])
        for value in node.values():
            every_definition(value, found)
    elif isinstance(node, list):
        for value in node:
            every_definition(value, found)
    return found


def test_every_string_a_part_takes_in_a_body_has_a_size(platform: Platform):
    unbounded = []
    for name, part in platform.parts.items():
        document = part.app.openapi()
        defs = every_definition(document, {})
        for route, methods in document["paths"].items():
            for method, operation in methods.items():
                for content in operation.get("requestBody", {}).get("content", {}).values():
                    where = f"{name} {method.upper()} {route} body"
                    unbounded += unbounded_strings(content.get("schema", {}), defs, where)
    for spec in CATALOG:  # the hub's intake, one batch shape per flow
        schema = spec.batch.model_json_schema()
        unbounded += unbounded_strings(schema, schema.get("$defs", {}), f"hub {spec.code} batch")
    assert unbounded == [], "\n".join(unbounded)
