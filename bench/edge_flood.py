"""An authenticated call while callers without credentials send large bodies: the latency of
GET /hub/api/v1/flows alone, then while clients without credentials post 8 MB bodies of
malformed JSON as fast as the server answers them.

The edge refuses a call without credentials before it reads a byte of its body (401), so the
flood should cost the authenticated caller little. The same run measures both, so the ratio
holds on a noisy machine.

    .venv/bin/python bench/edge_flood.py --flooders 3 --calls 200
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from derlink.cli.server import ServerProcess
from derlink.platform.auth import CredentialStore
from record import process_usage, write_result

BODY = b"{" * (8 * 1024 * 1024)


async def timed_calls(base_url: str, token: str, calls: int) -> list[float]:
    latencies = []
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as http:
        for _ in range(calls):
            started = time.perf_counter()
            response = await http.get("/hub/api/v1/flows")
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    return latencies


async def flood(base_url: str, stop: asyncio.Event, statuses: dict[int, int]) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        while not stop.is_set():
            try:
                response = await http.post(
                    "/hub/api/v1/flows/ENR-SYNC/messages",
                    content=BODY,
                    headers={"content-type": "application/json"},
                )
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            except httpx.HTTPError:
                # The server answers 401 before the body and may close while it is still sent.
                statuses[0] = statuses.get(0, 0) + 1


async def measure(base_url: str, token: str, flooders: int, calls: int) -> dict[str, Any]:
    alone = await timed_calls(base_url, token, calls)
    stop = asyncio.Event()
    statuses: dict[int, int] = {}
    tasks = [asyncio.create_task(flood(base_url, stop, statuses)) for _ in range(flooders)]
    await asyncio.sleep(1.0)  # the flood under way
    flooded = await timed_calls(base_url, token, calls)
    stop.set()
    await asyncio.gather(*tasks)
    return {"alone": alone, "flooded": flooded, "flood_answers": statuses}


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "max_ms": round(ordered[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flooders", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="derlink-flood-") as home:
        server = ServerProcess(Path(home))
        server.start()
        try:
            token = CredentialStore.load(Path(home) / "credentials.json").client("operator")
            raw = asyncio.run(measure(server.base_url, token.bearer(), args.flooders, args.calls))
        finally:
            server.stop()
    alone, flooded = summary(raw["alone"]), summary(raw["flooded"])
    result = {
        "flooders": args.flooders,
        "calls": args.calls,
        "body_bytes": len(BODY),
        "alone": alone,
        "flooded": flooded,
        "p50_ratio": round(flooded["p50_ms"] / alone["p50_ms"], 2),
        "flood_answers": {str(k): v for k, v in sorted(raw["flood_answers"].items())},
        **process_usage(),
    }
    print(
        f"GET /hub/api/v1/flows alone: p50 {alone['p50_ms']} ms, p99 {alone['p99_ms']} ms; "
        f"with {args.flooders} clients posting 8 MB without credentials: "
        f"p50 {flooded['p50_ms']} ms, p99 {flooded['p99_ms']} ms "
        f"(x{result['p50_ratio']}); flood answers {result['flood_answers']}"
    )
    write_result("edge_flood.json", result)


if __name__ == "__main__":
    main()
