"""cpm's subscriptions list, narrowed as the console's records pages ask: by status, program,
service point, account, part of the customer's name, or any id of the subscription."""

from __future__ import annotations

from typing import Any

from cpm_harness import Cpm


def listed(cpm: Cpm, **params: Any) -> list[str]:
    answer = cpm.get("/subscriptions", **params)
    assert answer.status_code == 200, answer.text
    return [i["subscriptionId"] for i in answer.json()["items"]]


def test_the_subscriptions_list_narrows_by_each_filter_and_any_id(seeded: Cpm) -> None:
    pending = seeded.enroll("REQ-1")["enrollmentId"]
    active = seeded.active_enrollment(
        "REQ-2", account="A2", service_point="SP2", assets=[seeded.asset("NIC-2")]
    )["enrollmentId"]
    both = sorted([pending, active])
    assert listed(seeded) == both
    assert listed(seeded, status="Active") == [active]
    assert listed(seeded, status="Pending") == [pending]
    assert listed(seeded, programCode="BYOT") == both
    assert listed(seeded, programCode="OLD") == []
    assert listed(seeded, servicePointId="SP1") == [pending]
    assert listed(seeded, accountId="A2") == [active]
    assert listed(seeded, customerName="ann l") == [pending]  # any case, any part (P1's)
    assert listed(seeded, customerName="Zed") == []
    assert listed(seeded, status="Active", accountId="A1") == []
    for any_id, found in (("SP2", [active]), ("A1", [pending]), (pending, [pending]),
                          ("REQ-2", [active]), ("P1", [pending]), ("nothing", [])):  # fmt: skip
        assert listed(seeded, id=any_id) == found, any_id
    item = seeded.get("/subscriptions", accountId="A1").json()["items"][0]
    assert item == {
        "subscriptionId": pending,
        "status": "Pending",
        "programCode": "BYOT",
        "cisServicePointId": "SP1",
        "cisAccountId": "A1",
        "customerName": "Ann Lee",
        "devices": ["ECOBEE-HE!NIC-1"],
    }
    # P2, A2's customer, has no name in cpm.
    assert seeded.get("/subscriptions", accountId="A2").json()["items"][0]["customerName"] == ""
    first = seeded.get("/subscriptions", limit=1).json()
    assert first["next"] == both[0]
    assert listed(seeded, limit=1, after=first["next"]) == [both[1]]
    assert seeded.get("/subscriptions", status="Gone").status_code == 422
