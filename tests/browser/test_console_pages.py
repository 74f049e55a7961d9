"""The console's pages over HTTP, without a browser: sign-in, sessions and CSRF, roles, search
with keyset pages, the hospital's confirm-then-act, configuration edits and their audit, and
a part that does not answer. The hub runs on a real database with the in-memory runtime and
in-memory cpm and DERMS, as in the hub's own integration tests."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from derlink.common.errors import BusinessFault, RemoteFault
from derlink.console.app import create_console
from derlink.console.session import SESSION_COOKIE
from derlink.hub.model import InstanceStatus
from derlink.platform.auth import Client, CredentialStore
from tests.integration.hub.test_hub_flows import FakeTarget, Harness, sync_record


class Console:
    def __init__(
        self, tmp_path: Path, database_url: str | None = None, time_zone: str = "UTC"
    ) -> None:
        self.tmp_path = tmp_path
        self.time_zone = time_zone
        # On PostgreSQL the console has a schema of its own; on SQLite a file of its own.
        postgres = database_url is not None and database_url.startswith("postgresql")
        self.database_url = database_url if postgres else f"sqlite:///{tmp_path}/console.sqlite"
        self.harness = Harness(tmp_path, database_url)
        self.credentials: CredentialStore = self.harness.part.app.state.credentials
        self.apps: list[FastAPI] = []
        self.app = self.new_app()

    def new_app(self) -> FastAPI:
        """A console over the same hub, database and key: what a restart or a second worker
        serves."""
        app = create_console(
            hub_part=self.harness.part,
            credentials=self.credentials,
            key_file=self.tmp_path / "console.key",
            database_url=self.database_url,
            clock=self.harness.hub.clock,
            time_zone=self.time_zone,
        )
        self.apps.append(app)
        return app

    def close(self) -> None:
        for app in self.apps:
            app.state.console.sessions.db.dispose()
        self.harness.part.db.dispose()

    def send_sync(self, batch_id: str, *sync_ids: str, **extra: Any) -> str:
        records = [{**sync_record(s), **extra} for s in sync_ids]
        return asyncio.run(
            self.harness.send("ENR-SYNC", {"batchId": batch_id, "messages": records})
        )


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    opened = Console(tmp_path)
    yield opened
    opened.close()


def token_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(web: TestClient, console: Console, who: str) -> str:
    """Sign in as ``who``; returns the session's CSRF token."""
    form = web.get("/login")
    response = web.post(
        "/login",
        data={
            "client_id": who,
            "secret": console.credentials.client(who).secret,
            "csrf": token_of(form.text),
        },
    )
    assert response.status_code == 303, response.text
    return token_of(web.get("/").text)


def flash_of(web: TestClient, response: Any) -> str:
    assert response.status_code == 303, response.text
    page = web.get(response.headers["location"]).text
    match = re.search(r'<p class="flash[^"]*" role="\w+">(.*?)</p>', page, re.S)
    return match.group(1) if match else ""


def wait_for_status(console: Console, instance_id: str, status: InstanceStatus) -> None:
    deadline = time.monotonic() + 10
    while console.harness.hub.store.status(instance_id) is not status:
        assert time.monotonic() < deadline, f"{instance_id} never became {status.value}"
        time.sleep(0.02)


# -- signing in --------------------------------------------------------------------------


def test_every_page_sends_a_stranger_to_the_login_page(web: TestClient):
    for path in ("/", "/instances?q=SR1", "/hospital", "/records", "/configuration"):
        response = web.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    assert web.get("/").headers["location"] == "/login?next=%2F"


def test_a_wrong_secret_or_a_client_without_hub_read_does_not_sign_in(
    web: TestClient, console: Console
):
    token = token_of(web.get("/login").text)
    wrong = web.post("/login", data={"client_id": "operator", "secret": "nope", "csrf": token})
    assert wrong.status_code == 401
    assert "Unknown client id or wrong secret" in wrong.text
    assert SESSION_COOKIE not in web.cookies
    token = token_of(wrong.text)
    publisher = web.post(
        "/login",
        data={
            "client_id": "cpm",
            "secret": console.credentials.client("cpm").secret,
            "csrf": token,
        },
    )
    assert publisher.status_code == 403
    assert "lacks hub:read" in publisher.text


def test_a_login_post_without_the_form_s_token_is_refused(web: TestClient, console: Console):
    web.get("/login")
    response = web.post(
        "/login",
        data={"client_id": "operator", "secret": console.credentials.client("operator").secret},
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in web.cookies


def test_sign_in_returns_to_the_page_asked_for_and_never_to_another_site(
    web: TestClient, console: Console
):
    secret = console.credentials.client("operator").secret
    token = token_of(web.get("/login?next=%2Fhospital").text)
    back = web.post(
        "/login",
        data={"client_id": "operator", "secret": secret, "csrf": token, "next": "/hospital"},
    )
    assert back.headers["location"] == "/hospital"
    web.cookies.clear()
    token = token_of(web.get("/login").text)
    away = web.post(
        "/login",
        data={"client_id": "operator", "secret": secret, "csrf": token, "next": "//evil.example/"},
    )
    assert away.headers["location"] == "/"


def test_an_altered_session_cookie_or_a_rotated_secret_signs_out(web: TestClient, console: Console):
    sign_in(web, console, "operator")
    assert web.get("/").status_code == 200
    good = web.cookies[SESSION_COOKIE]
    body, _, mac = good.rpartition(".")
    web.cookies.clear()
    web.cookies.set(SESSION_COOKIE, f"{body}x.{mac}")
    assert web.get("/").status_code == 303
    web.cookies.clear()
    web.cookies.set(SESSION_COOKIE, good)
    assert web.get("/").status_code == 200
    old = console.credentials.client("operator")
    rotated = CredentialStore(
        [Client(old.client_id, "a-new-secret", old.scopes), console.credentials.client("viewer")]
    )
    console.app.state.console.credentials = rotated
    assert web.get("/").status_code == 303


def test_signing_out_ends_the_session(web: TestClient, console: Console):
    csrf = sign_in(web, console, "viewer")
    assert web.post("/logout", data={"csrf": csrf}).status_code == 303
    assert web.get("/").status_code == 303


# -- acting ---------------------------------------------------------------------------------


def test_an_action_needs_the_session_s_csrf_token(web: TestClient, console: Console):
    csrf = sign_in(web, console, "operator")
    refused = web.post("/flows/ENR-SYNC/pause", data={"csrf": "forged"})
    assert refused.status_code == 403
    assert not console.harness.hub.is_paused("ENR-SYNC")
    done = web.post("/flows/ENR-SYNC/pause", data={"csrf": csrf})
    assert "ENR-SYNC paused" in flash_of(web, done)
    assert console.harness.hub.is_paused("ENR-SYNC")
    assert 'aria-label="Resume ENR-SYNC"' in web.get("/").text
    web.post("/flows/ENR-SYNC/resume", data={"csrf": csrf})
    assert not console.harness.hub.is_paused("ENR-SYNC")


def test_run_now_of_a_message_flow_says_why_not(web: TestClient, console: Console):
    csrf = sign_in(web, console, "operator")
    response = web.post("/flows/ENR-SYNC/run-now", data={"csrf": csrf})
    assert "not by a schedule" in flash_of(web, response)


def test_a_viewer_sees_every_page_but_may_not_act(web: TestClient, console: Console):
    console.send_sync("B1", "SR1")
    csrf = sign_in(web, console, "viewer")
    for path in ("/", "/instances", "/instances/ENR-SYNC:B1", "/hospital", "/configuration"):
        page = web.get(path)
        assert page.status_code == 200, path
        assert "Pause" not in page.text and 'name="ids"' not in page.text
    for path, form in (
        ("/flows/ENR-SYNC/pause", {}),
        ("/hospital/confirm", {"action": "resubmit", "all": "true"}),
        ("/configuration/lookups", {"name": "AssetSpec", "key": "A!B", "value": "C"}),
        ("/configuration/properties", {"flow": "*", "key": "to", "value": "a@b.example"}),
    ):
        response = web.post(path, data={"csrf": csrf, **form})
        assert response.status_code == 403, path
        assert "read-only" in response.text
    assert not console.harness.hub.is_paused("ENR-SYNC")


# -- instances ------------------------------------------------------------------------------


def test_search_finds_an_instance_by_any_business_identifier(web: TestClient, console: Console):
    console.send_sync("B1", "SR1")
    console.send_sync("B2", "SR2")
    sign_in(web, console, "viewer")
    for key in ("SR2", "B2", "ENR-SYNC:B2"):
        page = web.get("/instances", params={"q": key}).text
        assert "ENR-SYNC:B2" in page and "ENR-SYNC:B1" not in page, key
    both = web.get("/instances", params={"q": "SP1"}).text  # the service point of both
    assert "ENR-SYNC:B1" in both and "ENR-SYNC:B2" in both
    assert "No instance matches." in web.get("/instances", params={"q": "nothing"}).text
    by_status = web.get("/instances", params={"status": "Faulted"}).text
    assert "No instance matches." in by_status
    window = web.get(
        "/instances", params={"since": "2026-07-01T17:00", "until": "2026-07-01T19:00"}
    )
    assert "ENR-SYNC:B1" in window.text
    later = web.get("/instances", params={"since": "2026-07-01T19:00"}).text
    assert "No instance matches." in later
    bad = web.get("/instances", params={"since": "yesterday"})
    assert bad.status_code == 422
    assert "expected a date and time" in bad.text


def test_search_pages_by_keyset_without_gaps_or_repeats(web: TestClient, console: Console):
    clock = console.harness.hub.clock
    for n in range(55):
        console.send_sync(f"P{n:03d}", f"SRP{n}")
        clock.advance(seconds=1)  # type: ignore[attr-defined]
    sign_in(web, console, "viewer")
    first = web.get("/instances").text
    ids = re.findall(r'href="/instances/(ENR-SYNC%3AP\d+)"', first)
    assert len(ids) == 50 and ids[0] == "ENR-SYNC%3AP054"
    older = re.search(r'href="(/instances\?[^"]*before_at=[^"]+)" rel="next"', first)
    assert older
    second = web.get(older.group(1).replace("&amp;", "&")).text
    rest = re.findall(r'href="/instances/(ENR-SYNC%3AP\d+)"', second)
    assert rest == [f"ENR-SYNC%3AP{n:03d}" for n in range(4, -1, -1)]
    assert 'rel="next"' not in second


def test_the_instance_page_shows_timeline_links_and_masked_payload(
    web: TestClient, console: Console
):
    instance = console.send_sync("B1", "SR1", password="hunter2")
    sign_in(web, console, "viewer")
    page = web.get(f"/instances/{instance}").text
    assert "deliver-derms-enroll" in page and "Completed" in page
    assert "hunter2" not in page and "****" in page
    assert 'href="/records/subscriptions/E1"' in page
    assert 'href="/records/sync-requests/SR1"' in page
    raw = web.get(f"/instances/{instance}/payload.json")
    assert raw.headers["content-type"].startswith("application/json")
    assert "hunter2" not in raw.text and '"SR1"' in raw.text
    assert web.get("/instances/ENR-SYNC:nope").status_code == 404


def test_the_whole_payload_renders_as_a_console_page(web: TestClient, console: Console):
    instance = console.send_sync("B1", *(f"SR{n}" for n in range(30)), password="hunter2")
    sign_in(web, console, "viewer")
    page = web.get(f"/instances/{instance}/payload")
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Payload of ENR-SYNC:B1</h1>" in page.text
    assert 'aria-current="page">Instances' in page.text  # within the console's layout
    assert "&#34;SR29&#34;" in page.text  # every record, none cut
    assert "hunter2" not in page.text
    assert f'href="/instances/{instance.replace(":", "%3A")}/payload.json"' in page.text


def test_the_instance_list_shows_each_business_summary_and_a_total(
    web: TestClient, console: Console
):
    console.send_sync("B1", "SR1", "SR2", "SR3", "SR4")
    console.send_sync("B2", "SR5")
    sign_in(web, console, "viewer")
    page = web.get("/instances", params={"flow": "ENR-SYNC"}).text
    assert "<strong>2</strong> instance(s) match, carrying <strong>5</strong> record(s)" in page
    assert (
        "4 enrollment syncs · 4 delivered, 0 refused · syncRequestId SR1, SR2, SR3 and 1 more"
        in page
    )
    assert "1 enrollment sync · 1 delivered, 0 refused · syncRequestId SR5<" in page
    one = web.get("/instances", params={"q": "SR5"}).text
    assert "<strong>1</strong> instance(s) match, carrying <strong>1</strong> record(s)" in one


def test_the_instance_page_tables_its_records_with_outcome_and_error(
    web: TestClient, console: Console
):
    async def cpm(path: str, body: Any) -> Any:
        return {
            "results": [
                {"syncRequestId": "SR1", "outcome": "Synchronized"},
                {
                    "syncRequestId": "SR2",
                    "outcome": "Rejected",
                    "code": "CPM-SYNC-UNKNOWN",
                    "detail": "no such sync request",
                },
            ]
        }

    console.harness.cpm.handler = cpm
    acks = [
        {
            "ackType": "SUCCESS",
            "whenISO": "2026-07-01T18:00:01.000Z",
            "responses": [
                {"id": "D1", "value": "D1RE", "responseCode": "SUCCESS", "dacsMessageId": sid}
            ],
        }
        for sid in ("SR1", "SR2")
    ]
    instance = asyncio.run(console.harness.send("ENR-ACK", {"batchId": "A1", "acks": acks}))
    sign_in(web, console, "viewer")
    page = web.get(f"/instances/{instance}").text
    table = page[page.index('<table class="records">') :]
    table = table[table.index("<tbody>") : table.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    assert len(rows) == 2
    assert 'href="/instances?q=SR1"' in rows[0] and ">delivered<" in rows[0]
    assert 'href="/records/sync-requests/SR1"' in rows[0]
    assert ">refused<" in rows[1] and "CPM-SYNC-UNKNOWN</code> no such sync request" in rows[1]
    assert '<ul class="keys">' not in page  # no wall of identifiers


def test_a_large_instance_pages_its_records(web: TestClient, console: Console):
    instance = console.send_sync("B1", *(f"SR{n:03d}" for n in range(250)))
    sign_in(web, console, "viewer")
    first = web.get(f"/instances/{instance}").text
    assert "250 enrollment sync(s): 1 to 200 here" in first
    assert "SR199" in first and "SR200" not in first
    second = web.get(f"/instances/{instance}", params={"records": 2}).text
    assert "201 to 250 here" in second and "SR249" in second and ">SR199<" not in second


def test_the_dashboard_counts_records_as_well_as_instances_and_draws_trends(
    web: TestClient, console: Console
):
    console.send_sync("B1", "SR1", "SR2", "SR3")
    console.send_sync("B2", "SR4")
    sign_in(web, console, "viewer")
    page = web.get("/").text
    row = re.search(r'<tr id="flow-ENR-SYNC">(.*?)</tr>', page, re.S)
    assert row
    # The last hour and the last day: two instances, carrying four enrollments.
    assert row.group(1).count("<strong>2</strong> instance(s)") == 2
    assert row.group(1).count("<strong>4</strong> record(s)") == 2
    trend = re.search(r'<figure id="trend-ENR-SYNC">(.*?)</figure>', page, re.S)
    assert trend
    assert "ENR-SYNC instances per hour: last hour 2" in trend.group(1)
    assert "hour received" in trend.group(1) and "18:00<" in trend.group(1)


def test_the_dashboard_reads_schedules_in_words(web: TestClient, console: Console):
    sign_in(web, console, "viewer")
    row = re.search(r'<tr id="flow-RECONCILE">(.*?)</tr>', web.get("/").text, re.S)
    assert row
    assert ">daily at 02:00 UTC</span>" in row.group(1)
    assert 'title="cron 0 0 2 * * *' in row.group(1)


def test_the_dashboard_shows_whether_analytics_answers(web: TestClient, console: Console):
    async def down(path: str, params: Any) -> Any:
        raise RemoteFault("analytics unreachable: connection refused")

    console.harness.hub.targets.analytics = FakeTarget(down)
    sign_in(web, console, "viewer")
    tiles = web.get("/").text.split('aria-label="Platform at a glance"')[1].split("</ul>")[0]
    assert 'analytics <strong class="bad">DOWN</strong>' in tiles
    assert "analytics unreachable" in tiles
    assert 'cpm <strong class="good">UP</strong>' in tiles


def test_pausing_a_flow_asks_first(web: TestClient, console: Console):
    csrf = sign_in(web, console, "operator")
    dashboard = web.get("/").text
    assert 'action="/flows/ENR-SYNC/pause"' in dashboard
    assert re.search(r'<form method="post" action="/flows/ENR-SYNC/pause"', dashboard) is None
    asked = web.get("/flows/ENR-SYNC/pause")
    assert asked.status_code == 200
    assert "Pause ENR-SYNC?" in asked.text and "kept (Held)" in asked.text
    assert not console.harness.hub.is_paused("ENR-SYNC")
    form = re.search(r'<form method="post" action="(/flows/ENR-SYNC/pause)"', asked.text)
    assert form and f'value="{csrf}"' in asked.text
    done = web.post(form.group(1), data={"csrf": csrf, "back": "/"})
    assert "ENR-SYNC paused" in flash_of(web, done)
    assert console.harness.hub.is_paused("ENR-SYNC")
    assert web.get("/flows/NOPE/pause").status_code == 404


def test_removing_a_lookup_value_asks_first(web: TestClient, console: Console):
    csrf = sign_in(web, console, "operator")
    page = web.get("/configuration").text
    assert 'name="remove"' not in page  # no button removes without asking
    key = "ECOBEE!SMARTTHERMOSTAT"
    asked = web.get("/configuration/lookups/remove", params={"name": "AssetSpec", "key": key})
    assert asked.status_code == 200
    assert f"Remove AssetSpec {key}?" in asked.text and "ECOBEE-ST" in asked.text
    assert key in console.harness.part.lookups.table("AssetSpec")
    assert 'name="remove" value="true"' in asked.text
    done = web.post(
        "/configuration/lookups",
        data={"csrf": csrf, "name": "AssetSpec", "key": key, "remove": "true"},
    )
    assert "removed" in flash_of(web, done)
    gone = web.get("/configuration/lookups/remove", params={"name": "AssetSpec", "key": key})
    assert gone.status_code == 404


def test_a_viewer_is_not_asked_to_act(web: TestClient, console: Console):
    sign_in(web, console, "viewer")
    assert web.get("/flows/ENR-SYNC/pause").status_code == 403
    asked = web.get("/configuration/lookups/remove", params={"name": "AssetSpec", "key": "X"})
    assert asked.status_code == 403


# -- the hospital ---------------------------------------------------------------------------


def fault_derms(console: Console) -> list[bool]:
    """DERMS refuses connections until the returned switch is set."""
    up = [False]

    async def derms(path: str, body: Any) -> Any:
        if not up[0]:
            raise RemoteFault("derms unreachable: connection refused")
        return {"accepted": 1}

    console.harness.derms.handler = derms
    return up


def test_resubmit_from_the_hospital_is_confirmed_and_records_who_and_why(
    web: TestClient, console: Console
):
    up = fault_derms(console)
    instance = console.send_sync("B1", "SR1")
    console.send_sync("B2", "SR2")
    csrf = sign_in(web, console, "operator")
    hospital = web.get("/hospital").text
    assert "ENR-SYNC" in hospital and "remote" in hospital
    assert "2 instance(s) match" in hospital

    confirm = web.post(
        "/hospital/confirm", data={"csrf": csrf, "action": "resubmit", "ids": instance}
    )
    assert confirm.status_code == 200
    assert "Resubmit 1 instance(s)?" in confirm.text
    assert console.harness.hub.store.status(instance) is InstanceStatus.FAULTED  # not yet

    up[0] = True
    applied = web.post(
        "/hospital/apply",
        data={
            "csrf": token_of(confirm.text),
            "action": "resubmit",
            "ids": instance,
            "note": "back",
        },
    )
    assert "Resubmitted 1 instance(s)" in flash_of(web, applied)
    wait_for_status(console, instance, InstanceStatus.COMPLETED)
    (action,) = console.harness.hub.store.detail(instance)["actions"]
    assert (action["action"], action["actor"], action["note"]) == ("resubmit", "operator", "back")
    assert "1 instance(s) match" in web.get("/hospital").text


def test_discard_all_matching_a_filter_leaves_other_flows_alone(web: TestClient, console: Console):
    fault_derms(console)
    one, two = console.send_sync("B1", "SR1"), console.send_sync("B2", "SR2")
    csrf = sign_in(web, console, "operator")
    confirm = web.post(
        "/hospital/confirm",
        data={
            "csrf": csrf,
            "action": "discard",
            "all": "true",
            "flow": "ENR-SYNC",
            "category": "remote",
        },
    )
    assert "Discard 2 instance(s)?" in confirm.text
    applied = web.post(
        "/hospital/apply",
        data={
            "csrf": csrf,
            "action": "discard",
            "all": "true",
            "flow": "ENR-SYNC",
            "note": "test data",
        },
    )
    assert "Discarded 2 instance(s)" in flash_of(web, applied)
    store = console.harness.hub.store
    assert store.status(one) is store.status(two) is InstanceStatus.DISCARDED
    again = web.post("/hospital/confirm", data={"csrf": csrf, "action": "discard", "all": "true"})
    assert "Nothing to do" in flash_of(web, again)


def test_an_unknown_hospital_filter_is_refused(web: TestClient, console: Console):
    sign_in(web, console, "viewer")
    response = web.get("/hospital", params={"category": "cosmic"})
    assert response.status_code == 422
    assert "no fault category" in response.text


# -- configuration --------------------------------------------------------------------------


def test_a_lookup_edit_is_validated_audited_and_effective_at_once(
    web: TestClient, console: Console
):
    csrf = sign_in(web, console, "operator")
    saved = web.post(
        "/configuration/lookups",
        data={"csrf": csrf, "name": "AssetSpec", "key": "ACME!X1", "value": "ACME-X1"},
    )
    assert "saved" in flash_of(web, saved)
    assert console.harness.part.lookups.table("AssetSpec")["ACME!X1"] == "ACME-X1"
    empty = web.post(
        "/configuration/lookups", data={"csrf": csrf, "name": "AssetSpec", "key": "ACME!X1"}
    )
    assert "a value is required" in flash_of(web, empty)
    unknown = web.post(
        "/configuration/lookups", data={"csrf": csrf, "name": "Nope", "key": "K", "value": "V"}
    )
    assert "unknown lookup" in flash_of(web, unknown)
    removed = web.post(
        "/configuration/lookups",
        data={"csrf": csrf, "name": "AssetSpec", "key": "ACME!X1", "remove": "true"},
    )
    assert "removed" in flash_of(web, removed)
    assert "ACME!X1" not in console.harness.part.lookups.table("AssetSpec")
    audit = console.harness.hub.configuration_history()["lookups"]
    assert [(a["old_value"], a["new_value"], a["actor"]) for a in audit] == [
        ("ACME-X1", None, "operator"),
        (None, "ACME-X1", "operator"),
    ]


def test_a_flow_property_is_validated_audited_and_read_by_the_next_e_mail(
    web: TestClient, console: Console
):
    from derlink.hub.notify import Notifier

    csrf = sign_in(web, console, "operator")
    bad = web.post(
        "/configuration/properties",
        data={"csrf": csrf, "flow": "ENR-SYNC", "key": "to", "value": "ops@x.example, oops"},
    )
    assert "not an address: oops" in flash_of(web, bad)
    switch = web.post(
        "/configuration/properties",
        data={"csrf": csrf, "flow": "*", "key": "notify.complete", "value": "maybe"},
    )
    assert "true or false" in flash_of(web, switch)
    good = web.post(
        "/configuration/properties",
        data={"csrf": csrf, "flow": "ENR-SYNC", "key": "to", "value": "a@x.example,b@x.example"},
    )
    assert "ENR-SYNC to saved" in flash_of(web, good)
    notifier = Notifier(console.harness.part.db, console.harness.mailer)
    assert notifier.recipients("ENR-SYNC", "to") == ["a@x.example", "b@x.example"]
    assert notifier.recipients("ENR-ACK", "to") == ["integration-ops@utility.example"]
    web.post("/configuration/properties", data={"csrf": csrf, "flow": "ENR-SYNC", "key": "to"})
    assert notifier.recipients("ENR-SYNC", "to") == ["integration-ops@utility.example"]
    (cleared, set_) = console.harness.hub.configuration_history()["properties"]
    assert (set_["new_value"], cleared["new_value"]) == ("a@x.example, b@x.example", None)
    page = web.get("/configuration").text
    assert "a@x.example, b@x.example" in page and "ACME" not in page


# -- records --------------------------------------------------------------------------------


def test_a_part_that_does_not_answer_is_shown_as_such(web: TestClient, console: Console):
    async def down(path: str, body: Any) -> Any:
        raise RemoteFault("cpm unreachable: connection refused")

    console.harness.cpm.handler = down
    sign_in(web, console, "viewer")
    page = web.get("/records")
    assert page.status_code == 200
    assert "cpm did not answer: cpm unreachable" in page.text
    assert "cpm did not answer" in web.get("/records/subscriptions").text


def test_records_are_read_from_the_parts_apis(web: TestClient, console: Console):
    async def cpm(path: str, params: Any) -> Any:
        if path == "/api/v1/programs":
            return [
                {
                    "programCode": "BYOT",
                    "name": "Bring your own thermostat",
                    "programType": "DR",
                    "status": "Active",
                    "eligibleSpecifications": ["ECOBEE-ST"],
                    "settlementMethod": "KWH_AVOIDED",
                }
            ]
        if path == "/api/v1/sync-requests/counts":
            return {"Pending": 1, "Synchronized": 2}
        raise AssertionError(path)

    console.harness.cpm.handler = cpm
    sign_in(web, console, "viewer")
    page = web.get("/records").text
    assert "Bring your own thermostat" in page
    assert "<strong>2</strong> Synchronized" in page
    assert ("/api/v1/sync-requests/counts", None) in console.harness.cpm.calls


def test_the_instance_page_lists_the_ack_that_answered_it(web: TestClient, console: Console):
    sync = console.send_sync("B1", "SR1")
    ack = {"ackType": "SUCCESS", "whenISO": "2026-07-01T18:00:01.000Z", "dacsMessageId": "SR1"}
    acked = asyncio.run(console.harness.send("ENR-ACK", {"batchId": "A1", "acks": [ack]}))
    console.send_sync("B2", "SR2")
    sign_in(web, console, "viewer")
    page = web.get(f"/instances/{sync}").text
    related = page[page.index("Acks and other instances") :]
    assert f'href="/instances/{acked.replace(":", "%3A")}"' in related
    assert "ENR-SYNC%3AB2" in related  # the same enrollment and service point, synced again


def test_a_selection_acts_only_on_instances_still_in_the_hospital(
    web: TestClient, console: Console
):
    fault_derms(console)
    faulted = console.send_sync("B1", "SR1")
    csrf = sign_in(web, console, "operator")
    applied = web.post(
        "/hospital/apply",
        data={"csrf": csrf, "action": "discard", "ids": [faulted, "ENR-SYNC:unknown"]},
    )
    assert "Discarded 1 instance(s). 1 were no longer in the hospital." in flash_of(web, applied)
    again = web.post("/hospital/apply", data={"csrf": csrf, "action": "discard", "ids": faulted})
    assert "already handled" in flash_of(web, again)


# -- times ------------------------------------------------------------------------------------


def test_times_show_in_the_utility_s_zone_with_utc_on_hover(tmp_path: Path):
    chicago = Console(tmp_path, time_zone="America/Chicago")
    try:
        instance = chicago.send_sync("B1", "SR1")
        with TestClient(chicago.app, follow_redirects=False) as web:
            sign_in(web, chicago, "viewer")
            page = web.get(f"/instances/{instance}").text
            assert '<time datetime="2026-07-01T18:00:00Z" title="2026-07-01 18:00:00 UTC">' in page
            assert "2026-07-01 13:00:00 CDT</time>" in page
            assert "18:00:00 CDT" not in page
            listed = web.get("/instances", params={"since": "2026-07-01T12:30"}).text
            assert "ENR-SYNC:B1" in listed and "From (America/Chicago)" in listed
            later = web.get("/instances", params={"since": "2026-07-01T13:30"}).text
            assert "No instance matches." in later
            for path in ("/", "/hospital", "/configuration"):
                assert "UTC</time>" not in web.get(path).text
    finally:
        chicago.close()


# -- faults ---------------------------------------------------------------------------------


def refuse_in_derms(console: Console) -> None:
    """DERMS refuses every message on business grounds (a 422 of the whole batch)."""

    async def derms(path: str, body: Any) -> Any:
        raise BusinessFault("derms refused the batch: unknown program", status=422)

    console.harness.derms.handler = derms


def test_a_business_fault_says_resubmitting_will_not_help_and_what_to_do(
    web: TestClient, console: Console
):
    refuse_in_derms(console)
    instance = console.send_sync("B1", "SR1")
    assert console.harness.hub.store.fault_category(instance) == "business"
    csrf = sign_in(web, console, "operator")
    page = web.get(f"/instances/{instance}").text
    guidance = re.search(r'<p class="guidance business" id="guidance">(.*?)</p>', page, re.S)
    assert guidance
    assert "Resubmitting will not help" in guidance.group(1)
    assert "Correct the data at the source (cpm) and send it again" in guidance.group(1)
    hospital = web.get("/hospital").text
    assert "Resubmitting will not help" in hospital
    confirm = web.post(
        "/hospital/confirm", data={"csrf": csrf, "action": "resubmit", "ids": instance}
    )
    assert "1 of them faulted on business grounds: resubmitting will not help" in confirm.text
    discard = web.post(
        "/hospital/confirm", data={"csrf": csrf, "action": "discard", "ids": instance}
    )
    assert "resubmitting will not help" not in discard.text


def test_a_remote_fault_says_to_resubmit_once_the_part_answers(web: TestClient, console: Console):
    fault_derms(console)
    instance = console.send_sync("B1", "SR1")
    sign_in(web, console, "viewer")
    page = web.get(f"/instances/{instance}").text
    assert '<p class="guidance remote" id="guidance">' in page
    assert "Resubmit once it answers again" in page
    assert "Resubmitting will not help" not in page


def test_fault_e_mails_link_to_the_instance_in_the_console(console: Console):
    refuse_in_derms(console)
    instance = console.send_sync("B1", "SR1")
    (mail,) = [m for m in console.harness.mailer.sent if "faulted" in str(m["subject"])]
    body = str(mail["body"])
    assert "http://127.0.0.1:8400/console/instances/ENR-SYNC%3AB1" in body
    assert "Resubmitting will not help" in body
    assert f"derlink hospital discard {instance}" in body
    assert "hospital resubmit" not in body


# -- reconciliation ---------------------------------------------------------------------------


def test_the_reconciliation_page_and_the_api_share_one_history(web: TestClient, console: Console):
    async def pages(path: str, params: Any) -> Any:
        if params.get("after"):
            return {"items": [], "next": None}
        status = "Active" if path.endswith("/reconciliation/subscriptions") else "ACTIVE"
        return {
            "items": [{"subscriptionId": "E1", "status": status, "devices": ["HE!N1"]}],
            "next": None,
        }

    console.harness.cpm.handler = pages
    console.harness.derms.handler = pages
    hub = console.harness.hub
    # A run started through the hub's API, as ``derlink reconcile`` does ...
    with TestClient(console.harness.part.app) as api:
        operator = console.credentials.client("operator").header()
        started = api.post("/api/v1/reconciliation/runs", headers=operator).json()
        wait_for_status(console, started["instanceId"], InstanceStatus.COMPLETED)
    hub.clock.advance(minutes=1)  # type: ignore[attr-defined]
    csrf = sign_in(web, console, "operator")
    page = web.get("/records/reconciliation").text
    history = page[page.index('id="reconciliation-history"') :]
    assert started["instanceId"] in history and ">operator<" in history
    assert "<strong>1</strong> subscriptions compared" in page
    # ... and one started from the console: the API lists both.
    ran = web.post(
        "/flows/RECONCILE/run-now", data={"csrf": csrf, "back": "/records/reconciliation"}
    )
    assert "RECONCILE started" in flash_of(web, ran)
    runs = hub.reconciliation_runs()
    assert len(runs) == 2 and runs[1]["instanceId"] == started["instanceId"]
    wait_for_status(console, runs[0]["instanceId"], InstanceStatus.COMPLETED)
    with TestClient(console.harness.part.app) as api:
        listed = api.get("/api/v1/reconciliation/runs", headers=operator).json()
    assert [r["instanceId"] for r in listed] == [r["instanceId"] for r in runs]


# -- records: filters and "Open" ------------------------------------------------------------


def subscription_item(sub: str, **fields: str) -> dict[str, Any]:
    return {
        "subscriptionId": sub,
        "status": "Active",
        "programCode": "BYOT",
        "cisServicePointId": f"SP-{sub}",
        "cisAccountId": f"A-{sub}",
        "customerName": "Ann Lee",
        "devices": ["HE!N1"],
        "version": 1,
        **fields,
    }


def test_cpm_subscriptions_filter_by_status_program_service_point_account_and_customer(
    web: TestClient, console: Console
):
    async def cpm(path: str, params: Any) -> Any:
        assert path == "/api/v1/subscriptions"
        return {"items": [subscription_item("E-1")], "next": "E-1"}

    console.harness.cpm.handler = cpm
    sign_in(web, console, "viewer")
    form = {"status": "Active", "program": "BYOT", "service_point": "SP1", "account": "A1"}
    page = web.get("/records/subscriptions", params={**form, "customer": " ann "}).text
    (_path, asked) = console.harness.cpm.calls[-1]
    assert asked == {
        "limit": "50",
        "status": "Active",
        "programCode": "BYOT",
        "servicePointId": "SP1",
        "accountId": "A1",
        "customerName": "ann",
    }
    assert "Ann Lee" in page and 'href="/records/subscriptions/E-1"' in page
    assert 'href="/records/subscriptions?account=A-E-1"' in page  # the related records
    assert '<option value="Active" selected>' in page and 'value="ann"' in page
    # The next page keeps the filters.
    assert (
        'href="/records/subscriptions?status=Active&amp;program=BYOT&amp;service_point=SP1'
        '&amp;account=A1&amp;customer=ann&amp;after=E-1" rel="next"'
    ) in page


def test_open_takes_any_id_of_a_subscription(web: TestClient, console: Console):
    found = {
        "SP-1": [subscription_item("E-1")],
        "A-9": [subscription_item("E-8"), subscription_item("E-9")],
    }

    async def cpm(path: str, params: Any) -> Any:
        return {"items": found.get(params["id"], []), "next": None}

    console.harness.cpm.handler = cpm
    sign_in(web, console, "viewer")
    one = web.get("/records/subscriptions", params={"q": "SP-1"})
    assert one.status_code == 303
    assert one.headers["location"] == "/records/subscriptions/E-1"
    several = web.get("/records/subscriptions", params={"q": "A-9"}).text
    assert "Subscriptions with the id A-9" in several
    assert "/records/subscriptions/E-8" in several and "/records/subscriptions/E-9" in several
    none = web.get("/records/subscriptions", params={"q": "nope"}).text
    assert "No subscription has the id nope." in none


def test_the_derms_registry_filters_and_opens_likewise_and_finds_customers_through_cpm(
    web: TestClient, console: Console
):
    async def cpm(path: str, params: Any) -> Any:
        assert params["customerName"] == "Ann"
        return {"items": [subscription_item("E-1"), subscription_item("E-2")], "next": None}

    async def derms(path: str, params: Any) -> Any:
        return {"items": [subscription_item("E-2", status="ACTIVE")], "next": None}

    console.harness.cpm.handler = cpm
    console.harness.derms.handler = derms
    sign_in(web, console, "viewer")
    page = web.get(
        "/records/registry", params={"status": "ACTIVE", "program": "BYOT", "customer": "Ann"}
    ).text
    (_path, asked) = console.harness.derms.calls[-1]
    assert asked == {
        "limit": "50",
        "status": "ACTIVE",
        "programCode": "BYOT",
        "subscriptionIds": "E-1,E-2",
    }
    assert 'href="/records/subscriptions/E-2"' in page
    opened = web.get("/records/registry", params={"q": "A-E-2"})
    assert opened.headers["location"] == "/records/subscriptions/E-2"
    assert console.harness.derms.calls[-1] == ("/api/v1/registry", {"limit": "50", "id": "A-E-2"})


def test_a_customer_cpm_does_not_know_narrows_the_registry_to_nothing(
    web: TestClient, console: Console
):
    async def cpm(path: str, params: Any) -> Any:
        return {"items": [], "next": None}

    console.harness.cpm.handler = cpm
    sign_in(web, console, "viewer")
    page = web.get("/records/registry", params={"customer": "Zed"}).text
    assert "No entry matches." in page
    assert all(path != "/api/v1/registry" for path, _ in console.harness.derms.calls)


def test_open_on_the_sync_requests_takes_a_sync_request_or_an_enrollment_id(
    web: TestClient, console: Console
):
    async def cpm(path: str, params: Any) -> Any:
        if path == "/api/v1/sync-requests/SR1/history":
            return []
        if path == "/api/v1/enrollments/E1":
            return {"enrollmentId": "E1"}
        raise BusinessFault("not found", status=404)

    console.harness.cpm.handler = cpm
    sign_in(web, console, "viewer")
    sync = web.get("/records/sync-requests", params={"q": "SR1"})
    assert sync.headers["location"] == "/records/sync-requests/SR1"
    enrollment = web.get("/records/sync-requests", params={"q": "E1"})
    assert enrollment.headers["location"] == "/records/subscriptions/E1"
    unknown = web.get("/records/sync-requests", params={"q": "X9"})
    assert unknown.status_code == 404
    assert "cpm has no sync request and no enrollment &#39;X9&#39;" in unknown.text


def test_the_hospital_filters_by_a_business_identifier(web: TestClient, console: Console):
    fault_derms(console)
    console.send_sync("B1", "SR1")
    console.send_sync("B2", "SR2")
    sign_in(web, console, "operator")
    page = web.get("/hospital", params={"q": "SR2"}).text
    assert "1 instance(s) match" in page
    assert "ENR-SYNC:B2" in page and "ENR-SYNC:B1" not in page
    assert "all 1 matching" not in page  # the "all matching" actions follow flow and category
    assert "Resubmit all 2 matching" in web.get("/hospital").text
