"""Benchmark: the analytics enrollment intake of one N-row extract file, on SQLite by default.

Method (docs/analytics.md, "Enrollment intake"): a valid extract file of --rows subscriptions
(the contract's header; cpm-shaped ids; RFC 4180 quoting where a field needs it) is written to
a local-folder object storage (not timed). Then, timed: one ``run_once`` of the intake on a
fresh database, which checksums the file, streams it in batches, upserts every subscription,
writes the ack file to a local-folder content server and renames the input ``Acked-``.
Prints wall seconds, rows/s and peak RSS; writes bench/results/analytics_intake_<N>.json
(``_postgresql`` added with --database-url).

    .venv/bin/python bench/analytics_intake.py --rows 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from derlink.analytics.app import open_analytics_database
from derlink.analytics.enrollments.model import HEADER
from derlink.analytics.enrollments.service import enrollment_intake
from derlink.common.clock import SystemClock
from derlink.platform.files import LocalFolder
from derlink.platform.intake.driver import FileSummary
from record import process_usage, write_result

NAME = "ENROLL_SYNC_INITIAL_20261130T230000Z_BENCH.csv"


def write_extract(path: Path, rows: int) -> int:
    """An INITIAL extract of ``rows`` subscriptions, streamed to disk; its size in bytes."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(HEADER) + "\n")
        lines = []
        for i in range(rows):
            n = f"{i:026d}"
            end = "2027-05-31T23:59:59.000Z" if i % 7 == 0 else ""
            status = ("Active", "Active", "Pending", "Inactive")[i % 4]
            lines.append(
                f"SYN{n},SUB{n},PRG{i % 12:026d},BYOT-{i % 12},ACC{i:010d},PER{i:010d},"
                f'SPT{n},SP{i:010d},PR{i:010d},"North, Zone {i % 9}",DR,{status},'
                f"2026-06-01T07:00:00.000Z,{end},{1 + i % 3}\n"
            )
            if len(lines) == 10_000:
                out.writelines(lines)
                lines.clear()
        out.writelines(lines)
    return path.stat().st_size


def prepare(args: argparse.Namespace) -> tuple[LocalFolder, LocalFolder, str, int]:
    """Fresh stores with the extract file in the storage, and a fresh database URL."""
    storage_dir = args.data_dir / "storage"
    content_dir = args.data_dir / "content"
    for folder in (storage_dir, content_dir):
        shutil.rmtree(folder, ignore_errors=True)
    storage, content = LocalFolder(storage_dir), LocalFolder(content_dir)
    size = write_extract(storage_dir / NAME, args.rows)
    url = args.database_url or f"sqlite:///{args.data_dir / 'analytics.sqlite'}"
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url[len("sqlite:///") :] + suffix).unlink(missing_ok=True)
    return storage, content, url, size


async def timed_intake(
    storage: LocalFolder, content: LocalFolder, url: str, batch_rows: int
) -> tuple[FileSummary, float]:
    db = open_analytics_database(url)
    intake = enrollment_intake(
        db, SystemClock(), storage, content, 4 * 1024**3, batch_rows=batch_rows
    )
    try:
        began = time.perf_counter()
        (summary,) = await intake.run_once()
        return summary, time.perf_counter() - began
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=20_000)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/derlink-bench/intake"))
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a fresh SQLite file)")
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    storage, content, url, size = prepare(args)
    summary, wall_s = asyncio.run(timed_intake(storage, content, url, args.batch_rows))
    with (args.data_dir / "content" / f"ENROLL_ACK_{NAME}").open("rb") as ack:
        ack_rows = sum(1 for _ in ack) - 1
    if summary.accepted != args.rows or ack_rows != args.rows:
        raise SystemExit(f"expected {args.rows} accepted and ack rows: {summary}, {ack_rows}")
    result = {
        "benchmark": "analytics_intake",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": url.split(":", 1)[0],
        "rows": args.rows,
        "file_mb": round(size / 1024**2, 1),
        "batch_rows": args.batch_rows,
        "state": str(summary.state),
        "accepted": summary.accepted,
        "wall_s": round(wall_s, 2),
        "rows_per_s": round(args.rows / wall_s),
        **process_usage(),
    }
    print(json.dumps(result, indent=2))
    suffix = "" if url.startswith("sqlite") else "_postgresql"
    write_result(f"analytics_intake_{args.rows}{suffix}.json", result)


if __name__ == "__main__":
    main()
