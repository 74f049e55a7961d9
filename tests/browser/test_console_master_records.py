"""The console's pages of programs, aggregators, the network model, device scores and
forecasts, over HTTP without a browser: the records seeded through cpm's and DERMS's own APIs
(both served on loopback, the console reading them over the hub's connections), Open and the
filters, an unknown id, and a part that does not answer."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.common.clock import FixedClock
from derlink.common.errors import BusinessFault, RemoteFault
from derlink.console.masterdata import sync_words
from derlink.contracts.network_files import MODEL_HEADER, NETLOC_HEADER
from derlink.cpm.app import create_part as create_cpm
from derlink.cpm.catalog.schemas import RULE_EXAMPLE as CPM_RULE_EXAMPLE
from derlink.derms.app import create_part as create_derms
from derlink.derms.inputs.schemas import FORECAST_EXAMPLE, SCORE_EXAMPLE
from derlink.derms.masterdata.schemas import PROGRAM_RULES_EXAMPLE, RULE_EXAMPLE
from derlink.platform.auth import CredentialStore
from derlink.platform.http import Connection, HttpClient
from derlink.platform.settings import Settings
from tests.browser.test_console_pages import Console, sign_in
from tests.support.servers import serve

CLOCK = FixedClock(datetime(2026, 7, 16, 12, 0, tzinfo=UTC))
#: A substation with two feeders, a transformer under each; three service points.
MODEL = [
    ("SUBSTATION", "S1", "", "North", "2026-01-01"),
    ("FEEDER", "F1", "S1", "Feeder 1", "2026-01-01"),
    ("FEEDER", "F2", "S1", "Feeder 2", "2026-01-01"),
    ("TRANSFORMER", "T1", "F1", "Pole 1", "2026-01-01"),
    ("TRANSFORMER", "T2", "F2", "Pole 2", "2026-01-01"),
    ("SERVICE_POINT", "SP1", "T1", "", "2026-01-01"),
    ("SERVICE_POINT", "SP2", "T1", "", "2026-01-01"),
    ("SERVICE_POINT", "SP3", "T2", "", "2026-01-01"),
]
#: A rule of cpm's, other than DERMS's example rule in its days, window and limits.
CPM_RULE = {
    **CPM_RULE_EXAMPLE,
    "allowEventDays": ["WKDAY"],
    "windowStart": "14:00",
    "optOutCutoffMin": 45,
    "minRestMin": 1440,
    "overridable": True,
}


@dataclass
class Parts:
    cpm: httpx.Client
    derms: httpx.Client


def _connection(name: str, url: str, credentials: CredentialStore) -> HttpClient:
    hub = credentials.client("hub")
    return HttpClient(
        Connection(name=name, base_url=url, username=hub.client_id, secret=hub.secret)
    )


def _ok(answer: httpx.Response) -> Any:
    assert answer.status_code < 300, answer.text
    return answer.json()


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    (tmp_path / "console").mkdir()
    opened = Console(tmp_path / "console")
    yield opened
    opened.close()


@pytest.fixture
def parts(console: Console, tmp_path: Path) -> Iterator[Parts]:
    """cpm and DERMS on their own databases, served on loopback, seeded through their APIs;
    the console's hub reads them over its connections."""
    credentials = CredentialStore.generate(DEFAULT_CLIENTS)
    (tmp_path / "parts").mkdir()
    settings = Settings(home=tmp_path / "parts")
    cpm = create_cpm(settings=settings, credentials=credentials, clock=CLOCK, hub=None)
    derms = create_derms(settings=settings, credentials=credentials, clock=CLOCK, hub=None)
    operator = credentials.client("operator").header()
    hub = credentials.client("hub").header()
    try:
        with serve(cpm.app) as cpm_url, serve(derms.app) as derms_url:
            targets = console.harness.hub.targets
            targets.cpm = _connection("cpm", cpm_url, credentials)
            targets.derms = _connection("derms", derms_url, credentials)
            with (
                httpx.Client(base_url=f"{cpm_url}/api/v1", headers=operator) as cpm_api,
                httpx.Client(base_url=f"{derms_url}/api/v1", headers=hub) as derms_api,
            ):
                _seed(cpm_api, derms_api, settings, operator)
                _seed_locations(cpm_api, Path(cpm.storage.location.removeprefix("file://")))
                yield Parts(cpm_api, derms_api)
    finally:
        cpm.db.dispose()
        derms.db.dispose()


def _seed(cpm: httpx.Client, derms: httpx.Client, settings: Settings, operator: Any) -> None:
    _ok(cpm.post("/programs", json={"programCode": "BYOT", "name": "Thermostats",
                                    "externalId": "BYOT-2026", "status": "Active"}))  # fmt: skip
    _ok(cpm.post("/programs/BYOT/rules", json=CPM_RULE))
    _ok(cpm.post("/programs", json={"programCode": "EV-NIGHT", "status": "Active"}))
    _ok(cpm.post("/aggregators", json={
        "code": "AGG-1", "name": "Valley Aggregation", "externalSystem": "VALLEY-HES",
        "contact": {"name": "Dispatch desk", "email": "desk@valley.example"},
        "programs": ["BYOT"]}))  # fmt: skip
    _ok(cpm.post("/aggregators", json={"code": "AGG-2", "name": "Solo", "programs": []}))
    codes = {"codes": ["ITRON-HE", "ECOBEE-HE"]}
    _ok(derms.post("/head-end-systems", json=codes, headers=operator))
    _ok(derms.post("/program-rules", json={"batchId": "B-1", "programs": [PROGRAM_RULES_EXAMPLE]}))
    model = io.StringIO()
    writer = csv.writer(model, lineterminator="\n")
    writer.writerow(MODEL_HEADER)
    writer.writerows(MODEL)
    store = settings.home / "files" / "derms-model"
    store.mkdir(parents=True, exist_ok=True)
    (store / "NETMODEL_1.csv").write_text(model.getvalue())
    _ok(derms.post("/network/model-files/intake", headers=operator))
    scores = [
        {**SCORE_EXAMPLE, "nicId": f"NIC-{n:03}", "deviceId": f"D-{n:03}", "score": n}
        for n in range(1, 56)
    ]
    _ok(derms.post("/device-scores", json={"batchId": "S-1", "file": "SDCSE_1.csv",
                                           "scores": scores}))  # fmt: skip
    _ok(derms.post("/forecasts", json={"batchId": "F-1", "file": "LRF_1.csv",
                                       "forecasts": [FORECAST_EXAMPLE]}))  # fmt: skip


def _seed_locations(cpm: httpx.Client, storage: Path) -> None:
    """SP3 in cpm's master data, and a NET-LOC file moving it from T1 to T2 in March."""
    _ok(cpm.post("/master-data", json={
        "persons": [{"cisPersonId": "P3", "name": "Cy Young"}],
        "accounts": [{"cisAccountId": "A3", "cisPersonId": "P3"}],
        "premises": [{"cisPremiseId": "PR3", "cisAccountId": "A3", "division": "CA"}],
        "servicePoints": [{"cisServicePointId": "SP3", "cisPremiseId": "PR3"}],
    }))  # fmt: skip
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    writer.writerow(NETLOC_HEADER)
    writer.writerow(("SP3", "T1", "F1", "S1", "2026-01-01", "2026-03-01"))
    writer.writerow(("SP3", "T2", "F2", "S1", "2026-03-01", ""))
    storage.mkdir(parents=True, exist_ok=True)
    (storage / "NETLOC_1.csv").write_text(rows.getvalue())
    (taken,) = _ok(cpm.post("/network-locations/intake"))["files"]
    assert taken["renamedTo"] == "Acked-NETLOC_1.csv", taken


@pytest.fixture
def web(console: Console) -> Iterator[TestClient]:
    with TestClient(console.app, follow_redirects=False) as client:
        sign_in(client, console, "viewer")
        yield client


def _page(web: TestClient, path: str, **params: str) -> str:
    answer = web.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.text


# -- programs and aggregators ------------------------------------------------------------------


def test_sync_in_words():
    assert sync_words({"state": "Synchronized", "version": 3, "dermsVersion": 3}) == (
        "Synchronized (version 3)"
    )
    assert sync_words({"state": "Error", "version": 2, "detail": "MD-RULE bad window"}) == (
        "Error: MD-RULE bad window"
    )
    assert sync_words({"state": "None", "version": 0}) == "Never sent"


def test_programs_list_their_rules_sync_and_related_records(parts: Parts, web: TestClient):
    page = _page(web, "/records/programs")
    byot = page[page.index('href="/records/programs/BYOT"') :]
    row = byot[: byot.index("</tr>")]
    assert "BYOT-2026" in row and "<td>1</td>" in row  # external id, one rule
    sync = parts.cpm.get("/programs/BYOT").json()["dermsSync"]
    assert sync_words(sync) in row
    assert 'href="/records/subscriptions?program=BYOT"' in row
    assert 'href="/records/aggregators?program=BYOT"' in row
    assert 'href="/records/programs/EV-NIGHT"' in page
    assert 'href="/records/programs"' in _page(web, "/records")  # the records navigation
    assert 'href="/records/programs/BYOT"' in _page(web, "/records")


def test_a_program_page_shows_cpm_s_rules_and_what_derms_holds(parts: Parts, web: TestClient):
    page = _page(web, "/records/programs/BYOT")
    assert "2026-06-01 – 2026-10-01" in page and "WKDAY" in page and "14:00–20:00" in page
    assert "30–240" in page and "15 per SEASON" in page and "<td>1440</td>" in page
    assert "DERMS holds version 3" in page
    derms_window = f"{RULE_EXAMPLE['windowStart']}–{RULE_EXAMPLE['windowEnd']}"
    assert derms_window != "14:00–20:00" and derms_window in page
    none = _page(web, "/records/programs/EV-NIGHT")
    assert "DERMS holds no rules of the program EV-NIGHT." in none
    assert "No rule." in none


def test_open_takes_a_program_code_and_an_unknown_one_is_not_found(parts: Parts, web: TestClient):
    opened = web.get("/records/programs", params={"q": " BYOT "})
    assert opened.status_code == 303 and opened.headers["location"] == "/records/programs/BYOT"
    unknown = web.get("/records/programs/NOPE")
    assert unknown.status_code == 404 and "<h1>Not found</h1>" in unknown.text
    assert "neither cpm nor DERMS knows the program" in unknown.text


def test_aggregators_link_their_programs_and_filter_by_program(parts: Parts, web: TestClient):
    page = _page(web, "/records/aggregators")
    assert 'href="/records/programs/BYOT">BYOT</a>' in page
    assert "Dispatch desk, desk@valley.example" in page and "VALLEY-HES" in page
    assert "AGG-2" in page
    sync = parts.cpm.get("/aggregators/AGG-1").json()["dermsSync"]
    assert sync_words(sync) in page
    narrowed = _page(web, "/records/aggregators", program="BYOT")
    assert "AGG-1" in narrowed and "AGG-2" not in narrowed
    assert "No aggregator serves EV-NIGHT." in _page(
        web, "/records/aggregators", program="EV-NIGHT"
    )


# -- the network -------------------------------------------------------------------------------


def test_the_network_tree_counts_service_points_and_filters_by_node(parts: Parts, web: TestClient):
    page = _page(web, "/records/network")
    on = "?on=2026-07-16"  # the day of the tree DERMS answered with
    assert (
        f'href="/records/network/nodes/S1{on}">S1</a> substation “North”: 3 service points' in page
    )
    assert (
        f'href="/records/network/nodes/T1{on}">T1</a> transformer “Pole 1”: 2 service points'
        in page
    )
    assert "T2</a> transformer “Pole 2”: 1 service point\n" in page
    narrowed = _page(web, "/records/network", node="F2")
    assert "S1</a>" in narrowed and "T2</a>" in narrowed and "T1</a>" not in narrowed
    assert "No node F9 is in force" in _page(web, "/records/network", node="F9")


def test_a_node_page_lists_its_versions_and_what_is_under_it(parts: Parts, web: TestClient):
    page = _page(web, "/records/network/nodes/F1")
    assert 'href="/records/network/nodes/S1">S1</a>' in page  # its parent
    assert "2 service points under it" in page and 'href="/records/network/nodes/T1' in page
    assert web.get("/records/network/nodes/NOPE").status_code == 404


def test_a_service_point_s_locations_open_from_the_network_page(parts: Parts, web: TestClient):
    opened = web.get("/records/network", params={"q": "SP3"})
    assert opened.headers["location"] == "/records/network/service-points/SP3"
    page = _page(web, "/records/network/service-points/SP3")
    assert '<a href="/records/network/nodes/T2">T2</a></td><td>2026-01-01</td>' in page
    cpm_rows = page[page.index('id="cpm-h"') :]
    assert (
        '<a href="/records/network/nodes/T1">T1</a></td>\n      '
        '<td><a href="/records/network/nodes/F1">F1</a></td>'
    ) in cpm_rows
    assert "<td>2026-01-01</td><td>2026-03-01</td>" in cpm_rows
    assert "<td>2026-03-01</td><td>open-ended</td>" in cpm_rows
    assert "cpm holds no location of SP2." in _page(web, "/records/network/service-points/SP2")
    assert 'href="/records/subscriptions?service_point=SP3"' in page
    assert 'href="/records/forecasts/SP3"' in page
    assert web.get("/records/network/service-points/NOPE").status_code == 404


# -- scores and forecasts ----------------------------------------------------------------------


def test_scores_page_and_open_by_nic(parts: Parts, web: TestClient):
    first = _page(web, "/records/scores")
    assert 'href="/records/scores/ECOBEE-HE/NIC-001">NIC-001</a>' in first
    assert "NIC-050" in first and "NIC-051" not in first
    assert 'title="2026-07-16 06:00:00 UTC"' in first  # scored at, UTC on hover
    second = _page(web, "/records/scores", after="ECOBEE-HE!NIC-050")
    assert "NIC-051" in second and "NIC-055" in second and "NIC-050<" not in second
    assert 'href="/records/scores?after=ECOBEE-HE%21NIC-050"' in first
    opened = web.get("/records/scores", params={"q": "NIC-007"})
    assert opened.headers["location"] == "/records/scores/ECOBEE-HE/NIC-007"
    score = _page(web, "/records/scores/ECOBEE-HE/NIC-007")
    assert "D-007" in score and "<dd>7</dd>" in score
    assert web.get("/records/scores", params={"q": "NIC-999"}).status_code == 404
    under = web.get("/records/scores", params={"q": "NIC-007", "head_end": "ECOBEE-HE"})
    assert under.headers["location"] == "/records/scores/ECOBEE-HE/NIC-007"
    assert (
        web.get("/records/scores", params={"q": "NIC-007", "head_end": "ITRON-HE"}).status_code
        == 404
    )
    assert web.get("/records/scores/ECOBEE-HE/NIC-999").status_code == 404


def test_a_forecast_page_tables_and_charts_its_intervals(parts: Parts, web: TestClient):
    opened = web.get("/records/scores", params={"sp": "SP1"})
    assert opened.headers["location"] == "/records/forecasts/SP1"
    page = _page(web, "/records/forecasts/SP1")
    assert "<td>0.42</td><td>0.81</td><td>1.2</td>" in page
    assert "<td>0.38</td><td>0.77</td><td>1.16</td>" in page
    assert 'title="2026-07-17 00:00:00 UTC"' in page  # the second interval's start
    assert '<svg class="trend forecast"' in page and "P10–P90 kW" in page and ">kW<" in page
    assert ">23:00</text>" in page and "interval start" in page
    assert 'href="/records/programs/BYOT"' in page
    assert 'href="/records/network/service-points/SP1"' in page
    assert web.get("/records/forecasts/SP9").status_code == 404


# -- a part that does not answer ---------------------------------------------------------------


def test_a_part_that_does_not_answer_is_said_on_every_page(console: Console, web: TestClient):
    async def down(path: str, params: Any) -> Any:
        raise RemoteFault("unreachable: connection refused")

    console.harness.cpm.handler = down
    console.harness.derms.handler = down
    for path in (
        "/records/programs",
        "/records/programs/BYOT",
        "/records/aggregators",
        "/records/network",
        "/records/network/nodes/S1",
        "/records/network/service-points/SP1",
        "/records/scores",
        "/records/scores/HE/NIC-1",
        "/records/forecasts/SP1",
    ):
        page = web.get(path)
        assert page.status_code == 200, path
        assert "did not answer: unreachable" in page.text, path


def test_a_subscription_s_service_point_links_to_its_forecast_and_location(
    console: Console, web: TestClient
):
    async def cpm(path: str, params: Any) -> Any:
        raise BusinessFault("cpm holds no enrollment E-1", status=404)

    async def derms(path: str, params: Any) -> Any:
        assert path == "/api/v1/registry/E-1"
        return {"subscriptionId": "E-1", "status": "ACTIVE", "programCode": "BYOT",
                "cisServicePointId": "SP 7", "cisAccountId": "A-1", "version": 1,
                "lastDacsMessageId": "SR-1", "registrations": []}  # fmt: skip

    console.harness.cpm.handler = cpm
    console.harness.derms.handler = derms
    page = _page(web, "/records/subscriptions/E-1")
    assert 'href="/records/subscriptions?service_point=SP%207">SP 7</a>' in page
    assert 'href="/records/forecasts/SP%207">forecast</a>' in page
    assert 'href="/records/network/service-points/SP%207">network location</a>' in page
    assert 'href="/records/programs/BYOT">BYOT</a>' in page
