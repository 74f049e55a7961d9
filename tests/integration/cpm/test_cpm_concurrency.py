"""Concurrent enrollments: whatever the interleaving, each request and device is taken once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from cpm_harness import Cpm

from derlink.common.errors import DerlinkError
from derlink.cpm.catalog import model as cm
from derlink.cpm.catalog import service as catalog
from derlink.cpm.enrollment import model
from derlink.cpm.enrollment.service import subscriptions

THREADS = 6


def _request(message_id: str, account: str, service_point: str) -> model.NewEnrollment:
    return model.NewEnrollment(
        message_id=message_id, cis_account_id=account, program_code="BYOT",
        location=model.Location(service_point),
        assets=[model.Asset("ECOBEE-HE", "NIC-1", specification="ECOBEE-ST")],
    )  # fmt: skip


def _attempt(cpm: Cpm, request: model.NewEnrollment) -> str | DerlinkError:
    try:
        return subscriptions.enroll(
            db=cpm.part.db, clock=cpm.clock, request=request, actor="t"
        ).enrollment_id
    except DerlinkError as refused:
        return refused


def test_concurrent_deliveries_of_one_request_enroll_it_once(seeded: Cpm) -> None:
    request = _request("REQ-1", "A1", "SP1")
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(lambda _: _attempt(seeded, request), range(THREADS)))
    [created] = [o for o in outcomes if isinstance(o, str)]
    refusals = [o for o in outcomes if not isinstance(o, str)]
    assert [(r.code, r.details["enrollmentId"]) for r in refusals] == [("10589", created)] * (
        THREADS - 1
    )
    assert len(seeded.outbox_messages()) == 1


def test_one_device_enrolled_concurrently_at_many_places_goes_to_one(seeded: Cpm) -> None:
    catalog.load_master_data(
        db=seeded.part.db, clock=seeded.clock,
        persons_in=[cm.PersonRecord("P9")],
        accounts_in=[cm.AccountRecord(f"A{i}", "P9") for i in range(THREADS)],
        premises_in=[cm.PremiseRecord(f"PR{i}", f"A{i}") for i in range(THREADS)],
        service_points_in=[cm.ServicePointRecord(f"SPC{i}", f"PR{i}") for i in range(THREADS)],
    )  # fmt: skip
    requests = [_request(f"REQ-{i}", f"A{i}", f"SPC{i}") for i in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(lambda r: _attempt(seeded, r), requests))
    assert len([o for o in outcomes if isinstance(o, str)]) == 1
    assert sorted(o.code for o in outcomes if not isinstance(o, str)) == ["CPM-DEVICE-IN-USE"] * (
        THREADS - 1
    )
    assert len(seeded.get("/reconciliation/subscriptions").json()["items"]) == 1
