"""What every bench script does at its end: read its own resource use, and write its result."""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import resource
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def process_usage() -> dict[str, float]:
    """Peak resident memory and CPU seconds of this process, and the machine's load."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def write_result(name: str, result: Any) -> Path:
    """Write ``result`` as ``bench/results/<name>`` (JSON) and say where."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / name
    out.write_text(json.dumps(result, indent=2))
    print(f"written {out}")
    return out


def finish(result: dict[str, Any], summary: str, name: str) -> None:
    """The end of an end-to-end bench: add this driver's own resource use and the machine to
    ``result``, print each check and the ``summary`` line, write ``bench/results/<name>``, and
    exit non-zero when a check failed (``result["ok"]`` false)."""
    result["driver"] = process_usage()
    result["machine"] = {"cpus": multiprocessing.cpu_count(), "python": platform.python_version()}
    for check, ok in result["checks"].items():
        print(f"  {'ok ' if ok else 'FAIL'} {check}")
    print(summary.format_map(result))
    write_result(name, result)
    if not result["ok"]:
        raise SystemExit(1)
