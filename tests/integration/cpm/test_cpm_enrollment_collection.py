"""The collection enroll: many single-record enrolls in one call, each with its own outcome."""

from __future__ import annotations

from cpm_harness import Cpm, asset, enrollment_request


def test_each_request_of_a_collection_gets_what_a_single_enroll_would_answer(seeded: Cpm) -> None:
    first = seeded.enroll("REQ-1")
    bad = enrollment_request("REQ-3", program="NOPE")
    malformed = {"messageId": "REQ-4", "customerInfo": {}}
    response = seeded.post(
        "/enrollments/collection",
        {
            "requests": [
                enrollment_request("REQ-1"),
                enrollment_request(
                    "REQ-2", service_point="SP2", account="A2", assets=[asset("NIC-2")]
                ),
                bad,
                malformed,
            ]
        },
        client="hub",
    )
    assert response.status_code == 200, response.text
    results = {r["messageId"]: r for r in response.json()["results"]}
    assert results["REQ-1"]["outcome"] == "Exists"
    assert results["REQ-1"]["enrollmentId"] == first["enrollmentId"]
    assert results["REQ-2"]["outcome"] == "Created"
    assert seeded.enrollment(results["REQ-2"]["enrollmentId"])["status"] == "Pending"
    assert (results["REQ-3"]["outcome"], results["REQ-3"]["code"]) == (
        "Rejected",
        "CPM-PROGRAM-UNKNOWN",
    )
    assert (results["REQ-4"]["outcome"], results["REQ-4"]["code"]) == ("Rejected", "CPM-INVALID")
    assert "customerInfo.cisAccountId" in results["REQ-4"]["detail"]


def test_a_collection_needs_the_enroll_scopes(seeded: Cpm) -> None:
    response = seeded.post(
        "/enrollments/collection", {"requests": [enrollment_request()]}, client="viewer"
    )
    assert response.status_code == 403
