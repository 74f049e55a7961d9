"""NET-LOC at utility scale, end to end through the hub, on the embedded default.

    model export → DERMS's model intake → NET-LOC export (DERMS) → NET-LOC copy (hub) →
    cpm's NET-LOC intake: every service point's effective-dated network location in cpm

N service points are bulk-loaded into a fresh cpm database (cpm's CIS master data, not the
subject here) in a child process, and a model export of N service points (10 under each
transformer, 50 transformers a feeder, 10 feeders a substation) is written to DERMS's model
store. Then ``derlink up`` runs every part in one process on its embedded defaults (SQLite,
local folders), and this driver runs each stage through the APIs and waits for it: DERMS's
model intake (``POST /derms/api/v1/network/model-files/intake``), the NET-LOC export
(``POST /derms/api/v1/network/exports``), NET-LOC run-now until its instance completes, and
cpm's intake (``POST /cpm/api/v1/network-locations/intake``). NET-LOC end to end is from the
export call to the last row in cpm. It reports each stage's time and the peak resident
memory (VmHWM) of the ``derlink up`` process, which holds every part, and of this driver.

    .venv/bin/python bench/netloc.py --service-points 1000000

``load_service_points`` and ``write_netloc`` are reused by the NET-LOC crash test.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from derlink.cli.server import ServerProcess
from derlink.contracts.network_files import MODEL_HEADER, NETLOC_HEADER
from derlink.cpm.migrations import SCHEMA
from derlink.platform.database import open_part_database

try:
    from bench.driving import NEVER, instance_done, operator_client
    from bench.record import finish
except ImportError:  # run as a script: bench/ itself is on the path
    from driving import NEVER, instance_done, operator_client  # type: ignore[no-redef]
    from record import finish  # type: ignore[no-redef]

HOUR = "3600"  # the parts' intake loops and the export schedule too
DAY = "2026-01-01"
_BATCH = 50_000
PER_TRANSFORMER, PER_FEEDER, PER_SUBSTATION = 10, 50, 10


def sp_id(n: int) -> str:
    return f"SP{n:09d}"


def load_service_points(database_url: str, count: int) -> None:
    """Create (and migrate) a cpm SQLite database and bulk insert ``count`` service points."""
    db = open_part_database(database_url, SCHEMA)
    stamp = datetime.now(UTC).isoformat()
    insert = (
        "INSERT INTO service_points (id, cis_service_point_id, cis_premise_id, division,"
        " updated_at) VALUES (?, ?, ?, 'CA', ?)"
    )
    try:
        for start in range(0, count, _BATCH):
            rows = [
                (f"SPX-{n:022d}", sp_id(n), f"PR{n:09d}", stamp)
                for n in range(start, min(start + _BATCH, count))
            ]
            with db.begin() as conn:
                conn.exec_driver_sql(insert, rows)
    finally:
        db.dispose()


def _node(n: int) -> tuple[str, str, str]:
    """Service point ``n``'s transformer, feeder and substation."""
    t = n // PER_TRANSFORMER
    f = t // PER_FEEDER
    return f"T{t:08d}", f"F{f:06d}", f"S{f // PER_SUBSTATION:05d}"


def _model_rows(count: int) -> Iterator[tuple[str, ...]]:
    seen: set[str] = set()
    for n in range(count):
        transformer, feeder, substation = _node(n)
        if substation not in seen:
            seen.add(substation)
            yield ("SUBSTATION", substation, "", f"Substation {substation}", DAY)
        if feeder not in seen:
            seen.add(feeder)
            yield ("FEEDER", feeder, substation, f"Feeder {feeder}", DAY)
        if transformer not in seen:
            seen.add(transformer)
            yield ("TRANSFORMER", transformer, feeder, f"Transformer {transformer}", DAY)
        yield ("SERVICE_POINT", sp_id(n), transformer, "", DAY)


def write_model(path: Path, count: int) -> None:
    """A model export of ``count`` service points, nodes before what is under them."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MODEL_HEADER)
        writer.writerows(_model_rows(count))


def write_netloc(path: Path, count: int) -> None:
    """A NET-LOC file of ``count`` service points, as DERMS would export that model."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(NETLOC_HEADER)
        writer.writerows((sp_id(n), *_node(n), DAY, "") for n in range(count))


def _only_file(answer: httpx.Response) -> dict[str, Any]:
    answer.raise_for_status()
    (summary,) = answer.json()["files"]
    return dict(summary)


def run(count: int, home: Path) -> dict[str, Any]:
    started = time.perf_counter()
    # In a child process, so that the loader's memory is not this driver's.
    loader = multiprocessing.get_context("spawn").Process(
        target=load_service_points, args=(f"sqlite:///{(home / 'cpm.sqlite').resolve()}", count)
    )
    loader.start()
    # Written aside, and moved into the model store once the server runs: the intake's first
    # run at the start must not take it before the driver does.
    model = home / "NETMODEL_bench.csv"
    write_model(model, count)
    loader.join()
    print(
        f"loaded {count:,} service points and wrote the model in "
        f"{time.perf_counter() - started:.1f}s"
    )
    server = ServerProcess(
        home,
        extra_env={
            "DERLINK_FILE_CRON": NEVER,
            "DERLINK_NETWORK_INTAKE_INTERVAL_S": HOUR,
            "DERLINK_NETLOC_INTAKE_INTERVAL_S": HOUR,
            "DERLINK_NETLOC_EXPORT_INTERVAL_S": HOUR,
        },
    )
    server.start()
    model.rename(home / "files" / "derms-model" / model.name)
    stages: dict[str, float] = {}
    try:
        with operator_client(server) as api:
            t = time.perf_counter()
            taken_model = _only_file(api.post("/derms/api/v1/network/model-files/intake"))
            stages["model_intake"] = time.perf_counter() - t
            print(
                f"DERMS model intake: {taken_model['accepted']:,} rows in "
                f"{stages['model_intake']:.1f}s"
            )

            t0 = time.perf_counter()
            export = api.post("/derms/api/v1/network/exports")
            export.raise_for_status()
            done = export.json()
            stages["export"] = time.perf_counter() - t0
            print(f"NET-LOC export: {done['rows']:,} rows in {stages['export']:.1f}s")

            t = time.perf_counter()
            copy = instance_done(api, "NET-LOC", server)
            stages["copy"] = time.perf_counter() - t
            print(f"NET-LOC copy: {copy['outcome']['bytes']:,} bytes in {stages['copy']:.1f}s")

            t = time.perf_counter()
            taken = _only_file(api.post("/cpm/api/v1/network-locations/intake"))
            stages["cpm_intake"] = time.perf_counter() - t
            print(f"cpm intake: {taken['accepted']:,} rows in {stages['cpm_intake']:.1f}s")
            end_to_end = time.perf_counter() - t0
            last = api.get(f"/cpm/api/v1/service-points/{sp_id(count - 1)}/network-locations")
            last.raise_for_status()
    finally:
        peak_kb = server.sample_memory()
        server.stop()
    checks = {
        "DERMS took every model row": taken_model["rejected"] == 0
        and taken_model["state"] == "Acked",
        "every location exported": done["rows"] == count,
        "cpm took every row": taken["accepted"] == count and taken["state"] == "Acked",
        "the last service point's location in cpm": [
            (loc["transformerId"], loc["feederId"], loc["substationId"])
            for loc in last.json()["locations"]
        ]
        == [_node(count - 1)],
    }
    return {
        "service_points": count,
        "stages_s": {k: round(v, 2) for k, v in stages.items()},
        "netloc_end_to_end_s": round(end_to_end, 2),
        "rows_per_s": round(count / end_to_end, 1),
        "platform_peak_rss_mb": round(peak_kb / 1024, 1),
        "checks": checks,
        "ok": all(checks.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--service-points", type=int, default=100_000)
    parser.add_argument("--out", default=None, help="result file name under bench/results/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="derlink-netloc-") as tmp:
        result = run(args.service_points, Path(tmp))
    finish(
        result,
        "NET-LOC of {service_points:,} service points end to end: {netloc_end_to_end_s}s "
        "({rows_per_s:,}/s), platform peak {platform_peak_rss_mb} MB, "
        "driver peak {driver[peak_rss_mb]} MB",
        args.out or f"netloc-{args.service_points}.json",
    )


if __name__ == "__main__":
    main()
