"""cpm's enrollment extract on a large SQLite database: wall time, rows/s and peak memory.

Loads N Active subscriptions straight into a fresh cpm database (bulk inserts, not the enroll
API: the extract is measured, not enrollment), each with the Synchronized ENROLL sync request
and history row enrollment leaves behind. Then runs an INITIAL extract into a local folder, changes
a share of the subscriptions and runs an INCREMENTAL one. The load runs in a child process, so
the peak memory reported is the extract's.

    .venv/bin/python bench/cpm_extract.py --subscriptions 1000000

``load_subscriptions`` is reused by the round-trip benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from derlink.common.clock import SystemClock
from derlink.cpm.catalog.tables import programs
from derlink.cpm.enrollment import model as m
from derlink.cpm.enrollment.service.extracts import ExtractView, run_extract
from derlink.cpm.enrollment.tables import subscriptions
from derlink.cpm.migrations import SCHEMA
from derlink.platform.database import Database, open_part_database
from derlink.platform.files import LocalFolder

try:
    from bench.record import process_usage, write_result
except ImportError:  # run as a script: bench/ itself is on the path
    from record import process_usage, write_result  # type: ignore[no-redef]

PROGRAMS = ("BYOT-SUMMER", "BYOT-WINTER", "EV-CHARGE", "WATER-HEAT")
DIVISIONS = ("CA", "NV", "OR")
_BATCH = 20_000


def load_subscriptions(
    database_url: str,
    count: int,
    *,
    enroll_syncs: bool = True,
    status: str = m.SubscriptionStatus.ACTIVE.value,
) -> None:
    """Create (and migrate) a cpm SQLite database and bulk insert ``count`` subscriptions.

    Four Active programs; subscriptions ``E-…`` in id order, version 1, never extracted. With
    ``enroll_syncs`` each also gets the Synchronized ENROLL sync request and history row an
    acknowledged enrollment leaves, so the extract's inserts meet indexes of a real size.
    """
    if not database_url.startswith("sqlite"):
        raise ValueError("load_subscriptions fills a SQLite database (its inserts are SQLite's)")
    db = open_part_database(database_url, SCHEMA)
    try:
        _load(db, count, enroll_syncs=enroll_syncs, status=status)
    finally:
        db.dispose()


def _load(db: Database, count: int, *, enroll_syncs: bool, status: str) -> None:
    stamp = datetime.now(UTC).isoformat()
    base = int(time.time() * 1000)
    program_ids = [f"PG-{base:012x}{i:014x}" for i in range(len(PROGRAMS))]
    with db.begin() as conn:
        conn.execute(
            programs.insert(),
            [
                {"id": pid, "code": code, "name": code, "program_type": "DR", "status": "Active",
                 "eligible_specifications": "[]", "settlement_method": "KWH_AVOIDED",
                 "created_at": stamp}
                for pid, code in zip(program_ids, PROGRAMS, strict=True)
            ],
        )  # fmt: skip
    columns = [c.name for c in subscriptions.columns]
    insert_subscriptions = (
        f"INSERT INTO subscriptions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    )
    insert_syncs = (
        "INSERT INTO sync_requests (id, subscription_id, sync_type, state, version, error_info,"
        " created_at, updated_at, acknowledged_at) VALUES (?, ?, 'ENROLL', 'Synchronized', 1,"
        " NULL, ?, ?, ?)"
    )
    insert_history = (
        "INSERT INTO sync_request_history (sync_request_id, from_state, to_state, at, actor,"
        " note) VALUES (?, 'Awaiting Acknowledgement', 'Synchronized', ?, 'hub', NULL)"
    )
    for start in range(0, count, _BATCH):
        numbers = range(start, min(start + _BATCH, count))
        rows = [_subscription(n, base, program_ids, stamp, status) for n in numbers]
        with db.begin() as conn:
            conn.exec_driver_sql(insert_subscriptions, [tuple(r[c] for c in columns) for r in rows])
            if enroll_syncs:
                syncs = [f"SR-{base:012x}{n:014x}" for n in numbers]
                conn.exec_driver_sql(
                    insert_syncs,
                    [
                        (sid, r["id"], stamp, stamp, stamp)
                        for sid, r in zip(syncs, rows, strict=True)
                    ],
                )
                conn.exec_driver_sql(insert_history, [(sid, stamp) for sid in syncs])


def _subscription(
    n: int, base: int, program_ids: list[str], stamp: str, status: str
) -> dict[str, Any]:
    p = n % len(PROGRAMS)
    return {
        "id": f"E-{base:012x}{n:014x}",
        "message_id": f"BENCH-{n:09d}",
        "drms_instance_id": "",
        "program_id": program_ids[p],
        "program_code": PROGRAMS[p],
        "contact_id": f"C-{n:024d}",
        "cis_person_id": f"P{n:09d}",
        "cis_account_id": f"A{n:09d}",
        "service_point_id": f"SPX-{n:022d}",
        "cis_service_point_id": f"SP{n:09d}",
        "cis_premise_id": f"PR{n:09d}",
        "division": DIVISIONS[n % len(DIVISIONS)],
        "subscription_type": "DR",
        "status": status,
        "installation_method": "SELF",
        "asset_ownership": "CUSTOMER",
        # A season's start per program, as enrollments in a campaign share it.
        "start_at": f"2026-0{5 + p}-01T00:00:00-07:00",
        "end_at": None,
        "unenroll_reason": None,
        "version": 1,
        "created_at": stamp,
        "updated_at": stamp,
        "analytics_version": None,
    }


def change_some(db: Database, share: float) -> int:
    """Bump the version of every ``1/share``-th subscription (as a change would)."""
    every = max(1, round(1 / share))
    with db.begin() as conn:
        changed = conn.execute(
            subscriptions.update()
            .where(sa.literal_column("rowid") % every == 0)
            .values(version=subscriptions.c.version + 1)
        ).rowcount
    return int(changed)


async def _extract(db: Database, folder: Path, kind: m.ExtractKind) -> tuple[ExtractView, float]:
    store = LocalFolder(folder)
    started = time.perf_counter()
    view = await run_extract(db=db, clock=SystemClock(), store=store, kind=kind, actor="bench")
    return view, time.perf_counter() - started


def _in_child(target: Any, *args: Any) -> None:
    child = multiprocessing.get_context("spawn").Process(target=target, args=args)
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"{target.__name__} failed (exit code {child.exitcode})")


def _figures(view: ExtractView, seconds: float, folder: Path) -> dict[str, Any]:
    if view.state is not m.ExtractState.COMPLETED:
        raise SystemExit(f"extract {view.extract_id} {view.state}: {view.error}")
    size = (folder / view.file_name).stat().st_size if view.file_name else 0
    return {
        "rows": view.rows,
        "wall_s": round(seconds, 2),
        "rows_per_s": round(view.rows / seconds) if seconds else None,
        "file_mb": round(size / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share for the incremental")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="derlink-extract-") as home:
        url = f"sqlite:///{home}/cpm.sqlite"
        started = time.perf_counter()
        _in_child(load_subscriptions, url, args.subscriptions)
        load_s = time.perf_counter() - started
        print(f"loaded {args.subscriptions:,} subscriptions in {load_s:.1f} s")

        folder = Path(home) / "cpm-content"
        db = open_part_database(url, SCHEMA)
        view, seconds = asyncio.run(_extract(db, folder, m.ExtractKind.INITIAL))
        initial = _figures(view, seconds, folder)
        print(f"INITIAL: {initial}")
        after_initial = process_usage()

        changed = change_some(db, args.changed) if args.changed > 0 else 0
        view, seconds = asyncio.run(_extract(db, folder, m.ExtractKind.INCREMENTAL))
        incremental = {**_figures(view, seconds, folder), "changed": changed}
        print(f"INCREMENTAL: {incremental}")
        db.dispose()
        usage = process_usage()
        print(f"peak RSS {usage['peak_rss_mb']} MB, load average {usage['load_average_1m']}")
    write_result(
        f"cpm_extract_{args.subscriptions}.json",
        {
            "subscriptions": args.subscriptions,
            "database": "sqlite",
            "load_s": round(load_s, 1),
            "initial": initial,
            "incremental": incremental,
            "peak_rss_mb_after_initial": after_initial["peak_rss_mb"],
            **usage,
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


if __name__ == "__main__":
    main()
