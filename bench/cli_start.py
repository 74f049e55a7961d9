"""How fast the CLI starts and ``derlink up`` stops: the wall time of ``derlink --help``, and
the time from Ctrl-C (SIGINT) to the end of a ``derlink up`` process.

    .venv/bin/python bench/cli_start.py --help-runs 20 --stops 3
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from derlink.cli.server import ServerProcess
from record import process_usage, write_result

DERLINK = str(Path(sys.executable).with_name("derlink"))


def help_times(runs: int) -> list[float]:
    """Seconds of each ``derlink --help``, from the process's start to its end."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([DERLINK, "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return times


def stop_time() -> float:
    """Seconds from SIGINT to the exit of a ``derlink up`` that serves every part."""
    with tempfile.TemporaryDirectory(prefix="derlink-stop-") as home:
        server = ServerProcess(Path(home))
        server.start()
        assert server.proc is not None
        started = time.perf_counter()
        server.proc.send_signal(signal.SIGINT)
        server.proc.wait(timeout=60)
        elapsed = time.perf_counter() - started
        server.proc = None
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--help-runs", type=int, default=20)
    parser.add_argument("--stops", type=int, default=3)
    args = parser.parse_args()
    helps = help_times(args.help_runs)
    stops = [stop_time() for _ in range(args.stops)]
    result = {
        "help_runs": args.help_runs,
        "help_median_s": round(statistics.median(helps), 3),
        "help_max_s": round(max(helps), 3),
        "stops": args.stops,
        "stop_median_s": round(statistics.median(stops), 2),
        "stop_max_s": round(max(stops), 2),
        "cpus": os.cpu_count(),
        **process_usage(),
    }
    print(
        f"derlink --help: median {result['help_median_s']} s, max {result['help_max_s']} s "
        f"({args.help_runs} runs); derlink up stops {result['stop_median_s']} s after Ctrl-C "
        f"(median of {args.stops}, max {result['stop_max_s']} s)"
    )
    write_result("cli_start.json", result)


if __name__ == "__main__":
    main()
