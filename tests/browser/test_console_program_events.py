"""The console's pages of cpm's program events, over HTTP without a browser: cpm served on
loopback and fed stages through its own API (as the hub does for DERMS), the console reading
them over the hub's connection; the list's filters, pages and links, Open, a program event's
page with its history, an unknown id, and cpm not answering. Then the event participations:
an Active subscription of 55 devices enrolled and two stages' devices reserved through cpm's
API; a program event's participations (pages, filters, links to the devices' subscription) and
a subscription's event history (all its devices', or one device's); and an opt-out from either
page as the signed-in client, shown there with what DERMS holds, or cpm's refusal said."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from derlink.common.clock import FixedClock
from derlink.common.errors import BusinessFault, RemoteFault
from derlink.cpm.app import create_part as create_cpm
from derlink.platform.http import Connection, HttpClient
from derlink.platform.settings import Settings
from tests.browser.test_console_pages import Console, flash_of, sign_in, token_of
from tests.integration.cpm.cpm_harness import asset, enrollment_request
from tests.support.servers import serve

CLOCK = FixedClock(datetime(2026, 7, 16, 12, 0, tzinfo=UTC))
T0 = datetime(2026, 7, 17, 22, 0, tzinfo=UTC)  # 15:00 in Los Angeles


@dataclass
class Cpm:
    api: httpx.Client
    #: The program events' ids, by stage id.
    ids: dict[str, str]


def _ok(answer: httpx.Response) -> Any:
    assert answer.status_code < 300, answer.text
    return answer.json()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    (tmp_path / "console").mkdir()
    opened = Console(tmp_path / "console", time_zone="America/Los_Angeles")
    yield opened
    opened.close()


@contextmanager
def _cpm_api(console: Console, tmp_path: Path) -> Iterator[httpx.Client]:
    """cpm served on loopback, the console's hub connected to it as the hub's client, and cpm's
    API as the operator."""
    credentials = console.credentials
    (tmp_path / "cpm").mkdir()
    part = create_cpm(
        settings=Settings(home=tmp_path / "cpm"), credentials=credentials, clock=CLOCK, hub=None
    )
    hub = credentials.client("hub")
    try:
        with serve(part.app) as url:
            console.harness.hub.targets.cpm = HttpClient(
                Connection(name="cpm", base_url=url, username="hub", secret=hub.secret)
            )
            operator = credentials.client("operator").header()
            with httpx.Client(base_url=f"{url}/api/v1", headers=operator) as api:
                yield api
    finally:
        part.db.dispose()


@pytest.fixture
def cpm(console: Console, tmp_path: Path) -> Iterator[Cpm]:
    """Programs BYOT (external id BYOT-2026) and EV-NIGHT; 55 stages: SG-00…SG-53 of event
    EV-1 in BYOT an hour apart, and SG-N of event EV-2 in EV-NIGHT, canceled."""
    with _cpm_api(console, tmp_path) as api:
        _ok(api.post("/programs", json={"programCode": "BYOT", "externalId": "BYOT-2026"}))
        _ok(api.post("/programs", json={"programCode": "EV-NIGHT"}))
        ids = {}
        stages = [(f"SG-{n:02}", "EV-1", "BYOT-2026", T0 + timedelta(hours=n))
                  for n in range(54)]  # fmt: skip
        stages.append(("SG-N", "EV-2", "EV-NIGHT", T0 - timedelta(days=1)))
        for stage, event, program, start in stages:
            created = _ok(api.post("/program-events", json={
                "startDateTime": start.isoformat(),
                "endDateTime": (start + timedelta(hours=1)).isoformat(),
                "eventExternalIdentifier": event, "externalIdentifier": stage,
                "programExternalIdentifier": program, "programEventCategory": "X1EC",
            }))  # fmt: skip
            ids[stage] = created["programEvent"]["id"]
        _ok(api.post("/program-events/lifecycle", json={
            "action": "F1CN", "cancelReason": "cool evening",
            "eventExternalIdentifier": "EV-2", "externalIdentifier": "SG-N"}))  # fmt: skip
        yield Cpm(api, ids)


@pytest.fixture
def web(console: Console) -> Iterator[TestClient]:
    with TestClient(console.app, follow_redirects=False) as client:
        sign_in(client, console, "viewer")
        yield client


def _page(web: TestClient, path: str, **params: str) -> str:
    answer = web.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.text


def _row(page: str, program_event_id: str) -> str:
    start = page.index(f'href="/records/program-events/{program_event_id}"')
    return page[start : page.index("</tr>", start)]


def test_the_list_links_each_program_event_to_its_page_program_and_derms_event(
    cpm: Cpm, web: TestClient
):
    page = _page(web, "/records/program-events")
    assert 'href="/records/program-events" aria-current="page"' in page  # in the navigation
    row = _row(page, cpm.ids["SG-53"])  # the latest start first
    assert page.index(cpm.ids["SG-53"]) < page.index(cpm.ids["SG-52"])
    assert 'href="/records/events/EV-1/stages/SG-53">SG-53</a>' in row
    assert 'href="/records/events/EV-1">EV-1</a>' in row
    assert 'href="/records/program-events?event=EV-1">its stages in cpm</a>' in row
    assert 'href="/records/programs/BYOT">BYOT</a>' in row
    assert "X1EC (economic)" in row and "Scheduled" in row
    # SG-53 starts 53 hours after T0: 2026-07-20 03:00 UTC, the evening before in Los Angeles.
    assert "2026-07-19 20:00:00 PDT</time> – " in row
    assert 'title="2026-07-20 03:00:00 UTC"' in row


def test_the_list_pages_by_fifty_and_keeps_its_filters(cpm: Cpm, web: TestClient):
    first = _page(web, "/records/program-events", program="BYOT")
    assert cpm.ids["SG-04"] in first and cpm.ids["SG-03"] not in first
    assert cpm.ids["SG-N"] not in first
    (following,) = re.findall(r'href="([^"]+)" rel="next"', first)
    following = html.unescape(following)
    assert following.startswith("/records/program-events?program=BYOT&after=")
    second = web.get(following).text
    assert [cpm.ids[f"SG-0{n}"] in second for n in range(5)] == [True] * 4 + [False]
    assert 'rel="next"' not in second
    assert 'href="/records/program-events?program=BYOT">First page</a>' in second


def test_the_list_narrows_by_program_event_stage_and_state(cpm: Cpm, web: TestClient):
    canceled = _page(web, "/records/program-events", state="Canceled")
    assert cpm.ids["SG-N"] in canceled and cpm.ids["SG-00"] not in canceled
    assert '<option value="Canceled" selected>' in canceled
    night = _page(web, "/records/program-events", program="EV-NIGHT")
    assert cpm.ids["SG-N"] in night and cpm.ids["SG-00"] not in night
    by_event = _page(web, "/records/program-events", event="EV-2")
    assert cpm.ids["SG-N"] in by_event and cpm.ids["SG-00"] not in by_event
    by_stage = _page(web, "/records/program-events", stage="SG-07")
    assert cpm.ids["SG-07"] in by_stage and cpm.ids["SG-08"] not in by_stage
    none = _page(web, "/records/program-events", event="EV-1", state="Complete")
    assert "No program event matches these filters." in none


def test_open_takes_cpm_s_id_a_stage_id_or_a_derms_event_id(cpm: Cpm, web: TestClient):
    pe = cpm.ids["SG-07"]
    for wanted in (pe, "SG-07", " SG-07 "):
        opened = web.get("/records/program-events", params={"q": wanted})
        assert opened.status_code == 303, opened.text
        assert opened.headers["location"] == f"/records/program-events/{pe}"
    event = web.get("/records/program-events", params={"q": "EV-2"})
    assert event.headers["location"] == "/records/program-events?event=EV-2"
    unknown = web.get("/records/program-events", params={"q": "X" * 100})
    assert unknown.status_code == 404
    assert "cpm holds no program event, stage or DERMS event" in unknown.text


def test_a_program_event_s_page_shows_its_history_in_the_utility_s_zone(cpm: Cpm, web: TestClient):
    page = _page(web, f"/records/program-events/{cpm.ids['SG-N']}")
    assert "Canceled</span> — cool evening" in page
    assert 'href="/records/programs/EV-NIGHT">EV-NIGHT</a> (DERMS named it EV-NIGHT)' in page
    assert 'href="/records/events/EV-2">EV-2</a>' in page
    assert 'href="/records/events/EV-2/stages/SG-N">SG-N</a>' in page
    history = page[page.index("<caption>History") :]
    assert [a for a in ("CREATE", "X1SD", "F1CN") if f"<td>{a}</td>" in history] == [
        "CREATE", "X1SD", "F1CN",
    ]  # fmt: skip
    assert history.index("CREATE") < history.index("X1SD") < history.index("F1CN")
    assert "<td>new</td>" in history and "<td>cool evening</td>" in history
    assert "2026-07-16 05:00:00 PDT" in history  # CLOCK's 12:00 UTC
    missing = web.get("/records/program-events/PE-NOPE")
    assert missing.status_code == 404 and "cpm holds no program event" in missing.text


def test_a_program_links_to_its_program_events(console: Console, cpm: Cpm, web: TestClient):
    async def derms(path: str, params: Any) -> Any:
        raise BusinessFault("DERMS holds no such program", status=404)

    console.harness.derms.handler = derms
    assert 'href="/records/program-events?program=BYOT">Program events</a>' in _page(
        web, "/records/programs"
    )
    assert 'href="/records/program-events?program=BYOT">Program events</a>' in _page(
        web, "/records/programs/BYOT"
    )


def test_cpm_not_answering_is_said_on_the_pages(console: Console, web: TestClient):
    async def down(path: str, params: Any) -> Any:
        raise RemoteFault("unreachable: connection refused")

    console.harness.cpm.handler = down
    for path in ("/records/program-events", "/records/program-events/PE-1"):
        page = web.get(path)
        assert page.status_code == 200, path
        assert "cpm did not answer: unreachable" in page.text, path
    opened = web.get("/records/program-events", params={"q": "SG-1"})
    assert opened.status_code == 503


# -- event participations (EVT-RESERVE) -----------------------------------------------------

#: The NIC ids of the subscription the participations' fixture enrolls.
NICS = [f"NIC-{n:02}" for n in range(55)]


@dataclass
class Reserved:
    subscription: str
    #: cpm's device ids, by NIC id.
    devices: dict[str, str]
    #: The program events' ids, by stage id.
    events: dict[str, str]
    #: The participations' ids, by (stage id, NIC id).
    participations: dict[tuple[str, str], str]
    #: cpm's API as the operator, while the fixture lasts.
    api: httpx.Client


def _stage(api: httpx.Client, stage: str, start: datetime, category: str) -> str:
    created = _ok(api.post("/program-events", json={
        "startDateTime": start.isoformat(), "endDateTime": (start + timedelta(hours=2)).isoformat(),
        "eventExternalIdentifier": "EV-1", "externalIdentifier": stage,
        "programExternalIdentifier": "BYOT", "programEventCategory": category,
    }))  # fmt: skip
    return str(created["programEvent"]["id"])


@pytest.fixture
def reserved(console: Console, tmp_path: Path) -> Iterator[Reserved]:
    """Program BYOT; one Active subscription of 55 devices (NIC-00…NIC-54); stage SG-1 (15:00
    PDT, X1EM) with every device reserved, NIC-07 from 15:30 to 16:30, and SG-2 (a day later,
    X1DT, In Progress) with NIC-00 and NIC-01."""
    with _cpm_api(console, tmp_path) as api:
        program = {"programCode": "BYOT", "eligibleSpecifications": ["ECOBEE-ST"]}
        _ok(api.post("/programs", json=program))
        _ok(api.post("/master-data", json={
            "persons": [{"cisPersonId": "P1", "name": "Ann Lee"}],
            "accounts": [{"cisAccountId": "A1", "cisPersonId": "P1"}],
            "premises": [{"cisPremiseId": "PR1", "cisAccountId": "A1", "division": "CA"}],
            "servicePoints": [{"cisServicePointId": "SP1", "cisPremiseId": "PR1"}],
        }))  # fmt: skip
        assets = [asset(nic, sequence=n) for n, nic in enumerate(NICS, 1)]
        created = _ok(api.post("/enrollments", json=enrollment_request(assets=assets)))
        acked = [{"syncRequestId": created["syncRequestId"]}]
        _ok(api.post("/sync-requests/acknowledgements", json={"acknowledgements": acked}))
        subscription = created["enrollmentId"]
        held = _ok(api.get(f"/enrollments/{subscription}"))["devices"]
        events = {"SG-1": _stage(api, "SG-1", T0, "X1EM"),
                  "SG-2": _stage(api, "SG-2", T0 + timedelta(days=1), "X1DT")}  # fmt: skip
        _ok(api.post("/program-events/lifecycle", json={
            "action": "X1IP", "eventExternalIdentifier": "EV-1",
            "externalIdentifier": "SG-2"}))  # fmt: skip
        participations = {}
        for stage, nics in (("SG-1", NICS), ("SG-2", NICS[:2])):
            device_list = [{"headEndSystem": "ECOBEE-HE", "nicId": nic} for nic in nics]
            if stage == "SG-1":
                device_list[7] |= {
                    "reservationStartDateTime": "2026-07-17T15:30:00-07:00",
                    "reservationEndDateTime": "2026-07-17T16:30:00-07:00",
                }
            results = _ok(api.post("/program-events/reservations", json={
                "eventExternalIdentifier": "EV-1", "externalIdentifier": stage,
                "deviceList": device_list}))["results"]  # fmt: skip
            assert {r["outcome"] for r in results} == {"Reserved"}
            participations |= {(stage, r["nicId"]): r["participationId"] for r in results}
        yield Reserved(
            subscription,
            {d["nicId"]: d["deviceId"] for d in held},
            events,
            participations,
            api,
        )


def _participation_row(page: str, participation_id: str) -> str:
    start = page.index(f"<td>{participation_id}</td>")
    return page[start : page.index("</tr>", start)]


def test_a_program_event_s_page_lists_its_participations_linking_each_device_s_subscription(
    reserved: Reserved, web: TestClient
):
    page = _page(web, f"/records/program-events/{reserved.events['SG-1']}")
    assert 'href="/records/program-events" aria-current="page"' in page  # in the navigation
    assert "Reserved</span> 55</dd>" in page  # the counts by state
    row = _participation_row(page, reserved.participations[("SG-1", "NIC-07")])
    device = reserved.devices["NIC-07"]
    assert "<td>ECOBEE-HE!NIC-07</td>" in row
    assert (f'href="/records/subscriptions/{reserved.subscription}?device={device}#history">'
            f"{device}</a>") in row  # fmt: skip
    assert (
        f'href="/records/subscriptions/{reserved.subscription}">{reserved.subscription}</a>' in row
    )
    # Its own window, in the utility's zone.
    assert "2026-07-17 15:30:00 PDT</time> – " in row and "2026-07-17 16:30:00 PDT" in row
    assert "Reserved" in row and "<td>—</td>" in row  # no outcome yet


def test_a_program_event_s_participations_page_by_fifty_in_key_order_keeping_the_filters(
    reserved: Reserved, web: TestClient
):
    path = f"/records/program-events/{reserved.events['SG-1']}"
    first = _page(web, path, state="Reserved")
    shown = [nic for nic in NICS if f"<td>ECOBEE-HE!{nic}</td>" in first]
    assert shown == NICS[:50]
    (following,) = re.findall(r'href="([^"]+)" rel="next"', first)
    following = html.unescape(following)
    assert following.startswith(f"{path}?state=Reserved&after=")
    second = web.get(following).text
    assert [nic for nic in NICS if f"<td>ECOBEE-HE!{nic}</td>" in second] == NICS[50:]
    assert 'rel="next"' not in second
    assert f'href="{path}?state=Reserved">First page</a>' in second
    assert '<option value="Reserved" selected>' in second


def test_a_program_event_s_participations_narrow_by_nic_device_and_state(
    reserved: Reserved, web: TestClient
):
    path = f"/records/program-events/{reserved.events['SG-1']}"
    by_nic = _page(web, path, nic=" NIC-09 ")
    assert reserved.participations[("SG-1", "NIC-09")] in by_nic
    assert reserved.participations[("SG-1", "NIC-10")] not in by_nic
    assert 'name="nic" value="NIC-09"' in by_nic
    by_device = _page(web, path, device=reserved.devices["NIC-11"])
    assert reserved.participations[("SG-1", "NIC-11")] in by_device
    assert reserved.participations[("SG-1", "NIC-09")] not in by_device
    none = _page(web, path, state="Settled")
    assert "No participation matches these filters." in none
    assert reserved.participations[("SG-1", "NIC-09")] not in none
    # A state no participation has is no filter.
    assert reserved.participations[("SG-1", "NIC-09")] in _page(web, path, state="Done")


def _derms_holds_no_subscription(console: Console) -> None:
    """DERMS answers 404 to whatever the console asks it (a subscription's registry entry)."""

    async def derms(path: str, params: Any) -> Any:
        raise BusinessFault("DERMS holds no such subscription", status=404)

    console.harness.derms.handler = derms


def test_a_subscription_s_page_shows_its_devices_event_history_newest_first(
    console: Console, reserved: Reserved, web: TestClient
):
    _derms_holds_no_subscription(console)
    path = f"/records/subscriptions/{reserved.subscription}"
    page = _page(web, path)
    history = page[page.index('id="history"') : page.index("Sync requests and their state")]
    assert history.index(reserved.events["SG-2"]) < history.index(reserved.events["SG-1"])
    assert f'href="/records/program-events/{reserved.events["SG-2"]}"' in history
    assert 'href="/records/events/EV-1/stages/SG-2">SG-2</a>' in history
    assert 'href="/records/events/EV-1">EV-1</a>' in history
    assert 'In Progress</span> <span class="muted">X1DT</span>' in history
    assert "2026-07-18 15:00:00 PDT" in history  # SG-2's window in the utility's zone
    # 57 participations: 50 on the first page, the device link narrows to one device.
    (following,) = re.findall(r'href="([^"]+)" rel="next"', history)
    assert html.unescape(following).startswith(f"{path}?after=")
    device = reserved.devices["NIC-01"]
    assert f'href="{path}?device={device}#history"' in page
    one = _page(web, path, device=device)
    one_history = one[one.index('id="history"') : one.index("Sync requests and their state")]
    assert f"Event history of device {device}" in one_history
    assert one_history.count('href="/records/program-events/') == 2
    assert one_history.index(reserved.events["SG-2"]) < one_history.index(reserved.events["SG-1"])
    assert 'rel="next"' not in one_history
    other = _page(web, path, device="D-NOPE")
    assert "No participation in a program event for this device." in other


# -- opt-outs (OPT-OUT) ---------------------------------------------------------------------


@pytest.fixture
def operator_web(console: Console) -> Iterator[TestClient]:
    with TestClient(console.app, follow_redirects=False) as client:
        sign_in(client, console, "operator")
        yield client


def _opt_out(web: TestClient, participation_id: str, back: str, reason: str = "") -> str:
    """Post the opt-out form of a page as ``web``'s client; what the page it leads to says."""
    page = web.get(back).text
    answer = web.post(
        f"/records/participations/{participation_id}/opt-out",
        data={"csrf": token_of(page), "reason": reason, "back": back},
    )
    return html.unescape(flash_of(web, answer))


def test_a_reserved_participation_offers_its_opt_out_to_who_may_opt_out(
    reserved: Reserved, web: TestClient, operator_web: TestClient
):
    path = f"/records/program-events/{reserved.events['SG-1']}"
    pid = reserved.participations[("SG-1", "NIC-07")]
    action = f'action="/records/participations/{pid}/opt-out"'
    # No rule: the cut-off is the program event's start, in the utility's zone.
    viewer_row = _participation_row(_page(web, path), pid)
    assert "until <time" in viewer_row and "2026-07-17 15:00:00 PDT" in viewer_row
    assert action not in viewer_row  # the viewer does not hold cpm:write
    row = _participation_row(_page(operator_web, path), pid)
    assert action in row and 'name="csrf"' in row
    assert f'name="back" value="{path}#participations"' in row


def test_an_operator_opts_a_participation_out_and_both_pages_show_it(
    reserved: Reserved, console: Console, operator_web: TestClient
):
    _derms_holds_no_subscription(console)
    path = f"/records/program-events/{reserved.events['SG-1']}"
    pid = reserved.participations[("SG-1", "NIC-07")]
    said = _opt_out(operator_web, pid, f"{path}#participations", reason="away that day")
    assert said == f"Participation {pid} is opted out; DERMS: Pending (version 1)."
    row = _participation_row(_page(operator_web, path), pid)
    assert "OptedOut" in row and f"/records/participations/{pid}/opt-out" not in row
    assert "by operator (CSR): away that day" in row
    assert "2026-07-16 05:00:00 PDT" in row  # CLOCK's 12:00 UTC, when cpm took it
    assert 'DERMS <span class="status s-pending">Pending</span>' in row
    assert "version 1, DERMS has 0" in row
    again = _opt_out(operator_web, pid, f"{path}#participations")
    assert again == (
        f"Participation {pid} was opted out already, 2026-07-16 05:00:00 PDT by operator."
    )
    # The device's event history shows it too; its form leads back to that page.
    subscription = f"/records/subscriptions/{reserved.subscription}"
    history = _page(operator_web, subscription, device=reserved.devices["NIC-07"])
    assert "by operator (CSR): away that day" in history
    other = reserved.participations[("SG-1", "NIC-01")]
    page = _page(operator_web, subscription, device=reserved.devices["NIC-01"])
    back = f"{subscription}?device={reserved.devices['NIC-01']}#history"
    assert page.count(f'name="back" value="{back}"') == 2  # SG-1 and SG-2
    assert _opt_out(operator_web, other, back) == (
        f"Participation {other} is opted out; DERMS: Pending (version 1)."
    )
    assert "by operator (CSR)" in _page(
        operator_web, subscription, device=reserved.devices["NIC-01"]
    )


def test_cpm_s_refusal_of_an_opt_out_is_said_on_the_page(
    reserved: Reserved, console: Console, web: TestClient, operator_web: TestClient
):
    path = f"/records/program-events/{reserved.events['SG-1']}"
    pid = reserved.participations[("SG-1", "NIC-09")]
    # The viewer posting the form anyway: cpm checks its scope.
    refused = _opt_out(web, pid, path)
    assert refused == "cpm refused the opt-out: client 'viewer' lacks scope 'cpm:write'"
    # A rule whose cut-off passed long ago.
    operator = console.credentials.client("operator").header()
    cpm = console.harness.hub.targets.cpm
    assert isinstance(cpm, HttpClient)
    rule = {"effectiveFrom": "2026-06-01", "allowEventDays": ["WEEKDAYS"],
            "windowStart": "12:00", "windowEnd": "20:00", "minEventDurationMin": 30,
            "maxEventDurationMin": 240, "maxEventsPerCycle": 15, "cycleFrequency": "SEASON",
            "maxOverridesPerCycle": 3, "optOutCutoffMin": 2880, "minRestMin": 60}  # fmt: skip
    linked = httpx.post(f"{cpm.connection.base_url}/api/v1/programs/BYOT/rules", json=rule,
                        headers=operator)  # fmt: skip
    assert linked.status_code == 201, linked.text
    row = _participation_row(_page(operator_web, path), pid)
    assert "until <time" in row and "2026-07-15 15:00:00 PDT" in row  # two days before
    late = _opt_out(operator_web, pid, path)
    assert late == (
        f"cpm refused the opt-out: participation {pid}: the opt-out cut-off was "
        "2026-07-15T22:00:00+00:00, 2880 minutes before its program event's start"
    )
    assert "Reserved" in _participation_row(_page(operator_web, path), pid)
    # A page to go back to outside the records is no page to go back to.
    answer = operator_web.post(
        f"/records/participations/{pid}/opt-out",
        data={"csrf": token_of(_page(operator_web, path)), "back": "https://elsewhere.example/"},
    )
    assert answer.headers["location"] == "/records/program-events"


def test_a_recorded_outcome_shows_with_what_came_with_it_on_both_pages(
    console: Console, reserved: Reserved, web: TestClient
):
    _derms_holds_no_subscription(console)
    done = _ok(reserved.api.post("/program-events/outcomes", json={
        "eventExternalIdentifier": "EV-1", "externalIdentifier": "SG-1",
        "fileName": "OUTCOME_20260718T010500Z_000001.csv",
        "postOutcomeList": [
            {"headEndSystem": "ECOBEE-HE", "nicId": "NIC-03", "outcome": "D1ER",
             "errorMessage": "thermostat offline", "measuredKw": 0.0},
            {"headEndSystem": "ECOBEE-HE", "nicId": "NIC-04", "outcome": "D1SP",
             "measuredKw": 1.25, "participationStartDateTime": "2026-07-17T15:00:00-07:00",
             "participationEndDateTime": "2026-07-17T17:00:00-07:00"},
        ]}))  # fmt: skip
    assert [r["outcome"] for r in done["results"]] == ["Recorded", "Recorded"]
    page = _page(web, f"/records/program-events/{reserved.events['SG-1']}")
    error = _participation_row(page, reserved.participations[("SG-1", "NIC-03")])
    assert "D1ER, 0.0 kW: thermostat offline" in error
    success = _participation_row(page, reserved.participations[("SG-1", "NIC-04")])
    assert "D1SP, 1.25 kW (" in success and "2026-07-17 15:00:00 PDT" in success
    device = reserved.devices["NIC-04"]
    history = _page(web, f"/records/subscriptions/{reserved.subscription}", device=device)
    assert "D1SP, 1.25 kW" in history  # the device's event history too
