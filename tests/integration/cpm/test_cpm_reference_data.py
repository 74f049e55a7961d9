"""Programs, aggregators and the CIS master-data load, over HTTP."""

from __future__ import annotations

import sqlalchemy as sa
from cpm_harness import Cpm

from derlink.cpm.catalog.tables import persons


def test_a_program_is_created_listed_and_read_by_its_code(cpm: Cpm) -> None:
    created = cpm.post("/programs", {"programCode": "EV-NIGHT", "name": "EV nights",
                                     "programType": "DR", "status": "Pending",
                                     "eligibleSpecifications": ["CHARGEPOINT-H", "EMPORIA-L2"],
                                     "settlementMethod": "KW_DROP"})  # fmt: skip
    assert created.status_code == 201, created.text
    program = created.json()
    assert program["programId"].startswith("PG-")
    assert (program["status"], program["settlementMethod"]) == ("Pending", "KW_DROP")
    assert cpm.get("/programs/EV-NIGHT", client="viewer").json() == program
    assert cpm.get("/programs", client="viewer").json() == [program]


def test_a_program_code_cannot_be_taken_twice(cpm: Cpm) -> None:
    assert cpm.post("/programs", {"programCode": "BYOT"}).status_code == 201
    again = cpm.post("/programs", {"programCode": "BYOT"})
    assert (again.status_code, again.json()["code"]) == (409, "CPM-PROGRAM-EXISTS")


def test_an_unknown_program_answers_404(cpm: Cpm) -> None:
    answer = cpm.get("/programs/NOPE")
    assert (answer.status_code, answer.json()["code"]) == (404, "CPM-PROGRAM-UNKNOWN")


def test_a_program_status_outside_the_list_answers_422_naming_it(cpm: Cpm) -> None:
    answer = cpm.post("/programs", {"programCode": "X", "status": "Running"})
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["status"]


def test_aggregators_are_created_and_listed(cpm: Cpm) -> None:
    created = cpm.post("/aggregators", {"code": "AGG-1", "name": "Virtual plant"})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "Active"
    assert cpm.get("/aggregators").json() == [created.json()]
    again = cpm.post("/aggregators", {"code": "AGG-1"})
    assert (again.status_code, again.json()["code"]) == (409, "CPM-AGGREGATOR-EXISTS")


def test_master_data_upserts_by_cis_id_and_enrollment_sees_the_change(cpm: Cpm) -> None:
    cpm.seed()
    # PR2 (and so SP2) moves to account A1: A1 may now enroll at SP2.
    moved = cpm.post("/master-data", {"premises": [{"cisPremiseId": "PR2", "cisAccountId": "A1",
                                                    "division": "NV"}]})  # fmt: skip
    assert moved.json() == {"persons": 0, "accounts": 0, "premises": 1, "servicePoints": 0,
                            "rejected": []}  # fmt: skip
    created = cpm.enroll(service_point="SP2")
    assert cpm.enrollment(created["enrollmentId"])["cisPremiseId"] == "PR2"


def test_master_data_records_without_a_known_parent_are_rejected_and_the_rest_load(
    cpm: Cpm,
) -> None:
    answer = cpm.post("/master-data", {
        "persons": [{"cisPersonId": "P1"}],
        "accounts": [{"cisAccountId": "A1", "cisPersonId": "P1"},
                     {"cisAccountId": "A2", "cisPersonId": "P-missing"}],
        "premises": [{"cisPremiseId": "PR2", "cisAccountId": "A2"}],
        "servicePoints": [{"cisServicePointId": "SP1", "cisPremiseId": "PR1"}],
    })  # fmt: skip
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["persons"], body["accounts"], body["premises"], body["servicePoints"]) == (
        1, 1, 0, 0,
    )  # fmt: skip
    assert body["rejected"] == [
        {"kind": "accounts", "index": 1, "cisId": "A2",
         "reason": "unknown cisPersonId 'P-missing'"},
        {"kind": "premises", "index": 0, "cisId": "PR2", "reason": "unknown cisAccountId 'A2'"},
        {"kind": "servicePoints", "index": 0, "cisId": "SP1",
         "reason": "unknown cisPremiseId 'PR1'"},
    ]  # fmt: skip


def test_the_same_cis_id_twice_in_one_load_keeps_the_last(cpm: Cpm) -> None:
    people = [{"cisPersonId": "P1", "name": "First"}, {"cisPersonId": "P1", "name": "Last"}]
    assert cpm.post("/master-data", {"persons": people}).json()["persons"] == 1
    with cpm.part.db.read() as conn:
        assert conn.execute(sa.select(persons.c.name)).scalars().all() == ["Last"]


def test_a_load_over_ten_thousand_records_answers_422(cpm: Cpm) -> None:
    persons = [{"cisPersonId": f"P{i}"} for i in range(10_001)]
    answer = cpm.post("/master-data", {"persons": persons})
    assert answer.status_code == 422
    assert "10000" in answer.json()["detail"]
