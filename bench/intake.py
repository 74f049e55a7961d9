"""Latency of accepting a message at the hub: p50 and p99 of POST /hub/api/v1/flows/{code}/messages.

Accepting means: validated, written with its business identifiers to the hub's database,
queued as a durable workflow, and answered 202. The flows run meanwhile (the messages are real
EnrollSync records, delivered to DERMS), as they would in production.

    .venv/bin/python bench/intake.py --messages 2000
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
from record import write_result


def sync_record(n: int) -> dict[str, Any]:
    return {
        "dacsMessageId": f"SR-BENCH-{n:08d}", "syncType": "ENROLL",
        "contactInfo": {"contactId": f"C{n}", "cisPersonId": f"P{n}"},
        "subscriptionInfo": {"subscriptionId": f"E-BENCH-{n:08d}", "cisAccountId": f"A{n}",
                             "subscriptionType": "DR", "status": "ACTIVE", "programId": "PG1",
                             "programCode": "BYOT-SUMMER",
                             "startDateTimeISO": "2026-06-01T00:00:00Z",
                             "endDateTimeISO": None, "version": 1},
        "locationInfo": {"division": "CA", "servicePointId": f"SPX{n}", "cisPremiseId": f"PR{n}",
                         "cisServicePointId": f"SP{n}",
                         "controllableDevices": [{"deviceId": f"D{n}", "deviceType": "THERMOSTAT",
                                                  "specification": "ECOBEE-ST", "make": "ECOBEE",
                                                  "model": "SMARTTHERMOSTAT",
                                                  "headEndSystem": "ECOBEE-HE", "nicId": f"N{n}",
                                                  "serialNo": "", "badgeNo": "",
                                                  "status": "ACTIVE"}]},
    }  # fmt: skip


async def post_all(
    base_url: str, token: str, bodies: list[dict[str, Any]], concurrency: int
) -> list[float]:
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as http:

        async def one(body: dict[str, Any]) -> None:
            async with gate:
                started = time.perf_counter()
                response = await http.post("/hub/api/v1/flows/ENR-SYNC/messages", json=body)
                latencies.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 202, response.text

        await asyncio.gather(*(one(b) for b in bodies))
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1, help="records per message")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="derlink-intake-") as home:
        server = ServerProcess(Path(home))
        server.start()
        try:
            store = CredentialStore.load(Path(home) / "credentials.json")
            token = f"cpm.{store.client('cpm').secret}"
            httpx.post(
                server.base_url + "/derms/api/v1/head-end-systems",
                json={"codes": ["ECOBEE-HE"]},
                headers={"Authorization": f"Bearer operator.{server.operator_secret()}"},
            )
            results = {}
            for label, concurrency in (("sequential", 1), ("concurrent-16", 16)):
                offset = 0 if label == "sequential" else args.messages * args.batch
                bodies = [
                    {
                        "batchId": f"BENCH-{label}-{i}",
                        "messages": [
                            sync_record(offset + i * args.batch + j) for j in range(args.batch)
                        ],
                    }
                    for i in range(args.messages)
                ]
                started = time.perf_counter()
                lat = asyncio.run(post_all(server.base_url, token, bodies, concurrency))
                elapsed = time.perf_counter() - started
                results[label] = {
                    "messages": args.messages,
                    "records_per_message": args.batch,
                    "p50_ms": percentile(lat, 0.50),
                    "p99_ms": percentile(lat, 0.99),
                    "median_ms": round(statistics.median(lat), 2),
                    "accepted_per_s": round(args.messages / elapsed, 1),
                }
                r = results[label]
                print(
                    f"{label:>14}: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
                    f"{r['accepted_per_s']} messages/s"
                )
            server.sample_memory()
        finally:
            server.stop()
    write_result("intake.json", results)


if __name__ == "__main__":
    main()
