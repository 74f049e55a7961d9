"""cpm's reserve device (EVT-RESERVE): calls of 5,000 devices, on SQLite and PostgreSQL.

Loads a population of N devices, each on its own Active subscription of one program, straight
into a fresh cpm database (bulk inserts, not the enroll API: the reservation is measured, not
enrollment; on PostgreSQL then ``ANALYZE``, as autovacuum would), and one Scheduled program
event. Then posts collections of 5,000 devices to
``POST /cpm/api/v1/program-events/reservations`` through cpm's API in this process (the body
parsed and validated, the service, the answer written: what the hub's call costs cpm, without
the network), as the hub does with the collections of a reservation file:

- first deliveries: ``--calls`` collections of devices not reserved yet (every device
  Reserved), each timed;
- a re-delivery of the first collection (every device Exists, nothing written);
- a collection of 5,000 devices cpm does not hold (every device Rejected).

Each answer is checked (outcomes, and the participations stored at the end).

    .venv/bin/python bench/cpm_reserve.py
    .venv/bin/python bench/cpm_reserve.py --population 200000 \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.common.clock import SystemClock
from derlink.cpm.app import create_part
from derlink.cpm.catalog.tables import programs
from derlink.cpm.enrollment.tables import devices, subscription_devices, subscriptions
from derlink.cpm.events.tables import event_participations
from derlink.cpm.migrations import SCHEMA
from derlink.platform.auth import CredentialStore
from derlink.platform.database import Database, open_part_database
from derlink.platform.settings import Settings

try:
    from bench.record import process_usage, write_result
except ImportError:  # run as a script: bench/ itself is on the path
    from record import process_usage, write_result  # type: ignore[no-redef]

COLLECTION = 5000
HEAD_END = "ECOBEE-HE"
PROGRAM = "BYOT-SUMMER"
STAGE, EVENT = "SG-BENCH-1", "EV-BENCH-1"
_BATCH = 20_000


def nic(n: int) -> str:
    return f"NIC-{n:09d}"


def load_population(db: Database, count: int) -> None:
    """One Active program, and ``count`` devices each on its own Active subscription of it."""
    stamp = datetime.now(UTC).isoformat()
    with db.begin() as conn:
        conn.execute(
            programs.insert(),
            [{"id": "PG-BENCH", "code": PROGRAM, "name": PROGRAM, "program_type": "DR",
              "status": "Active", "eligible_specifications": "[]",
              "settlement_method": "KWH_AVOIDED", "created_at": stamp}],
        )  # fmt: skip
    for start in range(0, count, _BATCH):
        numbers = range(start, min(start + _BATCH, count))
        with db.begin() as conn:
            conn.execute(subscriptions.insert(), [_subscription(n, stamp) for n in numbers])
            conn.execute(
                devices.insert(),
                [{"id": f"D-{n:026d}", "head_end_system": HEAD_END, "nic_id": nic(n),
                  "created_at": stamp, "updated_at": stamp} for n in numbers],
            )  # fmt: skip
            conn.execute(
                subscription_devices.insert(),
                [{"subscription_id": f"E-{n:026d}", "device_id": f"D-{n:026d}",
                  "status": "ACTIVE", "added_at": stamp} for n in numbers],
            )  # fmt: skip


def _subscription(n: int, stamp: str) -> dict[str, Any]:
    return {
        "id": f"E-{n:026d}", "message_id": f"BENCH-{n:09d}", "drms_instance_id": "",
        "program_id": "PG-BENCH", "program_code": PROGRAM, "contact_id": f"C-{n:024d}",
        "cis_person_id": f"P{n:09d}", "cis_account_id": f"A{n:09d}",
        "service_point_id": f"SPX-{n:022d}", "cis_service_point_id": f"SP{n:09d}",
        "cis_premise_id": f"PR{n:09d}", "division": "CA", "subscription_type": "DR",
        "status": "Active", "installation_method": "SELF", "asset_ownership": "CUSTOMER",
        "start_at": "2026-05-01T00:00:00-07:00", "end_at": None, "unenroll_reason": None,
        "version": 1, "created_at": stamp, "updated_at": stamp, "analytics_version": None,
    }  # fmt: skip


def collection(first: int) -> dict[str, Any]:
    """A reservation of the 5,000 devices from ``first``: every tenth with its own window."""
    start = datetime(2026, 7, 17, 15, tzinfo=UTC)
    device_list = []
    for n in range(first, first + COLLECTION):
        device: dict[str, Any] = {"headEndSystem": HEAD_END, "nicId": nic(n)}
        if n % 10 == 0:
            device["reservationStartDateTime"] = (start + timedelta(minutes=15)).isoformat()
            device["reservationEndDateTime"] = (start + timedelta(hours=1)).isoformat()
        device_list.append(device)
    return {"eventExternalIdentifier": EVENT, "externalIdentifier": STAGE,
            "eventStartDateTime": start.isoformat(),
            "eventEndDateTime": (start + timedelta(hours=2)).isoformat(),
            "deviceList": device_list}  # fmt: skip


@contextmanager
def fresh_database(server: str | None, home: Path) -> Iterator[str]:
    """A fresh cpm database: a SQLite file under ``home``, or a new PostgreSQL database on
    ``server`` (dropped afterwards)."""
    if server is None:
        yield f"sqlite:///{home}/cpm.sqlite"
        return
    name = f"derlink_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(database: str, server: str | None, population: int, calls: int) -> dict[str, Any]:
    """Load, then time the calls on one database; the figures, and the checks."""
    with (
        tempfile.TemporaryDirectory(prefix="derlink-reserve-") as tmp,
        fresh_database(server, Path(tmp)) as url,
    ):
        db = open_part_database(url, SCHEMA)
        started = time.perf_counter()
        load_population(db, population)
        if server is not None:
            # A database in service has its planner statistics (autovacuum gathers them after a
            # load); without them PostgreSQL reads every device of the head-end system.
            with db.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
        load_s = time.perf_counter() - started
        db.dispose()
        print(f"{database}: loaded {population:,} devices in {load_s:.1f} s")
        credentials = CredentialStore.generate(DEFAULT_CLIENTS)
        settings = Settings(home=Path(tmp), part_database_urls={"cpm": url})
        part = create_part(settings=settings, credentials=credentials, clock=SystemClock(),
                           hub=None)  # fmt: skip
        hub = credentials.client("hub").header()
        try:
            with TestClient(part.app) as http:
                return _calls(http, hub, part.db, database, population, calls, load_s)
        finally:
            part.db.dispose()


def _calls(
    http: TestClient,
    hub: dict[str, str],
    db: Database,
    database: str,
    population: int,
    calls: int,
    load_s: float,
) -> dict[str, Any]:
    created = http.post("/api/v1/program-events", headers=hub, json={
        "startDateTime": "2026-07-17T15:00:00+00:00", "endDateTime": "2026-07-17T17:00:00+00:00",
        "eventExternalIdentifier": EVENT, "externalIdentifier": STAGE,
        "programExternalIdentifier": PROGRAM, "programEventCategory": "X1EM",
    })  # fmt: skip
    assert created.status_code == 200, created.text

    def timed(body: dict[str, Any]) -> tuple[float, list[str]]:
        began = time.perf_counter()
        answer = http.post("/api/v1/program-events/reservations", headers=hub, json=body)
        seconds = time.perf_counter() - began
        assert answer.status_code == 200, answer.text[:500]
        return seconds, [r["outcome"] for r in answer.json()["results"]]

    firsts, checks = [], {}
    for call in range(calls):
        seconds, outcomes = timed(collection(call * COLLECTION))
        firsts.append(round(seconds, 3))
        checks[f"call {call + 1}: 5,000 Reserved"] = outcomes == ["Reserved"] * COLLECTION
    again_s, outcomes = timed(collection(0))
    checks["re-delivery: 5,000 Exists"] = outcomes == ["Exists"] * COLLECTION
    unknown_s, outcomes = timed(collection(population))
    checks["devices cpm does not hold: 5,000 Rejected"] = outcomes == ["Rejected"] * COLLECTION
    with db.read() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(event_participations))
        checks["one participation per device reserved"] = stored.scalar() == calls * COLLECTION
    result = {
        "database": database,
        "population": population,
        "collection": COLLECTION,
        "load_s": round(load_s, 1),
        "first_delivery_s": firsts,
        "first_delivery_median_s": round(statistics.median(firsts), 3),
        "redelivery_s": round(again_s, 3),
        "unknown_devices_s": round(unknown_s, 3),
        "checks": checks,
        "ok": all(checks.values()),
    }
    print(
        f"{database}: 5,000 devices a call: first deliveries {firsts} s (median "
        f"{result['first_delivery_median_s']} s), re-delivery {result['redelivery_s']} s, "
        f"devices cpm does not hold {result['unknown_devices_s']} s"
    )
    for check, ok in checks.items():
        print(f"  {'ok ' if ok else 'FAIL'} {check}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=100_000, help="devices cpm holds")
    parser.add_argument("--calls", type=int, default=5, help="first deliveries to time")
    parser.add_argument("--postgres", help="PostgreSQL server URL (its admin database); also "
                        "run there")  # fmt: skip
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    if args.population < (args.calls + 1) * COLLECTION:
        raise SystemExit(f"--population must hold {args.calls} collections of {COLLECTION:,}")
    targets = ([] if args.skip_sqlite else [("sqlite", None)]) + (
        [("postgresql", args.postgres)] if args.postgres else []
    )
    runs = [run(name, server, args.population, args.calls) for name, server in targets]
    usage = process_usage()
    print(f"peak RSS {usage['peak_rss_mb']} MB, load average {usage['load_average_1m']}")
    write_result(
        f"cpm_reserve_{args.population}.json",
        {
            "runs": runs,
            **usage,
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    if not all(r["ok"] for r in runs):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
