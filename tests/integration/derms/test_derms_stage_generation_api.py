"""Stage generation over HTTP, on SQLite and PostgreSQL: DERMS reads the enrolled devices, the
network, the scores, the forecasts and the rules it holds, plans the event's stages, keeps
their devices and the plan, and counts what it left out and why; a second event over the same
hours finds the devices reserved and reports its shortfall."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from derlink.derms.inputs.schemas import FORECAST_EXAMPLE, SCORE_EXAMPLE

from .support import Headers, enroll_sync, thermostat
from .test_derms_masterdata_api import RULES, program, rule
from .test_derms_network import load, model_file

API = "/api/v1"
PROGRAM = "BYOT-SUMMER"  # the program of support.enroll_sync
#: Friday 17 July 2026, 12:00 to 16:00 UTC: a weekday inside the rule's 12:00–20:00 window.
START, END = "2026-07-17T12:00:00Z", "2026-07-17T16:00:00Z"


@pytest.fixture
def world(client: TestClient, settings: Any, operator: Headers, hub_headers: Headers) -> None:
    """Four enrolled thermostats: S1 and S2 under the zone with forecasts and scores, S3's on a
    head-end system DERMS does not serve (not registered), S4's under another substation."""
    make_world(client, settings, operator, hub_headers)


def make_world(
    client: TestClient,
    settings: Any,
    operator: Headers,
    hub_headers: Headers,
    zone_sites: tuple[str, ...] = ("S1", "S2"),
) -> None:
    """The world of ``world``, with ``zone_sites`` (S1, S2, S5, …) under the zone, each with a
    1 kW forecast and a score of 80."""
    answer = client.post(f"{API}/head-end-systems", json={"codes": ["ECOBEE-HE"]},
                         headers=operator)  # fmt: skip
    assert answer.status_code == 200, answer.text
    head_end = {"S3": "OTHER-HE"}
    syncs = [
        enroll_sync(f"M-{s}", s, thermostat(f"NIC-{s}", he=head_end.get(s, "ECOBEE-HE")))
        for s in (*zone_sites, "S3", "S4")
    ]
    answer = client.post(f"{API}/enrollments", json={"batchId": "B-1", "messages": syncs},
                         headers=hub_headers)  # fmt: skip
    assert answer.status_code in (200, 202), answer.text
    sent = client.post(RULES, json={"batchId": "R-1", "programs": [program(PROGRAM, 1, rule())]},
                       headers=hub_headers)  # fmt: skip
    assert sent.json()["results"][0]["outcome"] == "Applied", sent.text
    load(client, settings, operator, "NETMODEL_1.csv", model_file(
        ("SUBSTATION", "SUB-NORTH", "", "North", "2026-01-01"),
        ("SUBSTATION", "SUB-SOUTH", "", "South", "2026-01-01"),
        ("FEEDER", "F1", "SUB-NORTH", "Feeder 1", "2026-01-01"),
        ("FEEDER", "F9", "SUB-SOUTH", "Feeder 9", "2026-01-01"),
        ("TRANSFORMER", "T1", "F1", "Pole 1", "2026-01-01"),
        ("TRANSFORMER", "T9", "F9", "Pole 9", "2026-01-01"),
        *(("SERVICE_POINT", f"SP-{s}", "T1", "", "2026-01-01") for s in (*zone_sites, "S3")),
        ("SERVICE_POINT", "SP-S4", "T9", "", "2026-01-01"),
    ))  # fmt: skip
    scores = [
        {**SCORE_EXAMPLE, "nicId": f"NIC-{s}", "deviceId": f"D-NIC-{s}", "score": 80}
        for s in zone_sites
    ]
    body = {"batchId": "S-1", "file": "SDCSE_1.csv", "scores": scores}
    answer = client.post(f"{API}/device-scores", headers=hub_headers, json=body)
    assert answer.status_code == 200, answer.text
    forecasts = [
        {**FORECAST_EXAMPLE, "spId": f"SP-{s}", "programId": PROGRAM, "windowStartTime": START,
         "windowEndTime": END, "intervalSeconds": 3600, "p10Kw": [0.8] * 4, "p50Kw": [1.0] * 4,
         "p90Kw": [1.2] * 4}
        for s in (*zone_sites, "S4")
    ]  # fmt: skip
    body = {"batchId": "F-1", "file": "LRF_1.csv", "forecasts": forecasts}
    answer = client.post(f"{API}/forecasts", headers=hub_headers, json=body)
    assert answer.status_code == 200, answer.text
    kind = {"name": "Peak", "priority": 50, "baChecked": False}
    assert client.put(f"{API}/strategy-types/PEAK", json=kind, headers=operator).status_code == 200


def new_event(client: TestClient, operator: Headers, mw: float) -> str:
    strategy = {
        "name": "North peak",
        "controlZone": "SUB-NORTH",
        "programs": [PROGRAM],
        "type": "PEAK",
        "target": {"objective": "LOAD_REDUCTION", "mwPerHour": mw, "maxIncreasePct": 100},
    }
    made = client.post(f"{API}/strategies", json=strategy, headers=operator)
    assert made.status_code == 201, made.text
    body = {"strategyId": made.json()["id"], "name": "Peak", "type": "ECONOMIC",
            "start": START, "end": END}  # fmt: skip
    answer = client.post(f"{API}/events", json=body, headers=operator)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


@pytest.mark.usefixtures("world")
def test_generation_plans_the_eligible_devices_and_says_why_the_others_were_left_out(
    client: TestClient, operator: Headers, viewer: Headers
) -> None:
    event_id = new_event(client, operator, mw=0.0015)  # 1.5 kW: both devices (0.8 kW each)
    answer = client.post(f"{API}/events/{event_id}/generate", json={"intervalSeconds": 3600},
                         headers=operator)  # fmt: skip
    assert answer.status_code == 200, answer.text
    plan = answer.json()["plan"]
    assert plan["candidates"] == 4
    assert plan["exclusions"]["NOT_REGISTERED"] == 1  # S3's head-end system
    assert plan["exclusions"]["OUTSIDE_ZONE"] == 1  # S4 under SUB-SOUTH
    assert plan["maxShortfallKw"] == 0.0 and plan["needKw"][:4] == [1.5] * 4
    (stage,) = answer.json()["event"]["stages"]
    assert (stage["program"], stage["deviceCount"], stage["state"]) == (PROGRAM, 2, "Planned")
    assert stage["p50Kw"] == [1.6] * 4  # 1 kW forecast × score 80 %, two devices
    devices = client.get(f"{API}/stages/{stage['id']}/devices", headers=viewer).json()
    assert [(d["nicId"], d["spId"], d["feederId"]) for d in devices["items"]] == [
        ("NIC-S1", "SP-S1", "F1"),
        ("NIC-S2", "SP-S2", "F1"),
    ]
    assert client.get(f"{API}/events/{event_id}/plan", headers=viewer).json() == plan
    trail = client.get(f"{API}/events/{event_id}/audit", headers=viewer).json()
    assert trail[-1]["action"] == "PLAN"
    assert trail[-1]["detail"].startswith("greedy: 1 stage(s), 2 device(s) of 4 candidate(s)")


@pytest.mark.usefixtures("world")
def test_a_second_event_over_the_same_hours_finds_the_devices_reserved_and_falls_short(
    client: TestClient, operator: Headers, credentials: Any
) -> None:
    first = new_event(client, operator, mw=0.0015)
    client.post(f"{API}/events/{first}/generate", json={"intervalSeconds": 3600},
                headers=operator)  # fmt: skip
    client.post(f"{API}/events/{first}/submit", headers=operator)
    approver = credentials.client("approver").header()
    done = client.post(f"{API}/events/{first}/approve", headers=approver)
    assert done.json()["event"]["state"] == "Scheduled", done.text

    second = new_event(client, operator, mw=0.001)
    answer = client.post(f"{API}/events/{second}/generate", json={"intervalSeconds": 3600},
                         headers=operator)  # fmt: skip
    plan = answer.json()["plan"]
    assert plan["exclusions"]["RESERVED"] == 2
    assert plan["maxShortfallKw"] == 1.0 and answer.json()["event"]["stages"] == []


@pytest.mark.usefixtures("world")
def test_what_generation_needs_is_asked_for_by_name(client: TestClient, operator: Headers) -> None:
    event_id = new_event(client, operator, mw=0.0015)
    odd = client.post(f"{API}/events/{event_id}/generate", json={"intervalSeconds": 7000},
                      headers=operator)  # fmt: skip
    assert odd.status_code == 422 and "whole number of planning steps" in odd.json()["detail"]
    client.post(f"{API}/events/{event_id}/cancel", json={"reason": "x"}, headers=operator)
    late = client.post(f"{API}/events/{event_id}/generate", json={}, headers=operator)
    assert late.status_code == 409 and late.json()["code"] == "DERMS-EVENT-STATE"
    none = client.get(f"{API}/events/{event_id}/plan", headers=operator)
    assert none.status_code == 404
