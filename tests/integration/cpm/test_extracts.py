"""cpm's enrollment extract (OUAI-ENR), on SQLite and PostgreSQL: its file, its sync requests,
incremental changes, failures that leave nothing behind, crash recovery and one-at-a-time."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cpm_harness import Cpm, build_part
from extract_support import (
    BreakingStore,
    HeldStore,
    add_customers,
    enroll,
    extract,
    file_rows,
    file_text,
    store_names,
)
from tests.support.schemas import before_alembic

from derlink.common.errors import Conflict
from derlink.cpm.app import SCHEDULE_ACTOR, create_part
from derlink.cpm.enrollment import model as m
from derlink.cpm.enrollment.service import extracts
from derlink.cpm.enrollment.tables import (
    enrollment_extracts,
    subscriptions,
    sync_request_history,
    sync_requests,
)
from derlink.cpm.migrations import SCHEMA
from derlink.cpm.settings import CpmSettings
from derlink.platform.database import make_engine
from derlink.platform.migrations import upgrade

INITIAL, INCREMENTAL = m.ExtractKind.INITIAL, m.ExtractKind.INCREMENTAL
NAME = re.compile(r"^ENROLL_SYNC_(INITIAL|INCREMENTAL)_20260501T120000Z_EX-[0-9a-f]{26}\.csv$")


def analytics_versions(cpm: Cpm) -> dict[str, int | None]:
    with cpm.part.db.read() as conn:
        rows = conn.execute(sa.select(subscriptions.c.id, subscriptions.c.analytics_version))
        return {r.id: r.analytics_version for r in rows}


def analytics_syncs(cpm: Cpm) -> list[sa.Row[tuple[str, str, str, int]]]:
    sr = sync_requests
    with cpm.part.db.read() as conn:
        return list(
            conn.execute(
                sa.select(sr.c.id, sr.c.subscription_id, sr.c.state, sr.c.version)
                .where(sr.c.sync_type == "ANALYTICS")
                .order_by(sr.c.id)
            ).all()
        )


def extract_history_rows(cpm: Cpm) -> int:
    h = sync_request_history
    with cpm.part.db.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(h).where(h.c.note.like("extract %"))
            ).scalar_one()
        )


@pytest.fixture
def customers(seeded: Cpm) -> Cpm:
    """The seed's customers 1 and 2, and customers 3 to 6."""
    add_customers(seeded, range(3, 7))
    return seeded


# -- the file and its sync requests -----------------------------------------------------------


def test_an_initial_extract_writes_every_active_subscription_and_nothing_of_their_devices(
    customers: Cpm,
) -> None:
    first, second = enroll(customers, 1), enroll(customers, 2)
    enroll(customers, 3, active=False)  # Pending: not in an initial extract
    view = extract(customers, INITIAL)

    assert (view.state, view.kind, view.rows) == (m.ExtractState.COMPLETED, INITIAL, 2)
    assert view.error is None and view.finished_at is not None
    assert view.file_name is not None and NAME.match(view.file_name)
    rows = file_rows(customers, view.file_name)
    assert [r["subscriptionId"] for r in rows] == sorted([first, second])
    [row] = [r for r in rows if r["subscriptionId"] == first]
    program_id = customers.get("/programs/BYOT").json()["programId"]
    version = customers.enrollment(first)["version"]
    assert row["syncRequestId"].startswith("SR-") and row["servicePointId"].startswith("SPX-")
    assert {k: v for k, v in row.items() if k not in ("syncRequestId", "servicePointId")} == {
        "subscriptionId": first, "programId": program_id, "programCode": "BYOT",
        "cisAccountId": "A1", "cisPersonId": "P1", "cisServicePointId": "SP1",
        "cisPremiseId": "PR1", "division": "CA", "subscriptionType": "DR", "status": "Active",
        "startDateTimeISO": "2026-06-01T07:00:00.000Z", "endDateTimeISO": "",
        "version": str(version),
    }  # fmt: skip
    # Program-subscription data only: not one thing the devices are known by.
    text = file_text(customers, view.file_name)
    assert "NIC-" not in text and "ECOBEE" not in text and "THERMOSTAT" not in text
    assert text.endswith("\n") and "\r" not in text and not text.startswith("\ufeff")

    syncs = {s.id: s for s in analytics_syncs(customers)}
    assert sorted(syncs) == sorted(r["syncRequestId"] for r in rows)
    for r in rows:
        sync = syncs[r["syncRequestId"]]
        assert len(sync.id) <= 40
        assert (sync.subscription_id, sync.state, str(sync.version)) == (
            r["subscriptionId"], "Awaiting Acknowledgement", r["version"])  # fmt: skip
        history = customers.get(f"/sync-requests/{sync.id}/history").json()
        assert history == [{"fromState": None, "toState": "Awaiting Acknowledgement",
                            "at": customers.clock.now().isoformat(), "actor": "tester",
                            "note": f"extract {view.extract_id}"}]  # fmt: skip
    # The subscriptions themselves do not change.
    assert customers.enrollment(first)["status"] == "Active"
    assert customers.enrollment(first)["version"] == version


def test_fields_with_commas_quotes_or_line_breaks_are_quoted(customers: Cpm) -> None:
    enrollment_id = enroll(customers, 4)
    with customers.part.db.begin() as conn:
        conn.execute(
            subscriptions.update()
            .where(subscriptions.c.id == enrollment_id)
            .values(division='North, "East"\r\nZone')
        )
    view = extract(customers, INITIAL)
    assert view.file_name is not None
    assert ',"North, ""East""\r\nZone",' in file_text(customers, view.file_name)
    [row] = file_rows(customers, view.file_name)
    assert row["division"] == 'North, "East"\r\nZone'


def test_an_incremental_extract_takes_what_changed_since_the_last_one(customers: Cpm) -> None:
    kept, changed, ended = enroll(customers, 1), enroll(customers, 2), enroll(customers, 3)
    pending = enroll(customers, 4, active=False)
    initial = extract(customers, INITIAL)
    assert initial.rows == 3

    # Never sent (the Pending one) is due too.
    first = extract(customers)
    assert first.file_name is not None and first.file_name.startswith("ENROLL_SYNC_INCREMENTAL_")
    assert [r["subscriptionId"] for r in file_rows(customers, first.file_name)] == [pending]

    # A device added (a new version), and an unenrollment that derms acknowledged (Inactive).
    added = customers.post(f"/enrollments/{changed}/devices", {"asset": customers.asset("NIC-9")})
    assert added.status_code == 201, added.text
    unenrolled = customers.post(f"/enrollments/{ended}/unenroll", {"reason": "moved"})
    assert customers.ack(unenrolled.json()["syncRequestId"])["outcome"] == "Synchronized"
    customers.clock.advance(minutes=5)

    second = extract(customers)
    assert second.file_name is not None
    rows = {r["subscriptionId"]: r for r in file_rows(customers, second.file_name)}
    assert sorted(rows) == sorted([changed, ended])
    assert rows[ended]["status"] == "Inactive" and rows[ended]["endDateTimeISO"] != ""
    for enrollment_id, row in rows.items():
        assert row["version"] == str(customers.enrollment(enrollment_id)["version"])
    assert kept not in rows

    # Nothing changed since: no rows, and no file.
    names = store_names(customers)
    third = extract(customers)
    assert (third.state, third.rows, third.file_name) == (m.ExtractState.COMPLETED, 0, None)
    assert store_names(customers) == names


def test_an_extract_streams_in_pages_and_each_row_is_one_sync_request(customers: Cpm) -> None:
    ids = [enroll(customers, n) for n in range(1, 7)]
    view = extract(customers, INITIAL, page_size=4)
    assert view.rows == 6 and view.file_name is not None
    rows = file_rows(customers, view.file_name)
    assert [r["subscriptionId"] for r in rows] == sorted(ids)
    assert len({r["syncRequestId"] for r in rows}) == 6
    assert file_text(customers, view.file_name).count("syncRequestId") == 1  # one header
    assert analytics_versions(customers) == {i: customers.enrollment(i)["version"] for i in ids}


# -- acknowledgements ---------------------------------------------------------------------------


def test_analytics_acks_settle_their_sync_requests_and_never_the_subscription(
    customers: Cpm,
) -> None:
    active = enroll(customers, 1)
    pending = enroll(customers, 2, active=False)
    view = extract(customers)  # both: never sent
    assert view.file_name is not None
    rows = {r["subscriptionId"]: r["syncRequestId"] for r in file_rows(customers, view.file_name)}
    failure = {"messageCategory": "ANALYTICS", "messageNumber": "AN-DATE", "comments": "bad"}
    answer = customers.post(
        "/sync-requests/acknowledgements",
        {"acknowledgements": [
            {"syncRequestId": rows[pending], "hasError": False},
            {"syncRequestId": rows[active], "hasError": True, "exceptionInfo": [failure]},
            {"syncRequestId": rows[pending], "hasError": False},
        ]},
        client="hub",
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert [r["outcome"] for r in answer.json()["results"]] == ["Synchronized", "Error",
                                                                "Duplicate"]  # fmt: skip
    again = customers.post(
        f"/sync-requests/{rows[pending]}/update-and-transition", {"hasError": False}, client="hub"
    )
    assert again.status_code == 200 and again.json()["outcome"] == "Duplicate", again.text

    # A Synchronized ANALYTICS ack does not activate a Pending subscription, nor bump a version.
    assert customers.enrollment(pending)["status"] == "Pending"
    assert customers.enrollment(active)["status"] == "Active"
    assert customers.sync_state(rows[pending]) == "Synchronized"
    assert customers.sync_state(rows[active]) == "Error"
    assert extract(customers).rows == 0  # nothing changed


def test_an_analytics_ack_through_update_and_transition_settles_its_sync_request(
    customers: Cpm,
) -> None:
    enroll(customers, 1)
    view = extract(customers)
    assert view.file_name is not None
    [row] = file_rows(customers, view.file_name)
    answer = customers.post(
        f"/sync-requests/{row['syncRequestId']}/update-and-transition",
        {"hasError": False},
        client="hub",
    )
    assert answer.json() == {"syncRequestId": row["syncRequestId"], "outcome": "Synchronized"}
    assert customers.history(row["syncRequestId"])[-1] == (
        "Awaiting Acknowledgement", "Synchronized", "hub")  # fmt: skip


# -- nothing half-done --------------------------------------------------------------------------


def test_a_store_that_fails_mid_write_leaves_nothing_behind(customers: Cpm) -> None:
    ids = [enroll(customers, n) for n in range(1, 6)]
    earlier = extract(customers, INITIAL)
    assert earlier.rows == 5
    before = analytics_versions(customers)
    syncs_before = analytics_syncs(customers)
    # Two subscriptions change; then an INITIAL breaks after two of its three pages.
    for n in (1, 2):
        answer = customers.post(f"/enrollments/{ids[n - 1]}/devices",
                                {"asset": customers.asset(f"NIC-{n}0")})  # fmt: skip
        assert answer.status_code == 201, answer.text
    names = store_names(customers)
    broken = BreakingStore(customers.part.store, after=2)

    view = extract(customers, INITIAL, store=broken, page_size=2)

    assert broken.consumed == 2
    assert view.state is m.ExtractState.FAILED
    assert (view.rows, view.file_name) == (0, None)
    assert view.error is not None and "content server connection lost" in view.error
    assert "5 row(s) undone" in view.error  # the three pages were committed before the break
    assert store_names(customers) == names
    assert analytics_syncs(customers) == syncs_before
    assert extract_history_rows(customers) == 5  # the earlier extract's only
    assert analytics_versions(customers) == before  # the versions analytics held before
    # The next incremental takes exactly what analytics does not hold.
    again = extract(customers)
    assert again.file_name is not None
    assert sorted(r["subscriptionId"] for r in file_rows(customers, again.file_name)) == sorted(
        ids[:2]
    )


def test_a_failed_first_extract_leaves_every_subscription_due(customers: Cpm) -> None:
    ids = [enroll(customers, n) for n in range(1, 4)]
    view = extract(customers, store=BreakingStore(customers.part.store, after=1), page_size=1)
    assert view.state is m.ExtractState.FAILED
    assert analytics_versions(customers) == dict.fromkeys(ids)
    assert analytics_syncs(customers) == []
    assert extract(customers).rows == 3


_CRASHING_EXTRACT = textwrap.dedent(
    """
    import asyncio, os, sys
    from pathlib import Path

    from derlink.common.clock import SystemClock
    from derlink.cpm.enrollment import model as m
    from derlink.cpm.enrollment.service.extracts import run_extract
    from derlink.cpm.migrations import SCHEMA
    from derlink.platform.database import open_part_database
    from derlink.platform.files import LocalFolder

    url, folder, when = sys.argv[1:]

    class Dies:
        def __init__(self, inner):
            self.inner, self.location = inner, inner.location

        async def write(self, name, chunks):
            async def some():
                n = 0
                async for chunk in chunks:
                    n += 1
                    if when == "mid-write" and n == 2:
                        os._exit(3)  # the process dies, one page in the file
                    yield chunk
            size = await self.inner.write(name, some())
            if when == "after-publish":
                os._exit(3)  # the file is out, the extract not yet marked Completed
            return size

    db = open_part_database(url, SCHEMA)
    store = Dies(LocalFolder(Path(folder)))
    asyncio.run(run_extract(db=db, clock=SystemClock(), store=store,
                            kind=m.ExtractKind.INITIAL, actor="crasher", page_size=1))
    """
)


@pytest.mark.parametrize("when", ["mid-write", "after-publish"])
def test_an_extract_a_crash_left_running_is_undone_when_cpm_starts(
    customers: Cpm, tmp_path: Path, when: str
) -> None:
    ids = [enroll(customers, n) for n in range(1, 4)]
    settings = customers.part.settings
    folder = settings.store_url("cpm-content").removeprefix("file://")
    crashed = subprocess.run(
        [sys.executable, "-c", _CRASHING_EXTRACT, settings.database_for("cpm"), folder, when],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == 3, crashed.stderr
    [left] = extracts.list_extracts(db=customers.part.db)
    assert left.state is m.ExtractState.RUNNING
    assert len(analytics_syncs(customers)) >= 1
    if when == "after-publish":
        assert left.file_name in store_names(customers)

    restarted = create_part(
        settings=settings, credentials=customers.credentials, clock=customers.clock, hub=None
    )

    async def start_and_stop() -> None:
        # In one event loop, as a process runs it: the part's loops belong to it.
        try:
            await restarted.start()
        finally:
            await restarted.stop()

    asyncio.run(start_and_stop())

    [recovered] = extracts.list_extracts(db=customers.part.db)
    assert recovered.extract_id == left.extract_id
    assert recovered.state is m.ExtractState.FAILED
    assert recovered.error is not None and "cpm stopped while the extract ran" in recovered.error
    assert analytics_syncs(customers) == [] and extract_history_rows(customers) == 0
    assert analytics_versions(customers) == dict.fromkeys(ids)
    assert left.file_name not in store_names(customers)
    assert extract(customers).rows == 3


# -- one at a time --------------------------------------------------------------------------------


async def test_a_second_extract_while_one_runs_is_a_conflict(customers: Cpm) -> None:
    await asyncio.to_thread(lambda: [enroll(customers, n) for n in range(1, 4)])
    held = HeldStore(customers.part.store)
    first = asyncio.create_task(
        extracts.run_extract(db=customers.part.db, clock=customers.clock, store=held,
                             kind=INITIAL, actor="tester", page_size=1)
    )  # fmt: skip
    await asyncio.wait_for(held.started.wait(), timeout=30)

    with pytest.raises(Conflict) as refused:
        await extracts.run_extract(
            db=customers.part.db, clock=customers.clock, store=customers.part.store,
            kind=INCREMENTAL, actor="tester",
        )  # fmt: skip
    assert refused.value.code == "CPM-EXTRACT-RUNNING"
    answer = await asyncio.to_thread(customers.post, "/enrollment-extracts", {"kind": "INITIAL"})
    assert answer.status_code == 409, answer.text
    assert answer.json()["code"] == "CPM-EXTRACT-RUNNING"

    held.release.set()
    view = await first
    assert (view.state, view.rows) == (m.ExtractState.COMPLETED, 3)
    assert len(extracts.list_extracts(db=customers.part.db)) == 1
    again = await extracts.run_extract(
        db=customers.part.db, clock=customers.clock, store=customers.part.store,
        kind=INCREMENTAL, actor="tester",
    )  # fmt: skip
    assert again.state is m.ExtractState.COMPLETED


def test_the_database_admits_a_single_running_extract(customers: Cpm) -> None:
    row = {"kind": "INITIAL", "state": "Running", "rows": 0, "started_at": "x", "actor": "a"}
    with customers.part.db.begin() as conn:
        conn.execute(enrollment_extracts.insert().values(id="EX-1", **row))
    with pytest.raises(sa.exc.IntegrityError), customers.part.db.begin() as conn:
        conn.execute(enrollment_extracts.insert().values(id="EX-2", **row))
    with customers.part.db.begin() as conn:
        conn.execute(enrollment_extracts.insert().values(id="EX-3", **(row | {"state": "Failed"})))


# -- the schedule ---------------------------------------------------------------------------------


def test_the_schedule_runs_incremental_extracts_until_cpm_stops(
    database_url: str, tmp_path: Path
) -> None:
    world = build_part(database_url, tmp_path)
    try:
        world.seed()
        enroll(world, 1)
        settings = world.part.settings.with_part(CpmSettings(extract_interval_s=0.05))
        scheduled = create_part(
            settings=settings, credentials=world.credentials, clock=world.clock, hub=None
        )

        async def run() -> list[extracts.ExtractView]:
            await scheduled.start()
            try:
                for _ in range(600):
                    done = extracts.list_extracts(db=world.part.db)
                    if len(done) >= 2 and all(v.state is not m.ExtractState.RUNNING for v in done):
                        return done
                    await asyncio.sleep(0.05)
                raise AssertionError("the schedule ran no extract")
            finally:
                await scheduled.stop()

        done = asyncio.run(run())
        assert scheduled.extract_schedule is None
        assert {(v.kind, v.actor) for v in done} == {(INCREMENTAL, SCHEDULE_ACTOR)}
        assert sum(v.rows for v in done) == 1  # the first took it; the later ones found nothing
    finally:
        world.close()


# -- revisions 0002 and 0003 -----------------------------------------------------------------------


@pytest.fixture
def old_cpm(fresh_url: str) -> Iterator[sa.Engine]:
    """A cpm database as version 1 left it, before derlink used Alembic and before revisions
    0002 and 0003 existed, with a subscription."""
    engine = make_engine(fresh_url, schema=None if fresh_url.startswith("sqlite") else "cpm")
    before_alembic(engine, SCHEMA, versions=1)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX ix_subscriptions_analytics_due"))
        conn.execute(sa.text("ALTER TABLE subscriptions DROP COLUMN analytics_version"))
        conn.execute(sa.text("ALTER TABLE subscriptions DROP COLUMN drms_instance_id"))
        conn.execute(sa.text("DROP TABLE enrollment_extracts"))
        for table in ("participation_history", "score_runs", "file_claims"):  # revision 0005's
            conn.execute(sa.text(f"DROP TABLE {table}"))
        conn.execute(sa.text("DROP TABLE event_participations"))  # revision 0008's
        for table in ("program_event_history", "program_events"):  # revision 0007's
            conn.execute(sa.text(f"DROP TABLE {table}"))
        conn.execute(sa.text(
            "INSERT INTO programs (id, code, name, program_type, status, eligible_specifications,"
            " settlement_method, created_at) VALUES ('PG-1', 'BYOT', '', '', 'Active', '[]',"
            " 'KWH_AVOIDED', 'x')"))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO subscriptions (id, program_id, program_code, contact_id, cis_person_id,"
            " cis_account_id, service_point_id, cis_service_point_id, cis_premise_id, division,"
            " subscription_type, status, installation_method, asset_ownership, start_at, version,"
            " created_at, updated_at) VALUES ('E-1', 'PG-1', 'BYOT', 'C-1', 'P1', 'A1', 'SPX-1',"
            " 'SP1', 'PR1', 'CA', 'DR', 'Active', '', '', '2026-06-01T00:00:00+00:00', 3, 'x',"
            " 'x')"))  # fmt: skip
    try:
        yield engine
    finally:
        engine.dispose()


def test_revisions_0002_and_0003_bring_a_database_of_version_1_up_to_date(
    old_cpm: sa.Engine,
) -> None:
    done = upgrade(old_cpm, SCHEMA)
    assert (done.before, done.after, done.ran) == (
        "0001",
        "0011",
        ("0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011"),
    )
    inspector = sa.inspect(old_cpm)
    assert "enrollment_extracts" in inspector.get_table_names()
    assert "analytics_version" in {c["name"] for c in inspector.get_columns("subscriptions")}
    assert "ix_subscriptions_analytics_due" in {
        i["name"] for i in inspector.get_indexes("subscriptions")
    }
    with old_cpm.connect() as conn:
        row = conn.execute(
            sa.text("SELECT version, analytics_version, drms_instance_id FROM subscriptions")
        ).one()
    assert tuple(row) == (3, None, "")  # kept, and due for the first incremental
    assert "derlink_migrations" not in inspector.get_table_names()
    assert upgrade(old_cpm, SCHEMA).ran == ()
