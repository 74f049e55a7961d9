"""The enrollment exchange with analytics, end to end, at utility scale.

    extract (cpm) → OUAI-ENR copy (hub) → intake and ack file (analytics) → OUAI-ENR-ACK →
    update-and-transition of every sync request (cpm)

N Active subscriptions are bulk-loaded into a fresh cpm database (``bench/cpm_extract.py``), then
``derlink up`` runs every part in one process on its embedded defaults (SQLite, local folders),
and this driver triggers each stage through the APIs and waits for it. It reports each stage's
time, the round trip, rows per second, and the platform's peak resident memory (VmHWM of the
``derlink up`` process, which holds all four parts).

    .venv/bin/python bench/file_roundtrip.py --subscriptions 1000000
    .venv/bin/python bench/file_roundtrip.py --subscriptions 20000 --single

``--single`` makes the hub send cpm one acknowledgement per call (``DERLINK_CPM_MODE=single``),
the mode for an external CPM that only takes single records; its rate is reported the same way.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

from derlink.cli.server import ServerProcess

try:
    from bench.cpm_extract import load_subscriptions
    from bench.driving import NEVER, instance_done, operator_client, wait_until
    from bench.record import finish
except ImportError:  # run as a script: bench/ itself is on the path
    from cpm_extract import load_subscriptions  # type: ignore[no-redef]
    from driving import NEVER, instance_done, operator_client, wait_until  # type: ignore[no-redef]
    from record import finish  # type: ignore[no-redef]


def run(count: int, single: bool, home: Path) -> dict[str, Any]:
    started = time.perf_counter()
    # In a child process, so that the loader's memory is not this driver's.
    loader = multiprocessing.get_context("spawn").Process(
        target=load_subscriptions, args=(f"sqlite:///{(home / 'cpm.sqlite').resolve()}", count)
    )
    loader.start()
    loader.join()
    print(f"loaded {count:,} subscriptions in {time.perf_counter() - started:.1f}s")
    server = ServerProcess(
        home,
        extra_env={
            "DERLINK_FILE_CRON": NEVER,
            "DERLINK_INTAKE_INTERVAL_S": "0.5",
            "DERLINK_CPM_MODE": "single" if single else "collection",
        },
    )
    server.start()
    stages: dict[str, float] = {}
    try:
        with operator_client(server) as api:
            t0 = time.perf_counter()
            extract = api.post("/cpm/api/v1/enrollment-extracts", json={"kind": "INITIAL"})
            extract.raise_for_status()
            view = extract.json()
            stages["extract"] = time.perf_counter() - t0
            print(f"extract: {view['rows']:,} rows in {stages['extract']:.1f}s: {view['fileName']}")

            t = time.perf_counter()
            copy = instance_done(api, "OUAI-ENR", server)
            stages["copy"] = time.perf_counter() - t
            print(f"OUAI-ENR: {copy['outcome']['bytes']:,} bytes in {stages['copy']:.1f}s")

            t = time.perf_counter()

            def acked() -> dict[str, Any] | None:
                files = api.get("/analytics/api/v1/enrollment-files").json()
                items = files["items"] if isinstance(files, dict) else files
                return next((f for f in items if f["name"] == view["fileName"]
                             and f["state"] not in ("Processing",)), None)  # fmt: skip

            intake = wait_until(acked, "the analytics intake", 1800, server)
            stages["intake"] = time.perf_counter() - t
            print(f"analytics intake: {intake['state']}, {stages['intake']:.1f}s")

            t = time.perf_counter()
            acks = instance_done(api, "OUAI-ENR-ACK", server)
            stages["acks"] = time.perf_counter() - t
            outcome = acks["outcome"]
            print(
                f"OUAI-ENR-ACK: {outcome['processed']:,} rows, {outcome['succeeded']:,} applied "
                f"in {stages['acks']:.1f}s"
            )
            round_trip = time.perf_counter() - t0
            counts = api.get("/cpm/api/v1/sync-requests/counts").json()
    finally:
        peak_kb = server.sample_memory()
        server.stop()
    checks = {
        "every row extracted": view["rows"] == count,
        "analytics accepted every row": intake.get("accepted") == count,
        "every ack applied": outcome["succeeded"] == count and outcome.get("rejected", 0) == 0,
        # Each subscription holds its ENROLL sync request and now its ANALYTICS one.
        "every sync request synchronized": counts.get("Synchronized") == 2 * count
        and counts.get("Awaiting Acknowledgement") == 0,
    }
    return {
        "subscriptions": count,
        "cpm_mode": "single" if single else "collection",
        "stages_s": {k: round(v, 2) for k, v in stages.items()},
        "round_trip_s": round(round_trip, 2),
        "rows_per_s": round(count / round_trip, 1),
        "acks_per_s": round(count / stages["acks"], 1),
        "platform_peak_rss_mb": round(peak_kb / 1024, 1),
        "checks": checks,
        "ok": all(checks.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--single", action="store_true", help="acks one record per call")
    parser.add_argument("--out", default=None, help="result file name under bench/results/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="derlink-roundtrip-") as tmp:
        result = run(args.subscriptions, args.single, Path(tmp))
    mode = "-single" if args.single else ""
    finish(
        result,
        "round trip of {subscriptions:,} subscriptions: {round_trip_s}s ({rows_per_s:,}/s), "
        "acks {acks_per_s:,}/s ({cpm_mode}), platform peak {platform_peak_rss_mb} MB",
        args.out or f"file-roundtrip-{args.subscriptions}{mode}.json",
    )


if __name__ == "__main__":
    main()
