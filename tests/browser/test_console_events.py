"""The console's events, over HTTP without a browser: DERMS served on loopback with the
console's credential store, an event planned and submitted through DERMS's own API; the list's
filters and Open, an event's page (stages, the chart against the objective, approvals, audit
trail), and approve and cancel as the signed-in client, DERMS checking that client's scopes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient

from derlink.common.clock import FixedClock
from derlink.console.events import expected_series, grid_of, objective_kw
from derlink.contracts.network_files import MODEL_HEADER
from derlink.derms.app import DermsPart
from derlink.derms.app import create_part as create_derms
from derlink.derms.events import service
from derlink.derms.events.schemas import OPT_OUT_EXAMPLE, STRATEGY_EXAMPLE
from derlink.derms.masterdata.schemas import PROGRAM_RULES_EXAMPLE
from derlink.platform.http import Connection, HttpClient
from derlink.platform.settings import Settings
from tests.browser.test_console_pages import Console, flash_of, sign_in, token_of
from tests.support.servers import serve

CLOCK = FixedClock(datetime(2026, 7, 16, 12, 0, tzinfo=UTC))
T0 = datetime(2026, 7, 17, 22, 0, tzinfo=UTC)
H = timedelta(hours=1)


#: A generated plan's summary as DERMS keeps it (stage_plan.Plan.to_dict, less the stages).
PLAN = {
    "start": T0.isoformat(),
    "step_s": 3600,
    "planner": "greedy",
    "need_kw": [25000.0] * 4 + [1500.0],
    "planned_kw": [5000.0, 5100.0, 5000.0, 5100.0],
    "shortfall_kw": [20000.0, 19900.0, 20000.0, 19900.0],
    "snapback_kw": [0.0] * 5,
    "max_shortfall_kw": 20000.0,
    "exclusions": {"NOT_REGISTERED": 3, "OUTSIDE_ZONE": 7},
    "candidates": 14,
    "eligible_unused": 0,
    "default_score_devices": 1,
    "peak_planned_mw": 5.1,
    "notes": [{"code": "snapback.over_limit", "detail": "the snap-back passes the limit"}],
}


@dataclass
class Derms:
    part: DermsPart
    api: httpx.Client
    event_id: str
    strategy_id: str


def _ok(answer: httpx.Response) -> Any:
    assert answer.status_code < 300, answer.text
    return answer.json()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    (tmp_path / "console").mkdir()
    opened = Console(tmp_path / "console", time_zone="America/Los_Angeles")
    yield opened
    opened.close()


@pytest.fixture
def derms(console: Console, tmp_path: Path) -> Iterator[Derms]:
    """DERMS with the console's credentials, a submitted event of two stages (5 MW each hour,
    against a 25 MW objective)."""
    credentials = console.credentials
    (tmp_path / "derms").mkdir()
    settings = Settings(home=tmp_path / "derms")
    part = create_derms(settings=settings, credentials=credentials, clock=CLOCK, hub=None)
    operator = credentials.client("operator").header()
    hub = credentials.client("hub")
    try:
        with serve(part.app) as url:
            console.harness.hub.targets.derms = HttpClient(
                Connection(name="derms", base_url=url, username="hub", secret=hub.secret)
            )
            with httpx.Client(base_url=f"{url}/api/v1", headers=operator) as api:
                body = {"batchId": "B-1", "programs": [PROGRAM_RULES_EXAMPLE]}
                _ok(api.post("/program-rules", json=body, headers=hub.header()))
                model = io.StringIO()
                csv.writer(model, lineterminator="\n").writerows(
                    [MODEL_HEADER, ("SUBSTATION", "SUB-NORTH", "", "North", "2026-01-01")]
                )
                store = settings.home / "files" / "derms-model"
                store.mkdir(parents=True, exist_ok=True)
                (store / "NETMODEL_1.csv").write_text(model.getvalue())
                _ok(api.post("/network/model-files/intake"))
                kind = {"name": "Peak", "priority": 50, "baChecked": False}
                _ok(api.put("/strategy-types/PEAK", json=kind))
                strategy = _ok(api.post("/strategies", json=STRATEGY_EXAMPLE))["id"]
                event = _ok(api.post("/events", json={
                    "strategyId": strategy, "name": "Heat wave", "type": "EMERGENCY",
                    "start": T0.isoformat(), "end": (T0 + 4 * H).isoformat()}))["id"]  # fmt: skip
                plans = [
                    service.StagePlan("BYOT", T0 + i * 2 * H, T0 + (i + 1) * 2 * H, 3600,
                                      (4000.0, 4100.0), (5000.0, 5100.0), (6000.0, 6100.0), 2,
                                      devices=(("ECOBEE-HE", f"NIC-{i}1", f"D-{i}1", "SP1", "F1"),
                                               ("ECOBEE-HE", f"NIC-{i}2", f"D-{i}2", "SP2", "")))
                    for i in range(2)
                ]  # fmt: skip
                service.plan_event(db=part.db, clock=CLOCK, event_id=event, plans=plans,
                                   actor="operator", summary=PLAN, detail="greedy")  # fmt: skip
                _ok(api.post(f"/events/{event}/submit"))
                yield Derms(part, api, event, strategy)
    finally:
        part.db.dispose()


def _web(console: Console, who: str) -> Iterator[TestClient]:
    with TestClient(console.app, follow_redirects=False) as client:
        sign_in(client, console, who)
        yield client


@pytest.fixture
def approver_web(console: Console) -> Iterator[TestClient]:
    yield from _web(console, "approver")


@pytest.fixture
def viewer_web(console: Console) -> Iterator[TestClient]:
    yield from _web(console, "viewer")


def test_the_events_list_filters_and_opens_an_event_by_its_id_or_a_stage_id(
    derms: Derms, viewer_web: TestClient
) -> None:
    page = viewer_web.get("/records/events").text
    assert f'href="/records/events/{derms.event_id}"' in page
    assert f'href="/records/events?strategy={derms.strategy_id}"' in page
    assert 'href="/records/programs/BYOT"' in page
    assert "2026-07-17 15:00" in page  # the window in the utility's zone (PDT)
    none = viewer_web.get("/records/events", params={"state": "Completed"}).text
    assert derms.event_id not in none and "matches these filters" in none
    by_strategy = viewer_web.get("/records/events", params={"strategy": derms.strategy_id})
    assert derms.event_id in by_strategy.text
    stage_id = derms.api.get(f"/events/{derms.event_id}").json()["stages"][1]["id"]
    opened = viewer_web.get("/records/events", params={"q": stage_id})
    assert opened.headers["location"] == f"/records/events/{derms.event_id}"
    unknown = viewer_web.get("/records/events", params={"q": "EV-none"})
    assert unknown.status_code == 404 and "no event or stage" in unknown.text


def test_an_event_shows_its_stages_chart_and_audit_and_a_viewer_cannot_decide(
    derms: Derms, viewer_web: TestClient
) -> None:
    page = viewer_web.get(f"/records/events/{derms.event_id}").text
    assert "Submitted" in page and "25 MW asked for, with snap-back" in page
    assert 'class="objective"' in page  # the plan's need on the chart
    assert "objective up to 25000 kW" in page  # and in the chart's words
    assert "short by up to 20000.0 kW" in page  # the shortfall, said
    assert "<td>OUTSIDE_ZONE</td><td>7</td>" in page  # what each rule left out
    assert "snapback.over_limit: the snap-back passes the limit" in page
    stage_id = derms.api.get(f"/events/{derms.event_id}").json()["stages"][0]["id"]
    assert f'href="/records/events/{derms.event_id}/stages/{stage_id}"' in page
    devices = viewer_web.get(f"/records/events/{derms.event_id}/stages/{stage_id}").text
    assert 'href="/records/scores/ECOBEE-HE/NIC-01"' in devices
    assert 'href="/records/network/nodes/F1"' in devices
    assert 'href="/records/registry?service_point=SP2"' in devices
    assert page.count('<td><a href="/records/programs/BYOT">BYOT</a></td>') == 2  # two stages
    assert "SUBMIT" in page and "PLAN" in page  # the audit trail
    assert "/approve" not in page and "/cancel" not in page  # no decision for a viewer
    token = token_of(viewer_web.get("/").text)  # the session's form token
    refused = viewer_web.post(f"/records/events/{derms.event_id}/approve", data={"csrf": token})
    assert "DERMS refused" in flash_of(viewer_web, refused)


def test_an_approver_approves_and_derms_records_them_as_the_actor(
    derms: Derms, approver_web: TestClient
) -> None:
    page = approver_web.get(f"/records/events/{derms.event_id}").text
    assert f'action="/records/events/{derms.event_id}/approve"' in page
    assert f'action="/records/events/{derms.event_id}/deny"' in page
    assert "/cancel" not in page  # canceling needs derms:events
    done = approver_web.post(
        f"/records/events/{derms.event_id}/approve", data={"csrf": token_of(page)}
    )
    assert flash_of(approver_web, done) == f"Event {derms.event_id}: Scheduled."
    trail = derms.api.get(f"/events/{derms.event_id}/audit").json()
    assert [(a["action"], a["actor"]) for a in trail[-4:]] == [
        ("APPROVE", "approver"),
        ("SCHEDULE", "approver"),
        ("RESERVE", "derms"),  # each stage's devices
        ("RESERVE", "derms"),
    ]
    empty = approver_web.post(
        f"/records/events/{derms.event_id}/deny", data={"csrf": token_of(page), "reason": " "}
    )
    assert flash_of(approver_web, empty) == "To deny an event, say why."


def test_an_event_shows_what_cpm_made_of_each_stage_transition(
    derms: Derms, approver_web: TestClient, console: Console
) -> None:
    page = approver_web.get(f"/records/events/{derms.event_id}").text
    assert "No stage has moved yet." in page
    approver_web.post(f"/records/events/{derms.event_id}/approve", data={"csrf": token_of(page)})
    first, second = (s["id"] for s in derms.api.get(f"/events/{derms.event_id}").json()["stages"])
    hub = console.credentials.client("hub").header()
    ack = {"ackType": "ERROR", "responses": [
        {"id": f"{first}.SCHEDULED", "responseCode": "SUCCESS", "value": "PE-1"},
        {"id": f"{second}.SCHEDULED", "responseCode": "CPM-PROGRAM-INACTIVE",
         "value": "program BYOT is Inactive"}]}  # fmt: skip
    _ok(derms.api.post("/acks/event-status", json=ack, headers=hub))

    page = approver_web.get(f"/records/events/{derms.event_id}").text
    assert 'href="/records/program-events/PE-1"' in page  # cpm's program event, linked
    assert f'href="/records/program-events?event={derms.event_id}"' in page  # and all of them
    assert '<span class="status s-delivered">Delivered</span>' in page
    assert "CPM-PROGRAM-INACTIVE: program BYOT is Inactive" in page
    assert "2026-07-16 05:00" in page  # when the approval scheduled them, in PDT
    assert "CPM_FAILED" in page  # the failure in the audit trail
    assert f"RESERVE_{derms.event_id}_{first}_000.csv" in page  # its reservation file
    assert '<span class="status s-pending">Pending</span>' in page  # not written yet
    devices = approver_web.get(f"/records/events/{derms.event_id}/stages/{first}").text
    assert "The stage&#39;s reservations" in devices or "The stage's reservations" in devices
    assert devices.count('<span class="status s-reserved">Reserved</span>') == 2


def test_an_event_shows_its_opt_outs_and_what_each_did(
    derms: Derms, approver_web: TestClient, console: Console
) -> None:
    page = approver_web.get(f"/records/events/{derms.event_id}").text
    assert "No device has been opted out of this event." in page
    assert "No outcome file yet" in page
    approver_web.post(f"/records/events/{derms.event_id}/approve", data={"csrf": token_of(page)})
    first = derms.api.get(f"/events/{derms.event_id}").json()["stages"][0]["id"]
    hub = console.credentials.client("hub").header()
    record = {**OPT_OUT_EXAMPLE, "participationId": "EP-77", "eventExternalIdentifier":
              derms.event_id, "externalIdentifier": first, "headEndSystem": "ECOBEE-HE",
              "nicId": "NIC-01"}  # fmt: skip
    done = _ok(derms.api.post("/opt-outs", json={"batchId": "O-1", "optOuts": [record]},
                              headers=hub))  # fmt: skip
    assert done["results"][0]["outcome"] == "Applied"
    page = approver_web.get(f"/records/events/{derms.event_id}").text
    assert f'href="/records/program-events?q={first}">EP-77</a>' in page  # cpm's participation
    assert "2026-07-17 07:05:00 PDT" in page  # the opt-out's time, in the utility's zone
    assert "<td>Released</td>" in page
    assert "1 device(s) opted out in cpm: their reservations released" in page  # the audit


def test_the_chart_sums_the_stages_per_interval_and_names_the_objective() -> None:
    event = {
        "stages": [
            {"state": "Scheduled", "start": "2026-07-17T22:00:00Z", "end": "2026-07-18T00:00:00Z",
             "intervalSeconds": 3600, "p10Kw": [1, 2], "p50Kw": [2, 3], "p90Kw": [3, 4]},
            {"state": "Scheduled", "start": "2026-07-17T23:00:00Z", "end": "2026-07-18T00:00:00Z",
             "intervalSeconds": 1800, "p10Kw": [1, 1], "p50Kw": [1, 1], "p90Kw": [1, 1]},
            {"state": "Canceled", "start": "2026-07-17T22:00:00Z", "end": "2026-07-17T23:00:00Z",
             "intervalSeconds": 3600, "p10Kw": [9], "p50Kw": [9], "p90Kw": [9]},
        ]
    }  # fmt: skip
    grid = grid_of(event, None)
    assert grid is not None
    rows = expected_series(event, grid, ZoneInfo("America/Los_Angeles"))
    assert [r["label"] for r in rows] == ["15:00", "15:30", "16:00", "16:30"]
    assert [r["p50"] for r in rows] == [2.0, 2.0, 4.0, 4.0]
    assert objective_kw({"objective": "LOAD_REDUCTION", "mwPerHour": 1.5}, None, 2) == (
        [1500.0, 1500.0],
        "1.5 MW asked for",
    )
    assert objective_kw({"objective": "MAXIMUM_REDUCTION"}, None, 2)[0] is None
    plan = {"needKw": [3.0, 2.0, 1.0]}
    assert objective_kw({"objective": "MAX_DEMAND_THRESHOLD", "maxDemandMw": 9}, plan, 2) == (
        [3.0, 2.0],
        "keep the zone's load under 9 MW, with snap-back",
    )
