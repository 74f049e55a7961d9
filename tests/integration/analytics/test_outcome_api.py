"""The outcome intake's routes through analytics as a part, on SQLite and PostgreSQL (their
scopes, the loop that takes outcome files and an entry it cannot take: test_analytics_api.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from outcome_world import outcome, outcome_file
from part_world import API, headers, put

from derlink.analytics.app import AnalyticsPart

NAME = "OUTCOME_20260718T010000Z_000007.csv"
NEWER = "OUTCOME_20260718T020000Z_000008.csv"


def stage_rows() -> bytes:
    """Stage SG-1: two devices that took part, one cancelled, one bad row; stage SG-2: one
    device of another service point."""
    return outcome_file(
        outcome(1),
        outcome(2, Outcome="D1CN", ParticipationStartTime="", ParticipationEndTime="",
                MeasuredKw=""),
        outcome(3, Outcome="D1ND", ParticipationStartTime="", ParticipationEndTime="",
                MeasuredKw="", SPId="SP1"),
        outcome(4, ParticipationEndTime="2026-07-17T17:00:00"),
        outcome(5, StageId="SG-2", EventId="EV-2"),
    )  # fmt: skip


def test_the_outcome_intake_runs_on_demand_and_its_files_and_outcomes_can_be_read(
    part: AnalyticsPart, http: TestClient
):
    put(part, NAME, stage_rows())
    answer = http.post(f"{API}/outcome-files/intake", headers=headers(part))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "files": [
            {"name": NAME, "state": "Acked", "rows": 5, "accepted": 4, "rejected": 1,
             "ackFile": f"ACK_{NAME}", "renamedTo": f"Acked-{NAME}", "error": None}
        ]
    }  # fmt: skip
    # The enrollment intake does not take outcome files, nor the outcome intake extracts.
    assert http.post(f"{API}/enrollment-files/intake", headers=headers(part)).json() == {
        "files": []
    }
    assert http.post(f"{API}/outcome-files/intake", headers=headers(part)).json() == {"files": []}

    (taken,) = http.get(f"{API}/outcome-files", headers=headers(part, "viewer")).json()
    assert (taken["name"], taken["state"], taken["rows"], taken["accepted"]) == (
        NAME,
        "Acked",
        5,
        4,
    )
    assert len(taken["checksum"]) == 64 and taken["attempts"] == 1 and taken["receivedAt"]
    assert taken["refusals"] == [
        {"rowNumber": 5, "recordId": "4", "stageId": "SG-1", "headEndSystem": "ECOBEE-HE",
         "nicId": "NIC-4", "reasonCode": "AN-OUTCOME-TIME",
         "reason": "ParticipationEndTime has no UTC offset"}
    ]  # fmt: skip
    assert http.get(f"{API}/enrollment-files", headers=headers(part)).json() == []

    page = http.get(f"{API}/event-outcomes", headers=headers(part, "viewer")).json()
    assert page["next"] is None
    assert [(o["stageId"], o["nicId"], o["outcome"]) for o in page["items"]] == [
        ("SG-1", "NIC-1", "D1SP"), ("SG-1", "NIC-2", "D1CN"), ("SG-1", "NIC-3", "D1ND"),
        ("SG-2", "NIC-5", "D1SP"),
    ]  # fmt: skip
    assert page["items"][0] | {"receivedAt": None} == {
        "stageId": "SG-1", "eventId": "EV-1", "programId": "BYOT-2026",
        "headEndSystem": "ECOBEE-HE", "nicId": "NIC-1", "deviceId": "D-1", "spId": "SP1",
        "outcome": "D1SP", "errorMessage": "",
        "participationStartTime": "2026-07-17T22:00:00+00:00",
        "participationEndTime": "2026-07-18T00:00:00+00:00", "measuredKw": 1.5,
        "recordId": "1", "sourceFile": NAME, "receivedAt": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("params", "nics"),
    [
        ({"stageId": "SG-2"}, ["NIC-5"]),
        ({"eventId": "EV-1"}, ["NIC-1", "NIC-2", "NIC-3"]),
        ({"spId": "SP1"}, ["NIC-1", "NIC-3"]),
        ({"nicId": "NIC-2"}, ["NIC-2"]),
        ({"outcome": "D1CN"}, ["NIC-2"]),
        ({"stageId": "SG-1", "spId": "SP1", "outcome": "D1ND"}, ["NIC-3"]),
        ({"stageId": "SG-9"}, []),
    ],
)
def test_outcomes_are_narrowed_by_stage_event_service_point_nic_and_outcome(
    part: AnalyticsPart, http: TestClient, params: dict[str, str], nics: list[str]
):
    put(part, NAME, stage_rows())
    http.post(f"{API}/outcome-files/intake", headers=headers(part))
    page = http.get(f"{API}/event-outcomes", params=params, headers=headers(part)).json()
    assert [o["nicId"] for o in page["items"]] == nics


def test_outcomes_come_in_keyset_pages_and_a_bad_filter_is_a_422(
    part: AnalyticsPart, http: TestClient
):
    put(part, NAME, outcome_file(*(outcome(n) for n in range(1, 6))))
    http.post(f"{API}/outcome-files/intake", headers=headers(part))
    seen, after = [], None
    while True:
        params = {"limit": 2, **({"after": after} if after is not None else {})}
        page = http.get(f"{API}/event-outcomes", params=params, headers=headers(part)).json()
        seen.append([o["nicId"] for o in page["items"]])
        after = page["next"]
        if after is None:
            break
    assert seen == [["NIC-1", "NIC-2"], ["NIC-3", "NIC-4"], ["NIC-5"]]
    for bad in ({"outcome": "D1XX"}, {"limit": 0}, {"after": -1}, {"stageId": "S" * 121}):
        answer = http.get(f"{API}/event-outcomes", params=bad, headers=headers(part))
        assert answer.status_code == 422, bad
        assert answer.headers["content-type"] == "application/problem+json"
