"""The whole enrollment journey over HTTP, on SQLite and on PostgreSQL, checked where it ends:
in each part's database, against what the demo's plan says must have happened – not against
the demo's own summary."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rich.console import Console

from derlink.cli.client import CliError
from derlink.cli.demo import Plan, make_plan, run_demo
from derlink.platform.database import driver_url

CUSTOMERS = 240


class Parts:
    """Plain SQL on each part's database as the demo left it: SQLite files in the data directory,
    or one schema per part on PostgreSQL."""

    def __init__(self, kept: dict[str, Any]) -> None:
        self.home = Path(kept["home"])
        self.url = kept["database_url"]

    @contextmanager
    def connect(self, part: str) -> Iterator[sa.Connection]:
        if self.url is None:
            engine = sa.create_engine(f"sqlite:///{self.home / f'{part}.sqlite'}")
        else:
            engine = sa.create_engine(
                driver_url(self.url), connect_args={"options": f"-csearch_path={part}"}
            )
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def rows(self, part: str, sql: str) -> list[tuple[Any, ...]]:
        with self.connect(part) as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql))]

    def counts(self, part: str, sql: str) -> dict[Any, int]:
        return {key: int(n) for key, n in self.rows(part, sql)}


def expected(plan: Plan) -> dict[str, Any]:
    valid = plan.valid
    return {
        "subscriptions": len(valid),
        "inactive": {f"SP{c.n:08d}" for c in plan.unenroll},
        "replaced": {c.n for c in plan.replace},
        "by_code": Counter(
            r.expected_code for r in plan.phase1 + plan.phase2_invalid if r.expected_code
        ),
        "derms_valid": sum(1 for r in valid if r.channel == "derms"),
        "derms_invalid": sum(1 for r in plan.phase1 if r.channel == "derms" and r.expected_code),
        "derms_by_code": Counter(
            r.expected_code for r in plan.phase1 if r.channel == "derms" and r.expected_code
        ),
    }


def check_the_parts(parts: Parts, plan: Plan) -> None:
    want = expected(plan)
    # cpm: one subscription per valid request (duplicates made none), unenrolled ones Inactive.
    status = dict(parts.rows("cpm", "select cis_service_point_id, status from subscriptions"))
    assert len(status) == want["subscriptions"]
    assert {sp for sp, st in status.items() if st == "Inactive"} == want["inactive"]
    assert set(status.values()) == {"Active", "Inactive"}
    # Every sync request the journey made is Synchronized: none pending, awaiting or in error.
    syncs = parts.counts(
        "cpm", "select sync_type || ':' || state, count(*) from sync_requests group by 1"
    )
    assert syncs == {
        "ENROLL:Synchronized": want["subscriptions"],
        "UNENROLL:Synchronized": len(want["inactive"]),
        "DEVICE_REPLACEMENT:Synchronized": len(want["replaced"]),
        # The initial extract (the Active ones) and the incremental (what changed since).
        "ANALYTICS:Synchronized": want["subscriptions"],
    }
    # A replaced device is REMOVED and its replacement, NIC-…R, ACTIVE; every device registered.
    links = parts.rows(
        "cpm",
        "select d.nic_id, l.status, d.head_end_registration from subscription_devices l"
        " join devices d on d.id = l.device_id",
    )
    removed = {nic for nic, link, _ in links if link == "REMOVED"}
    assert removed == {f"NIC-{n:08d}" for n in want["replaced"]}
    assert {nic for nic, link, _ in links if nic.endswith("R")} == {f"{n}R" for n in removed}
    registrations = Counter(reg for _, link, reg in links if link == "ACTIVE")
    assert sum(registrations.values()) == want["subscriptions"]
    assert set(registrations) <= {"D1RE", "D1DR"}  # deregistered: the unenrolled ones

    # DERMS: the same subscriptions and states, and the ACTIVE device of each.
    registry = dict(
        parts.rows("derms", "select cis_service_point_id, status from registry_subscriptions")
    )
    assert registry == {sp: st.upper() for sp, st in status.items()}
    held = parts.rows(
        "derms",
        "select d.nic_id from registry_devices d join registry_subscriptions s"
        " on s.subscription_id = d.subscription_id where d.status = 'ACTIVE'",
    )
    active_nics = {nic for nic, link, _ in links if link == "ACTIVE"}
    inactive_nics = {f"NIC-{int(sp[2:]):08d}" for sp in want["inactive"]}
    assert {nic for (nic,) in held} == active_nics - inactive_nics
    originated = parts.counts("derms", "select status, count(*) from origination group by status")
    assert originated == {"Accepted": want["derms_valid"], "Rejected": want["derms_invalid"]}

    # The hub: every instance finished, none in the hospital; ENR-REQ refused what it should.
    statuses = parts.counts("hub", "select status, count(*) from instances group by status")
    assert set(statuses) <= {"Completed", "Completed with errors"}, statuses
    refused = Counter(
        error["code"]
        for (outcome,) in parts.rows("hub", "select outcome from instances where flow = 'ENR-REQ'")
        for error in json.loads(outcome)["errors"]
    )
    assert refused == want["derms_by_code"]
    # analytics holds every subscription in its newest version.
    taken = dict(parts.rows("analytics", "select cis_service_point_id, status from subscriptions"))
    assert taken == status

    # DERMS holds a score for every ACTIVE device of an Active subscription that took part in
    # the drawn events (every one but the replacements, NIC-…R), and a forecast for every
    # service point of an Active subscription, with a reduction expected of most of them.
    scored = {nic for (nic,) in parts.rows("derms", "select nic_id from device_scores")}
    assert scored == {nic for nic in active_nics - inactive_nics if not nic.endswith("R")}
    forecast = dict(parts.rows("derms", "select sp_id, intervals from forecasts"))
    assert set(forecast) == {sp for sp, st in status.items() if st == "Active"}
    expecting = [sp for sp, kw in forecast.items() if sum(json.loads(kw)["p50"]) > 0]
    assert len(expecting) > len(forecast) * 0.8


@pytest.mark.slow
def test_the_demo_journey_ends_right_in_every_part_on_sqlite(tmp_path: Path):
    summary = run_demo(
        customers=CUSTOMERS,
        database_url=None,
        home=tmp_path / "home",
        keep=True,
        quiet=True,
        console=Console(quiet=True),
    )
    assert summary["database"] == "sqlite" and summary["ok"] is True, summary["checks"]
    # The event ran: its checks are among the summary's (all true, above).
    event_checks = [name for name in summary["checks"] if name.startswith("event: ")]
    assert len(event_checks) == 7 and summary["event"]["participations"] > 0
    check_the_parts(Parts(summary["kept"]), make_plan(CUSTOMERS))
    assert summary["rejected_by_code"] == dict(
        sorted(expected(make_plan(CUSTOMERS))["by_code"].items())
    )


@pytest.mark.slow
def test_the_demo_journey_ends_right_in_every_part_on_postgresql(
    tmp_path: Path, postgres_admin_url: str
):
    # The event's five minutes of real time run once, on SQLite: the event half's every part
    # is tested on PostgreSQL by the integration tests.
    summary = run_demo(
        customers=CUSTOMERS,
        database_url=postgres_admin_url,
        home=tmp_path / "home",
        keep=True,
        quiet=True,
        console=Console(quiet=True),
        event=False,
    )
    try:
        assert summary["database"] == "postgresql" and summary["ok"] is True, summary["checks"]
        check_the_parts(Parts(summary["kept"]), make_plan(CUSTOMERS))
    finally:
        _drop(postgres_admin_url, summary["kept"]["database_url"])


def _drop(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(driver_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            sa.text("select pg_terminate_backend(pid) from pg_stat_activity where datname = :n"),
            {"n": name},
        )
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def test_the_demo_refuses_a_data_directory_that_is_not_empty(tmp_path: Path):
    (tmp_path / "something").write_text("x")
    with pytest.raises(CliError, match="not empty"):
        run_demo(
            customers=10,
            database_url=None,
            home=tmp_path,
            keep=False,
            quiet=True,
            console=Console(quiet=True),
        )


def test_the_plan_knows_every_outcome_of_the_journey():
    plan = make_plan(CUSTOMERS)
    want = expected(plan)
    # Every 20th customer is invalid; the others enroll once (duplicates are re-deliveries).
    assert want["subscriptions"] == CUSTOMERS - CUSTOMERS // 20
    assert sum(want["by_code"].values()) == CUSTOMERS // 20 + len(plan.phase2_invalid)
    # Changed in phase 2 only through cpm, which the driver knows the enrollment ids of.
    assert all(c.n % 2 == 0 for c in plan.unenroll + plan.replace)
