"""The console's forms of a device's customer unavailability periods (UNAVAIL), over HTTP without
a browser: cpm served on loopback, the console reading it over the hub's connection and acting
in it as the signed-in client. A subscription's page shows the periods of the device chosen (or
of its only one) with what DERMS holds, in the utility's zone; a client holding cpm:write adds,
edits and cancels a period from its forms, their local times read in the utility's zone; cpm's
refusals are said on the page."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.browser.test_console_pages import Console, flash_of, token_of
from tests.browser.test_console_program_events import (
    _cpm_api,
    _derms_holds_no_subscription,
    _ok,
    _page,
    console,
    operator_web,
    web,
)
from tests.integration.cpm.cpm_harness import asset, enrollment_request

__all__ = ["console", "operator_web", "web"]  # the fixtures


@dataclass
class Held:
    api: httpx.Client
    #: The subscription of one device, and its device's id.
    single: str
    device: str
    #: The subscription of two devices, and their ids.
    pair: str
    devices: list[str]


def _active(api: httpx.Client, message_id: str, account: str, sp: str, nics: list[str]) -> str:
    assets = [asset(nic, sequence=n) for n, nic in enumerate(nics, 1)]
    request = enrollment_request(message_id, account=account, service_point=sp, assets=assets)
    created = _ok(api.post("/enrollments", json=request))
    acked = [{"syncRequestId": created["syncRequestId"]}]
    _ok(api.post("/sync-requests/acknowledgements", json={"acknowledgements": acked}))
    return str(created["enrollmentId"])


@pytest.fixture
def held(console: Console, tmp_path: Path) -> Iterator[Held]:
    """Program BYOT; an Active subscription of one device (NIC-1, account A1 at SP1) and one of
    two (NIC-2 and NIC-3, account A2 at SP2); DERMS holds none of them."""
    _derms_holds_no_subscription(console)
    with _cpm_api(console, tmp_path) as api:
        program = {"programCode": "BYOT", "eligibleSpecifications": ["ECOBEE-ST"]}
        _ok(api.post("/programs", json=program))
        _ok(api.post("/master-data", json={
            "persons": [{"cisPersonId": "P1", "name": "Ann Lee"}],
            "accounts": [{"cisAccountId": "A1", "cisPersonId": "P1"},
                         {"cisAccountId": "A2", "cisPersonId": "P1"}],
            "premises": [{"cisPremiseId": "PR1", "cisAccountId": "A1", "division": "CA"},
                         {"cisPremiseId": "PR2", "cisAccountId": "A2", "division": "CA"}],
            "servicePoints": [{"cisServicePointId": "SP1", "cisPremiseId": "PR1"},
                              {"cisServicePointId": "SP2", "cisPremiseId": "PR2"}],
        }))  # fmt: skip
        single = _active(api, "REQ-1", "A1", "SP1", ["NIC-1"])
        pair = _active(api, "REQ-2", "A2", "SP2", ["NIC-2", "NIC-3"])
        device = _ok(api.get(f"/enrollments/{single}"))["devices"][0]["deviceId"]
        devices = [d["deviceId"] for d in _ok(api.get(f"/enrollments/{pair}"))["devices"]]
        yield Held(api, single, device, pair, devices)


def _periods(page: str) -> str:
    return page[page.index('id="unavailability"') : page.index('id="history"')]


def _row(page: str, unavailability_id: str) -> str:
    start = page.index(f'<tr id="period-{unavailability_id}">')
    return page[start : page.index("</tr>", start)]


def _post(web: TestClient, path: str, back: str, **fields: str) -> str:
    """Post a form of the page ``back`` as ``web``'s client; what the page it leads to says."""
    page = web.get(back).text
    answer = web.post(path, data={"csrf": token_of(page), "back": back, **fields})
    return html.unescape(flash_of(web, answer))


def _add(web: TestClient, held: Held, **fields: str) -> str:
    back = f"/records/subscriptions/{held.single}?device={held.device}#unavailability"
    return _post(web, f"/records/devices/{held.device}/unavailabilities", back, **fields)


def _added(web: TestClient, held: Held) -> dict[str, Any]:
    """A period added from the form: 17 July, 12:00 to 20:00 in Los Angeles; as cpm holds it."""
    said = _add(web, held, start="2026-07-17T12:00", end="2026-07-17T20:00", reason="a party")
    assert said.startswith("Unavailability CU-"), said
    [period] = _ok(held.api.get("/unavailabilities", params={"deviceId": held.device}))["items"]
    assert isinstance(period, dict)
    return period


def test_a_subscription_of_one_device_shows_its_periods_and_one_of_two_asks_for_a_device(
    held: Held, web: TestClient, operator_web: TestClient
):
    period = _ok(held.api.post(f"/devices/{held.device}/unavailabilities", json={
        "start": "2026-07-17T12:00:00-07:00", "end": "2026-07-17T20:00:00-07:00",
        "reason": "away on vacation"}))  # fmt: skip
    page = _periods(_page(web, f"/records/subscriptions/{held.single}"))
    assert f"Unavailability of device {held.device}" in page
    row = _row(page, period["id"])
    # The times in the utility's zone, what DERMS holds, who added it.
    assert "2026-07-17 12:00:00 PDT</time> – " in row and "2026-07-17 20:00:00 PDT" in row
    assert "<td>away on vacation</td>" in row and "Active" in row
    assert '<span class="status s-pending">Pending</span>' in row
    assert "version 1, DERMS has 0" in row and "by operator" in row
    # The viewer does not hold cpm:write: no form.
    assert "/edit" not in page and "/cancel" not in page and "Add the period" not in page
    operator_page = _periods(_page(operator_web, f"/records/subscriptions/{held.single}"))
    assert f'action="/records/unavailabilities/{period["id"]}/edit"' in operator_page
    assert f'action="/records/devices/{held.device}/unavailabilities"' in operator_page
    assert "Add a period: local times, read in the utility's zone (America/Los_Angeles)" in (
        operator_page
    )
    assert 'value="2026-07-17T12:00"' in operator_page  # the edit form's local times
    # Two devices: the page asks for one, then shows the one chosen.
    pair = _periods(_page(web, f"/records/subscriptions/{held.pair}"))
    assert "Choose a device in the table above to see its unavailability periods." in pair
    chosen = _periods(_page(web, f"/records/subscriptions/{held.pair}", device=held.devices[1]))
    assert f"Unavailability of device {held.devices[1]}" in chosen
    assert "No unavailability period." in chosen
    # A device of another subscription is not one of this page's.
    other = _periods(_page(web, f"/records/subscriptions/{held.pair}", device=held.device))
    assert "Choose a device" in other


def test_an_operator_adds_a_period_its_local_times_read_in_the_utility_s_zone(
    held: Held, operator_web: TestClient
):
    said = _add(operator_web, held, start="2026-07-17T12:00", end="2026-07-17T20:00",
                reason=" a party ")  # fmt: skip
    [period] = _ok(held.api.get("/unavailabilities", params={"deviceId": held.device}))["items"]
    assert (period["start"], period["end"], period["reason"], period["createdBy"]) == (
        "2026-07-17T19:00:00+00:00", "2026-07-18T03:00:00+00:00", "a party", "operator",
    )  # fmt: skip
    assert said == (
        f"Unavailability {period['id']} added, 2026-07-17 12:00:00 PDT to 2026-07-17 20:00:00 "
        "PDT; DERMS: Pending (version 1)."
    )
    page = _page(operator_web, f"/records/subscriptions/{held.single}", device=held.device)
    assert "<td>a party</td>" in _row(_periods(page), period["id"])


def test_an_operator_edits_and_cancels_a_period_and_the_page_shows_each_version(
    held: Held, operator_web: TestClient
):
    period = _added(operator_web, held)
    pid = period["id"]
    back = f"/records/subscriptions/{held.single}?device={held.device}#unavailability"
    edit = f"/records/unavailabilities/{pid}/edit"
    same = _post(operator_web, edit, back, start="2026-07-17T12:00", end="2026-07-17T20:00",
                 reason="a party")  # fmt: skip
    assert same == f"Unavailability {pid} holds that already: nothing sent to DERMS."
    later = _post(operator_web, edit, back, start="2026-07-17T12:00", end="2026-07-17T22:30",
                  reason="a party")  # fmt: skip
    assert later == f"Unavailability {pid} changed; DERMS: Pending (version 2)."
    assert _ok(held.api.get(f"/unavailabilities/{pid}"))["end"] == "2026-07-18T05:30:00+00:00"
    # DERMS holds version 2, through the hub.
    acks = [{"kind": "UNAVAIL", "code": pid, "version": 2, "status": "SUCCESS"}]
    _ok(held.api.post("/unavailabilities/acknowledgements", json={"acknowledgements": acks}))
    row = _row(_periods(_page(operator_web, back.split("#")[0])), pid)
    assert '<span class="status s-synchronized">Synchronized</span>' in row
    assert "version 2</span>" in row and "DERMS has" not in row
    assert "2026-07-17 22:30:00 PDT" in row
    canceled = _post(operator_web, f"/records/unavailabilities/{pid}/cancel", back)
    assert canceled == f"Unavailability {pid} canceled; DERMS: Pending (version 3)."
    row = _row(_periods(_page(operator_web, back.split("#")[0])), pid)
    assert "Canceled" in row and "version 3, DERMS has 2" in row
    assert "/edit" not in row and "/cancel" not in row  # a Canceled period takes no change
    again = _post(operator_web, f"/records/unavailabilities/{pid}/cancel", back)
    assert again == f"cpm refused to cancel the period: unavailability {pid} is Canceled: it " + (
        "takes no cancel"
    )


def test_cpm_s_refusals_and_a_bad_time_are_said_on_the_page(
    held: Held, web: TestClient, operator_web: TestClient
):
    # The viewer posting the form anyway: cpm checks its scope.
    refused = _add(web, held, start="2026-07-17T12:00", end="2026-07-17T20:00")
    assert refused == "cpm refused to add the period: client 'viewer' lacks scope 'cpm:write'"
    backwards = _add(operator_web, held, start="2026-07-17T12:00", end="2026-07-17T11:00")
    assert backwards == (
        "cpm refused to add the period: end 2026-07-17T18:00:00+00:00 is not after start "
        "2026-07-17T19:00:00+00:00"
    )
    assert _add(operator_web, held, start="17/07/2026 12:00", end="2026-07-17T20:00") == (
        "Could not add the period: From (America/Los_Angeles): expected a date and time like "
        "2026-07-01T18:00, not '17/07/2026 12:00'"
    )
    assert _add(operator_web, held, start="", end="2026-07-17T20:00") == (
        "Could not add the period: From (America/Los_Angeles): a date and time is needed"
    )
    assert _ok(held.api.get("/unavailabilities"))["items"] == []
    pid = _added(operator_web, held)["id"]
    back = f"/records/subscriptions/{held.single}?device={held.device}#unavailability"
    too_long = _post(operator_web, f"/records/unavailabilities/{pid}/edit", back,
                     end="2027-08-01T00:00")  # fmt: skip
    assert too_long.startswith("cpm refused to change the period: the period ")
    assert too_long.endswith("lasts more than 366 days")
    # Without the session's CSRF token, nothing is done.
    forged = operator_web.post(f"/records/unavailabilities/{pid}/cancel", data={"back": back})
    assert forged.status_code == 403
    assert _ok(held.api.get(f"/unavailabilities/{pid}"))["status"] == "Active"
    # A page to go back to outside the records is no page to go back to.
    answer = operator_web.post(
        f"/records/unavailabilities/{pid}/cancel",
        data={"csrf": token_of(_page(operator_web, back)), "back": "https://elsewhere.example/"},
    )
    assert answer.headers["location"] == "/records/subscriptions"
    assert _ok(held.api.get(f"/unavailabilities/{pid}"))["status"] == "Canceled"
