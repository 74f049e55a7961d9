"""Credentials, scopes and validation at cpm's HTTP edge (docs/contracts/README.md)."""

from __future__ import annotations

import base64

import pytest
from cpm_harness import Cpm


def test_the_health_check_answers_up(cpm: Cpm) -> None:
    answer = cpm.get("/health", client="viewer")
    assert (answer.status_code, answer.json()) == (200, {"status": "UP"})


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer operator.wrong-secret", "Bearer nobody.secret", "Token abc"],
)
def test_a_call_without_valid_credentials_answers_401(cpm: Cpm, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answer = cpm.http.post("/api/v1/enrollments", json=cpm.request(), headers=headers)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert cpm.outbox_messages() == []


def test_basic_credentials_are_accepted_too(seeded: Cpm) -> None:
    hub = seeded.credentials.client("hub")
    token = base64.b64encode(f"{hub.client_id}:{hub.secret}".encode()).decode()
    answer = seeded.http.post(
        "/api/v1/enrollments", json=seeded.request(), headers={"Authorization": f"Basic {token}"}
    )
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    ("method", "path", "client"),
    [
        ("post", "/enrollments", "viewer"),
        ("post", "/enrollments", "cpm"),
        ("post", "/programs", "hub"),
        ("post", "/master-data", "hub"),
        ("post", "/sync-requests/acknowledgements", "viewer"),
        ("post", "/sync-requests/SR-1/discard", "hub"),
        ("get", "/sync-requests/counts", "cpm"),
        ("post", "/enrollments/E-1/unenroll", "hub"),
    ],
)
def test_a_client_without_the_route_scope_answers_403(
    cpm: Cpm, method: str, path: str, client: str
) -> None:
    answer = cpm.http.request(method.upper(), "/api/v1" + path, json={},
                              headers=cpm.headers(client))  # fmt: skip
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "DL-FORBIDDEN"


@pytest.mark.parametrize("client", ["operator", "hub"])
def test_enrollment_takes_either_the_write_or_the_sync_scope(seeded: Cpm, client: str) -> None:
    answer = seeded.post("/enrollments", seeded.request(), client=client)
    assert answer.status_code == 201, answer.text


def test_a_misspelt_required_field_answers_422_naming_it(seeded: Cpm) -> None:
    # Oracle's enrollment request ignores the field it does not know, and misses the other.
    body = seeded.request()
    body["programInfo"] = {"programcode": "BYOT"}
    answer = seeded.post("/enrollments", body)
    assert answer.status_code == 422
    fields = {e["field"] for e in answer.json()["errors"]}
    assert fields == {"programInfo.programCode"}


def test_a_misspelt_field_of_derlinks_own_api_answers_422_naming_it(seeded: Cpm) -> None:
    enrollment_id = seeded.active_enrollment()["enrollmentId"]
    answer = seeded.post(f"/enrollments/{enrollment_id}/unenroll", {"reasn": "moved"})
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["reasn"]


def test_a_bad_field_deep_in_a_list_is_named_by_its_path(seeded: Cpm) -> None:
    body = seeded.request(assets=[seeded.asset(), seeded.asset("NIC-2", nicId="")])
    answer = seeded.post("/enrollments", body)
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["assetInfo.assetList[1].nicId"]


def test_a_timestamp_without_an_offset_answers_422(seeded: Cpm) -> None:
    body = seeded.request()
    body["programInfo"]["startDateTimeISO"] = "2026-06-01T00:00:00"
    answer = seeded.post("/enrollments", body)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "programInfo.startDateTimeISO"


def test_oracle_optional_fields_may_be_null_or_absent(seeded: Cpm) -> None:
    body = seeded.request()
    body["customerInfo"] = {"cisAccountId": "A1", "homePhone": None, "email": None}
    body["locationInfo"] = {"cisServicePointId": "SP1", "county": None}
    del body["programInfo"]["startDateTimeISO"]
    answer = seeded.post("/enrollments", body)
    assert answer.status_code == 201, answer.text
    enrollment = seeded.enrollment(answer.json()["enrollmentId"])
    # Without a start, the enrollment starts now; without a division, the CIS premise's.
    assert enrollment["startDateTimeISO"] == "2026-05-01T12:00:00+00:00"
    assert enrollment["division"] == "CA"
