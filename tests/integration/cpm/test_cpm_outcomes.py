"""Event outcomes in cpm (EVT-OUTCOME, docs/contracts/event-outcomes.md): a stage's device
outcomes recorded on their participations in collections, each device answered in its order
(Recorded, Exists, Rejected with a code), what came with each kept and read back; on SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from cpm_harness import Cpm
from extract_support import file_text
from test_cpm_opt_outs import opted_out, reserved
from test_cpm_participations import listed, refusal

__all__ = ["reserved"]  # the fixture
FILE = "OUTCOME_20260718T010500Z_000001.csv"


def outcome(nic: str, code: str = "D1SP", **more: Any) -> dict[str, Any]:
    return {"headEndSystem": "ECOBEE-HE", "nicId": nic, "outcome": code, **more}


def post(cpm: Cpm, *devices: dict[str, Any], stage_id: str = "SG-1", event: str = "EV-1",
         client: str = "hub") -> Any:  # fmt: skip
    body = {"eventExternalIdentifier": event, "externalIdentifier": stage_id,
            "fileName": FILE, "postOutcomeList": list(devices)}  # fmt: skip
    return cpm.post("/program-events/outcomes", body, client=client)


def results(answer: Any) -> list[tuple[str, str, str]]:
    assert answer.status_code == 200, answer.text
    return [(r["nicId"], r["outcome"], r["code"]) for r in answer.json()["results"]]


def test_outcomes_are_recorded_once_and_each_device_is_answered_in_order(
    seeded: Cpm, reserved: dict[str, Any]
) -> None:
    opted_out(seeded, reserved["ids"]["NIC-2"])
    answer = post(
        seeded,
        outcome("NIC-1", participationStartDateTime="2026-07-17T15:00:00-07:00",
                participationEndDateTime="2026-07-17T22:30:00Z", measuredKw=0.93),
        outcome("NIC-2"),  # opted out: takes no outcome
        outcome("NIC-9"),  # no participation in the program event
        outcome("NIC-1", "D1ND"),  # named twice
    )  # fmt: skip
    assert results(answer) == [
        ("NIC-1", "Recorded", ""),
        ("NIC-2", "Rejected", "CPM-PARTICIPATION-STATE"),
        ("NIC-9", "Rejected", "CPM-PARTICIPATION-UNKNOWN"),
        ("NIC-1", "Rejected", "CPM-OUTCOME-INVALID"),
    ]
    page = listed(seeded, reserved["event"])
    one = next(p for p in page["items"] if p["nicId"] == "NIC-1")
    assert (one["state"], one["outcome"]) == ("OutcomeRecorded", "D1SP")
    detail = one["outcomeDetail"]
    assert (detail["participationStartDateTime"], detail["participationEndDateTime"],
            detail["measuredKw"], detail["errorMessage"], detail["fileName"]) == (
        "2026-07-17T22:00:00+00:00", "2026-07-17T22:30:00+00:00", 0.93, "",
        FILE,
    )  # fmt: skip
    # The collection again: no second effect; another outcome for it is refused by name.
    assert results(post(seeded, outcome("NIC-1"))) == [("NIC-1", "Exists", "")]
    refused = post(seeded, outcome("NIC-1", "D1ER", errorMessage="thermostat offline"))
    assert results(refused) == [("NIC-1", "Rejected", "CPM-OUTCOME-RECORDED")]
    assert refused.json()["results"][0]["detail"] == (
        f"participation {reserved['ids']['NIC-1']} holds the outcome D1SP already"
    )


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ({"outcome": "D1XX"}, "outcome 'D1XX' is not one of D1SP, D1ND, D1IO, D1ER, D1CN"),
        ({"errorMessage": "x" * 101}, "errorMessage has 101 characters, more than 100"),
        ({"participationStartDateTime": "2026-07-17T15:00:00"},
         "participationStartDateTime '2026-07-17T15:00:00' has no UTC offset"),
        ({"participationStartDateTime": "2026-07-17T23:00:00Z",
          "participationEndDateTime": "2026-07-17T22:00:00Z"},
         "participationEndDateTime 2026-07-17T22:00:00+00:00 is before "
         "participationStartDateTime 2026-07-17T23:00:00+00:00"),
    ],
)  # fmt: skip
def test_an_outcome_that_does_not_hold_is_refused_for_that_device_alone(
    seeded: Cpm, reserved: dict[str, Any], given: dict[str, Any], why: str
) -> None:
    answer = post(seeded, outcome("NIC-1", **given), outcome("NIC-2", "D1CN"))
    assert results(answer) == [
        ("NIC-1", "Rejected", "CPM-OUTCOME-INVALID"),
        ("NIC-2", "Recorded", ""),
    ]
    assert answer.json()["results"][0]["detail"] == why


def test_a_call_for_an_unknown_or_foreign_stage_is_refused_whole(
    seeded: Cpm, reserved: dict[str, Any]
) -> None:
    assert refusal(post(seeded, outcome("NIC-1"), stage_id="SG-9")) == (
        404, "CPM-PROGRAM-EVENT-UNKNOWN")  # fmt: skip
    assert refusal(post(seeded, outcome("NIC-1"), event="EV-9")) == (
        422, "CPM-PROGRAM-EVENT-INVALID")  # fmt: skip
    assert post(seeded, outcome("NIC-1"), client="viewer").status_code == 403
    too_many = post(seeded, *[outcome(f"NIC-{n}") for n in range(5001)])
    assert too_many.status_code == 422 and "postOutcomeList" in too_many.text


def test_device_scores_count_the_recorded_outcomes(seeded: Cpm, reserved: dict[str, Any]) -> None:
    assert results(post(seeded, outcome("NIC-1", measuredKw=1.1), outcome("NIC-2", "D1ND"))) == [
        ("NIC-1", "Recorded", ""),
        ("NIC-2", "Recorded", ""),
    ]
    seeded.clock.advance(days=80)  # after the program event
    run = seeded.post("/score-runs")
    assert run.status_code == 201, run.text
    assert (run.json()["rows"], run.json()["historyFiles"]) == (2, 0)  # no history file
    text = file_text(seeded, run.json()["fileName"])
    by_nic = {r["NicId"]: r for r in csv.DictReader(io.StringIO(text))}
    assert (by_nic["NIC-1"]["Events"], by_nic["NIC-2"]["Events"]) == ("1", "1")
    assert int(by_nic["NIC-1"]["Score"]) > int(by_nic["NIC-2"]["Score"])
    assert by_nic["NIC-1"]["DeviceId"] == reserved["devices"]["NIC-1"]
