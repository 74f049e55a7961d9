"""Acknowledgements, discards, pages and counts of sync requests, over HTTP."""

from __future__ import annotations

import sqlalchemy as sa
from cpm_harness import Cpm

from derlink.cpm.db import outbox
from derlink.cpm.enrollment.service.sync_requests import enroll_sync_sent


def test_a_collection_of_acknowledgements_gets_one_outcome_each(seeded: Cpm) -> None:
    enrolled = seeded.enroll("REQ-1")
    good = enrolled["syncRequestId"]
    device = seeded.enrollment(enrolled["enrollmentId"])["devices"][0]["deviceId"]
    bad = seeded.enroll("REQ-2", account="A2", service_point="SP2",
                        assets=[seeded.asset("NIC-2")])["syncRequestId"]  # fmt: skip
    failure = {"messageCategory": "DERMS", "messageNumber": "DERMS-DEVICE-CONFLICT",
               "messageParameters": ["ECOBEE-HE!NIC-2"], "comments": "held elsewhere"}  # fmt: skip
    answer = seeded.post(
        "/sync-requests/acknowledgements",
        {"acknowledgements": [
            {"syncRequestId": good, "hasError": False,
             "deviceHeadendStatus": [{"deviceId": device, "headEndRegistration": "D1RE"}]},
            {"syncRequestId": bad, "hasError": True, "exceptionInfo": [failure]},
            {"syncRequestId": good, "hasError": False},
            {"syncRequestId": "SR-unknown", "hasError": False},
        ]},
        client="hub",
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"] == [
        {"syncRequestId": good, "outcome": "Synchronized"},
        {"syncRequestId": bad, "outcome": "Error"},
        {"syncRequestId": good, "outcome": "Duplicate"},
        {"syncRequestId": "SR-unknown", "outcome": "Rejected", "code": "CPM-SYNC-UNKNOWN",
         "detail": "no such sync request"},
    ]  # fmt: skip
    page = seeded.get("/sync-requests", state="Error").json()
    [errored] = page["items"]
    assert (errored["syncRequestId"], errored["errorInfo"]) == (bad, [failure])
    assert seeded.history(good) == [
        (None, "Pending", "operator"),
        ("Pending", "Synchronized", "hub"),
    ]


def test_a_redelivered_ack_is_suppressed_and_changes_nothing(seeded: Cpm) -> None:
    created = seeded.enroll()
    assert seeded.ack(created["syncRequestId"])["outcome"] == "Synchronized"
    again = seeded.ack(created["syncRequestId"], hasError=True, exceptionInfo=[{"comments": "x"}])
    assert again == {"syncRequestId": created["syncRequestId"], "outcome": "Duplicate"}
    enrollment = seeded.enrollment(created["enrollmentId"])
    assert (enrollment["status"], enrollment["version"]) == ("Active", 2)
    assert enrollment["syncRequests"][0]["state"] == "Synchronized"


def test_an_error_ack_leaves_the_subscription_pending(seeded: Cpm) -> None:
    created = seeded.enroll()
    assert seeded.ack(created["syncRequestId"], hasError=True)["outcome"] == "Error"
    assert seeded.enrollment(created["enrollmentId"])["status"] == "Pending"


def test_an_ack_applies_to_a_request_the_hub_has_already_accepted(seeded: Cpm) -> None:
    created = seeded.enroll()
    with seeded.part.db.begin() as conn:
        enroll_sync_sent(conn, [created["syncRequestId"]], clock=seeded.clock)
    assert seeded.sync_state(created["syncRequestId"]) == "Awaiting Acknowledgement"
    assert seeded.ack(created["syncRequestId"])["outcome"] == "Synchronized"
    assert seeded.history(created["syncRequestId"]) == [
        (None, "Pending", "operator"),
        ("Pending", "Awaiting Acknowledgement", "cpm"),
        ("Awaiting Acknowledgement", "Synchronized", "hub"),
    ]


def test_an_acceptance_after_the_ack_leaves_the_request_synchronized(seeded: Cpm) -> None:
    created = seeded.enroll()
    seeded.ack(created["syncRequestId"])
    with seeded.part.db.begin() as conn:
        enroll_sync_sent(conn, [created["syncRequestId"]], clock=seeded.clock)
    assert seeded.sync_state(created["syncRequestId"]) == "Synchronized"


def test_update_and_transition_takes_one_oracle_acknowledgement(seeded: Cpm) -> None:
    sync_id = seeded.enroll()["syncRequestId"]
    path = f"/sync-requests/{sync_id}/update-and-transition"
    answer = seeded.post(path, {"hasError": False, "deviceHeadendStatus": []}, client="hub")
    assert answer.json() == {"syncRequestId": sync_id, "outcome": "Synchronized"}
    again = seeded.post(path, {"syncRequestId": sync_id, "hasError": False}, client="hub")
    assert again.json() == {"syncRequestId": sync_id, "outcome": "Duplicate"}
    unknown = seeded.post("/sync-requests/SR-none/update-and-transition", {}, client="hub")
    assert (unknown.status_code, unknown.json()["code"]) == (200, "CPM-SYNC-UNKNOWN")


def test_a_discard_records_who_did_it_and_withdraws_the_unsent_message(seeded: Cpm) -> None:
    sync_id = seeded.enroll()["syncRequestId"]
    answer = seeded.post(f"/sync-requests/{sync_id}/discard", {"note": "customer withdrew"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "Discarded"
    history = seeded.get(f"/sync-requests/{sync_id}/history").json()
    assert history[-1] == {"fromState": "Pending", "toState": "Discarded", "at": history[-1]["at"],
                           "actor": "operator", "note": "customer withdrew"}  # fmt: skip
    assert seeded.outbox_messages() == []
    late = seeded.ack(sync_id)
    assert (late["outcome"], late["code"]) == ("Rejected", "CPM-SYNC-DISCARDED")
    assert seeded.post(f"/sync-requests/{sync_id}/discard").status_code == 200
    assert len(seeded.history(sync_id)) == 2


def test_a_discard_keeps_a_message_the_publisher_has_claimed(seeded: Cpm) -> None:
    sync_id = seeded.enroll()["syncRequestId"]
    with seeded.part.db.begin() as conn:
        conn.execute(outbox.update().values(batch_id="ENR-SYNC-claimed"))
    seeded.post(f"/sync-requests/{sync_id}/discard")
    with seeded.part.db.read() as conn:
        held = sa.select(sa.func.count()).where(outbox.c.flow == "ENR-SYNC")
        assert conn.execute(held).scalar_one() == 1


def test_a_synchronized_request_cannot_be_discarded(seeded: Cpm) -> None:
    sync_id = seeded.active_enrollment()["syncRequestId"]
    answer = seeded.post(f"/sync-requests/{sync_id}/discard")
    assert (answer.status_code, answer.json()["code"]) == (409, "CPM-SYNC-SYNCHRONIZED")
    assert seeded.post("/sync-requests/SR-none/discard").status_code == 404


def test_counts_list_every_state(seeded: Cpm) -> None:
    assert seeded.get("/sync-requests/counts").json() == {
        "Pending": 0, "Awaiting Acknowledgement": 0, "Synchronized": 0, "Error": 0,
        "Discarded": 0,
    }  # fmt: skip
    seeded.active_enrollment("REQ-1")
    seeded.enroll("REQ-2", account="A2", service_point="SP2", assets=[seeded.asset("NIC-2")])
    counts = seeded.get("/sync-requests/counts").json()
    assert (counts["Pending"], counts["Synchronized"]) == (1, 1)


def test_sync_requests_page_in_creation_order(seeded: Cpm) -> None:
    first = seeded.enroll("REQ-1")["syncRequestId"]
    second = seeded.enroll("REQ-2", account="A2", service_point="SP2",
                           assets=[seeded.asset("NIC-2")])["syncRequestId"]  # fmt: skip
    page = seeded.get("/sync-requests", limit=1).json()
    assert [i["syncRequestId"] for i in page["items"]] == [first]
    rest = seeded.get("/sync-requests", limit=1, after=page["next"]).json()
    assert ([i["syncRequestId"] for i in rest["items"]], rest["next"]) == ([second], None)
    assert seeded.get("/sync-requests", state="Synchronized").json() == {"items": [], "next": None}
