"""The operations console in a real browser (Debian's Chromium), against a real platform.

An operator's story: sign in; find an instance by a business identifier; watch a flow fail
into the hospital while its target (DERMS, in its own process) is down; bring DERMS back;
resubmit from the page; see the instance complete and the enrollment's sync request turn
Synchronized. Then: a viewer sees no controls and the server refuses its actions; a wrong
secret does not sign in; a lookup edit is saved with its audit trail. Screenshots of the main
pages land in artifacts/screenshots/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from derlink.cli import sample

from .conftest import Platform

pytestmark = pytest.mark.slow


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Page, platform: Platform, who: str) -> None:
    page.goto(f"{platform.console}/")
    page.get_by_label("Client id").fill(who)
    page.get_by_label("Secret").fill(platform.secret(who))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()


def until(page: Page, ready: Callable[[], bool], *, what: str, timeout_s: float = 60.0) -> None:
    """Reload the page until ``ready()`` holds (the platform works in the background)."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        page.wait_for_timeout(300)
        page.reload()


def status_of(page: Page) -> str:
    return page.locator("h1 .status").inner_text().strip()


def shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_a_target_outage_is_repaired_from_the_console(
    page: Page, platform: Platform, screenshots: Path
):
    sign_in(page, platform, "operator")
    platform.derms.kill()  # DERMS goes down
    customer = next(sample.customers(1))
    enrolled = platform.api.post(
        "/cpm/api/v1/enrollments",
        json=sample.enrollment_request(customer, message_id="REQ-CONSOLE-1", model_index=0),
    )
    assert enrolled.status_code == 201, enrolled.text
    enrollment_id = enrolled.json()["enrollmentId"]
    sync_request_id = enrolled.json()["syncRequestId"]

    # Find the instance by a business identifier: the sync request id cpm answered.
    page.get_by_role("link", name="Instances", exact=True).click()
    page.get_by_label("Business identifier").fill(sync_request_id)
    page.get_by_role("button", name="Search").click()
    found = page.locator("table.instances tbody a")
    until(page, lambda: found.count() == 1, what="the ENR-SYNC instance of the enrollment")
    instance_id = found.first.inner_text()
    assert instance_id.startswith("ENR-SYNC:")
    shot(page, screenshots, "instances-search")

    # The flow fails: DERMS does not answer, the retries run out, the instance is faulted.
    found.first.click()
    until(page, lambda: status_of(page) == "Faulted", what="the instance to fault")
    timeline = page.locator("table.timeline")
    expect(timeline).to_contain_text("failed:remote")
    expect(timeline).to_contain_text("(retry)")  # the retry policy at work, step by step
    expect(page.locator("dl.facts")).to_contain_text("remote at step")
    links = page.locator("ul.links")
    expect(
        links.get_by_role("link", name=f"Enrollment in cpm and DERMS: {enrollment_id}")
    ).to_be_visible()
    shot(page, screenshots, "instance-faulted")

    page.goto(f"{platform.console}/")
    expect(page.locator("ul.tiles")).to_contain_text("DOWN")  # DERMS, as the dashboard sees it
    shot(page, screenshots, "dashboard")

    # It is in the hospital, grouped by flow and category.
    page.get_by_role("link", name="Error hospital", exact=True).click()
    groups = page.locator("table.groups")
    expect(groups).to_contain_text("ENR-SYNC")
    expect(groups).to_contain_text("remote")
    row = page.locator("table.instances tr", has=page.get_by_role("link", name=instance_id))
    expect(row).to_contain_text("deliver-derms-enroll")
    shot(page, screenshots, "hospital")

    platform.derms.start()  # DERMS is back

    # Resubmit from the page: select it, confirm with a note.
    page.get_by_label(f"Select {instance_id}").check()
    page.get_by_role("button", name="Resubmit selected…").click()
    expect(page.get_by_role("heading", name="Resubmit 1 instance(s)?")).to_be_visible()
    page.get_by_label("Note (kept with the action)").fill("DERMS is back")
    shot(page, screenshots, "hospital-confirm")
    page.get_by_role("button", name="Resubmit 1 instance(s)").click()
    expect(page.get_by_role("status")).to_contain_text("Resubmitted 1 instance(s)")

    # The instance completes, and the hospital keeps who did what.
    page.goto(f"{platform.console}/instances/{instance_id}")
    until(page, lambda: status_of(page) == "Completed", what="the instance to complete")
    actions = page.locator("section", has=page.get_by_role("heading", name="Hospital actions"))
    expect(actions).to_contain_text("resubmit")
    expect(actions).to_contain_text("operator")
    expect(actions).to_contain_text("DERMS is back")
    shot(page, screenshots, "instance-completed")

    # The record in cpm turns Synchronized (DERMS acked through the hub's ENR-ACK).
    page.get_by_role("link", name=f"Enrollment in cpm and DERMS: {enrollment_id}").click()
    expect(page.get_by_role("heading", name=f"Subscription {enrollment_id}")).to_be_visible()
    sync = page.locator(f"#sync-{sync_request_id}")
    until(
        page,
        lambda: sync.locator("h4 .status").inner_text() == "Synchronized",
        what="the sync request to be Synchronized",
    )
    expect(sync.locator("ol.history")).to_contain_text("Synchronized")
    derms_side = page.locator(
        "section", has=page.get_by_role("heading", name="In the DERMS registry")
    )
    expect(derms_side).to_contain_text("ACTIVE")
    shot(page, screenshots, "record-subscription")

    # The ack that settled it is an instance of its own, found by the same identifier.
    page.goto(f"{platform.console}/instances?q={sync_request_id}")
    until(
        page,
        lambda: page.locator("table.instances tbody").inner_text().count("ENR-ACK:") == 1,
        what="the ENR-ACK instance",
    )
    assert page.locator("table.instances").get_by_text("ENR-SYNC:").count() == 1

    page.goto(f"{platform.console}/hospital")
    expect(page.locator("table.groups")).to_contain_text("The hospital is empty.")


def test_the_record_pages_show_cpm_and_derms(page: Page, platform: Platform, screenshots: Path):
    sign_in(page, platform, "operator")
    page.get_by_role("link", name="Records", exact=True).click()
    expect(
        page.get_by_role("cell", name="BYOT-SUMMER", exact=True).or_(
            page.get_by_role("rowheader", name="BYOT-SUMMER")
        )
    ).to_be_visible()
    shot(page, screenshots, "records-programs")
    page.get_by_role("link", name="DERMS registry").click()
    expect(page.get_by_role("heading", name="DERMS registry")).to_be_visible()
    page.get_by_role("link", name="Reconciliation").click()
    page.get_by_role("button", name="Run the reconciliation now").click()
    expect(page.get_by_role("status")).to_contain_text("RECONCILE started")
    until(
        page,
        lambda: page.get_by_text("subscriptions compared").count() == 1,
        what="the reconciliation report",
    )
    shot(page, screenshots, "records-reconciliation")


def test_a_viewer_sees_no_controls_and_the_server_refuses_its_actions(
    page: Page, platform: Platform
):
    sign_in(page, platform, "viewer")
    expect(page.get_by_text("(read-only)")).to_be_visible()
    assert page.get_by_role("button", name=re.compile(r"^(Pause|Resume|Run now)")).count() == 0
    csrf = page.locator('input[name="csrf"]').first.get_attribute("value")
    refused = page.request.post(
        f"{platform.console}/flows/ENR-SYNC/pause", form={"csrf": csrf or ""}, max_redirects=0
    )
    assert refused.status == 403
    assert "read-only" in refused.text()
    flows = platform.api.get("/hub/api/v1/flows").json()
    assert {f["code"]: f["status"] for f in flows}["ENR-SYNC"] == "active"
    refused = page.request.post(
        f"{platform.console}/configuration/lookups",
        form={"csrf": csrf or "", "name": "AssetSpec", "key": "X!Y", "value": "Z"},
        max_redirects=0,
    )
    assert refused.status == 403
    page.get_by_role("link", name="Lookups & configuration").click()
    assert page.get_by_role("button", name=re.compile("^Save")).count() == 0
    page.get_by_role("link", name="Error hospital", exact=True).click()
    assert page.get_by_role("checkbox").count() == 0


def test_a_wrong_secret_does_not_sign_in(page: Page, platform: Platform, screenshots: Path):
    page.goto(f"{platform.console}/instances")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    page.get_by_label("Client id").fill("operator")
    page.get_by_label("Secret").fill("not-the-secret")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Unknown client id or wrong secret")
    shot(page, screenshots, "login-refused")
    page.get_by_label("Secret").fill(platform.secret("operator"))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Instances")).to_be_visible()  # where it was going


def test_a_lookup_edit_takes_effect_with_its_audit_trail(
    page: Page, platform: Platform, screenshots: Path
):
    sign_in(page, platform, "operator")
    page.get_by_role("link", name="Lookups & configuration").click()
    asset_spec = page.get_by_role("region", name="AssetSpec")
    asset_spec.get_by_label("New key").fill("ACME!THERMO1")
    asset_spec.get_by_label("Value", exact=True).fill("ACME-T1")
    asset_spec.get_by_role("button", name="Add to AssetSpec").click()
    expect(page.get_by_role("status")).to_contain_text("AssetSpec ACME!THERMO1 → ACME-T1 saved")

    page.get_by_label("AssetSpec value for ACME!THERMO1").fill("ACME-T2")
    page.get_by_role("button", name="Save AssetSpec ACME!THERMO1").click()
    expect(page.get_by_role("status")).to_contain_text("ACME-T2 saved")
    audit = page.locator("#lookup-audit tbody tr").first
    expect(audit).to_contain_text("operator")
    expect(audit).to_contain_text("ACME-T1")
    expect(audit).to_contain_text("ACME-T2")
    # Effective without a restart: the hub's API reads the new value at once.
    lookups = platform.api.get("/hub/api/v1/lookups").json()
    assert lookups["AssetSpec"]["ACME!THERMO1"] == "ACME-T2"

    page.get_by_label("Value (empty: back to the default)").fill(
        "ops@utility.example, not-an-address"
    )
    page.get_by_role("button", name="Set property").click()
    expect(page.get_by_role("alert")).to_contain_text("not an address: not-an-address")
    shot(page, screenshots, "configuration")

    page.get_by_role("button", name="Remove AssetSpec ACME!THERMO1…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove AssetSpec ACME!THERMO1?")
    page.get_by_role("button", name="Remove AssetSpec ACME!THERMO1", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("ACME!THERMO1 removed")
    assert "ACME!THERMO1" not in platform.api.get("/hub/api/v1/lookups").json()["AssetSpec"]
