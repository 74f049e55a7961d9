"""``derlink demo``: a sample utility, and the whole enrollment journey driven live over HTTP.

The platform runs as a child process (``derlink up`` on a fresh data directory, and with
``--database-url`` in a fresh PostgreSQL database); this process plays the utility's people and
the head-ends: it enrolls customers through cpm and through DERMS, sends some invalid requests
and some duplicates, waits for everything to settle, then unenrolls some customers and
replaces some devices, and finally reconciles cpm with DERMS.

Every outcome is known in advance from the plan, so the summary can say not only what
happened but whether it was right (``checks``).
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from derlink.cli import demo_event, demo_inputs, sample
from derlink.cli.client import CliError
from derlink.cli.server import ServerProcess
from derlink.common.errors import BusinessFault
from derlink.platform.database import driver_url
from derlink.platform.http import Connection, HttpClient
from derlink.platform.settings import Settings

CPM_CONCURRENCY = 32
DERMS_BATCH = 500
SETTLE_STALL_S = 90.0


@dataclass
class Request:
    customer: sample.Customer
    body: dict[str, Any]
    channel: str  # "cpm" or "derms"
    expected_code: str | None = None  # None: must succeed


@dataclass
class Plan:
    phase1: list[Request] = field(default_factory=list)
    duplicates: list[Request] = field(default_factory=list)
    unenroll: list[sample.Customer] = field(default_factory=list)
    replace: list[sample.Customer] = field(default_factory=list)
    phase2_invalid: list[Request] = field(default_factory=list)

    @property
    def valid(self) -> list[Request]:
        return [r for r in self.phase1 if r.expected_code is None]

    def expected_rejections(self) -> Counter[str]:
        return Counter(
            r.expected_code for r in self.phase1 + self.phase2_invalid if r.expected_code
        )


def make_plan(count: int) -> Plan:
    """Who does what. Every 20th customer sends an invalid request (four kinds, both channels);
    the others enroll, half through cpm and half through DERMS; every 25th valid request is
    sent twice; in phase 2 some cpm-enrolled customers unenroll or replace their device and the
    invalid customers try to enroll a device that is already taken."""
    plan = Plan()
    for c in sample.customers(count):
        i = c.n
        mid = f"REQ-{i:08d}"
        if i % 20 == 0:
            kind = (i // 20) % 4
            if kind == 0:
                body = sample.enrollment_request(
                    c, message_id=mid, model_index=0, program="LEGACY-AC"
                )
                plan.phase1.append(Request(c, body, "cpm", "CPM-PROGRAM-INACTIVE"))
            elif kind == 1:
                body = sample.enrollment_request(
                    c, message_id=mid, model_index=i, send_specification=False
                )
                body["locationInfo"]["cisServicePointId"] = f"SPX{i:08d}"
                plan.phase1.append(Request(c, body, "derms", "CPM-SP-UNKNOWN"))
            elif kind == 2:
                body = sample.enrollment_request(
                    c, message_id=mid, model_index=4, program="BYOT-SUMMER"
                )
                plan.phase1.append(Request(c, body, "cpm", "CPM-SPEC-INELIGIBLE"))
            else:
                body = sample.enrollment_request(
                    c, message_id=mid, model_index=i, send_specification=False
                )
                body["assetInfo"]["assetList"][0].update(make="ACME", model="X1")
                plan.phase1.append(Request(c, body, "derms", "HUB-LOOKUP-ASSETSPEC"))
            if i + 2 <= count:
                taken = sample.enrollment_request(
                    sample.Customer(i + 2), message_id=f"REQ-{i:08d}-B", model_index=i + 2
                )
                own = sample.enrollment_request(c, message_id=f"REQ-{i:08d}-B", model_index=i + 2)
                own["assetInfo"] = taken["assetInfo"]
                plan.phase2_invalid.append(Request(c, own, "cpm", "CPM-DEVICE-IN-USE"))
            continue
        channel = "cpm" if i % 2 == 0 else "derms"
        body = sample.enrollment_request(
            c, message_id=mid, model_index=i, send_specification=channel == "cpm"
        )
        request = Request(c, body, channel)
        plan.phase1.append(request)
        if i % 25 == 1:
            plan.duplicates.append(request)
        if i % 20 == 4:
            plan.unenroll.append(c)
        elif i % 20 == 6:
            plan.replace.append(c)
    return plan


class Driver:
    def __init__(self, api: HttpClient, quiet: bool, console: Console) -> None:
        self.api = api
        self.quiet = quiet
        self.console = console
        self.enrollment_ids: dict[int, str] = {}
        self.device_ids: dict[int, str] = {}
        self.rejected: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self.duplicates_ok = 0
        self.latencies_ms: list[float] = []

    async def enroll_via_cpm(self, requests: list[Request], duplicate: bool = False) -> None:
        gate = asyncio.Semaphore(CPM_CONCURRENCY)

        async def one(r: Request) -> None:
            async with gate:
                started = time.perf_counter()
                try:
                    body = await self.api.post("/cpm/api/v1/enrollments", r.body)
                    self.latencies_ms.append((time.perf_counter() - started) * 1000)
                except BusinessFault as exc:
                    detail = exc.body if isinstance(exc.body, dict) else {}
                    code = str(detail.get("code") or exc.status)
                    if code == "10589" and duplicate:
                        self.duplicates_ok += 1
                    elif code == r.expected_code:
                        self.rejected[code] += 1
                    else:
                        self.unexpected.append(
                            f"{r.body['messageId']}: got {code}, expected {r.expected_code}"
                        )
                    return
                if duplicate or r.expected_code:
                    self.unexpected.append(
                        f"{r.body['messageId']}: accepted, expected {r.expected_code or '10589'}"
                    )
                    return
                self.enrollment_ids[r.customer.n] = body["enrollmentId"]

        await asyncio.gather(*(one(r) for r in requests))

    async def originate_via_derms(self, requests: list[Request]) -> None:
        for start in range(0, len(requests), DERMS_BATCH):
            chunk = requests[start : start + DERMS_BATCH]
            await self.api.post(
                "/derms/api/v1/enrollment-requests/originate", {"requests": [r.body for r in chunk]}
            )

    async def counts(self) -> tuple[dict[str, int], dict[str, int], dict[str, Any]]:
        sync, origination, hub = await asyncio.gather(
            self.api.get("/cpm/api/v1/sync-requests/counts"),
            self.api.get("/derms/api/v1/enrollment-requests/counts"),
            self.api.get("/hub/api/v1/stats"),
        )
        return sync, origination, hub

    async def master_data(self) -> dict[str, Any]:
        """What DERMS holds of cpm's programs and aggregators (PROG-RULE, AGGREGATOR), once
        every version cpm sent is answered (or nothing moves for a while)."""
        deadline = time.monotonic() + SETTLE_STALL_S
        while True:
            programs, aggregators = await asyncio.gather(
                self.api.get("/cpm/api/v1/programs"), self.api.get("/cpm/api/v1/aggregators")
            )
            sent = [p for p in programs if p["dermsSync"]["state"] != "None"] + aggregators
            if all(x["dermsSync"]["state"] != "Pending" for x in sent):
                break
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.25)
        held_programs, held_aggregators = await asyncio.gather(
            self.api.get("/derms/api/v1/programs"), self.api.get("/derms/api/v1/aggregators")
        )
        held = {p["code"]: p for p in held_programs["items"]}
        held_aggs = {a["code"]: a["version"] for a in held_aggregators["items"]}
        active = [p for p in programs if p["status"] == "Active"]
        return {
            "programs_active": len(active),
            "programs_held": sum(
                1
                for p in active
                if p["programCode"] in held
                and held[p["programCode"]]["version"] == p["dermsSync"]["version"]
                and p["dermsSync"]["state"] == "Synchronized"
            ),
            "rules_held": sum(
                len(held[p["programCode"]]["rules"]) for p in active if p["programCode"] in held
            ),
            "aggregators": len(aggregators),
            "aggregators_held": sum(
                1
                for a in aggregators
                if held_aggs.get(a["code"]) == a["dermsSync"]["version"]
                and a["dermsSync"]["state"] == "Synchronized"
            ),
        }

    async def settle(self, expected_sync: int, label: str, on_sample: Callable[[], object]) -> bool:
        """Wait until every sync request is final, every origination answered, the hub idle."""
        last_progress, last_final = time.monotonic(), -1
        progress = Progress(
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            disable=self.quiet,
            transient=False,
        )
        with progress:
            task = progress.add_task(label, total=expected_sync)
            while True:
                on_sample()
                sync, origination, hub = await self.counts()
                final = sum(sync.get(s, 0) for s in ("Synchronized", "Error", "Discarded"))
                progress.update(task, completed=min(final, expected_sync))
                waiting = sync.get("Pending", 0) + sync.get("Awaiting Acknowledgement", 0)
                open_requests = origination.get("Pending", 0) + origination.get("Sent", 0)
                if (
                    sum(sync.values()) >= expected_sync
                    and waiting == 0
                    and open_requests == 0
                    and hub.get("activeRuns", 0) == 0
                ):
                    return True
                if final != last_final:
                    last_final, last_progress = final, time.monotonic()
                elif time.monotonic() - last_progress > SETTLE_STALL_S:
                    return False
                await asyncio.sleep(0.25)

    async def exchange_with_analytics(self, on_sample: Callable[[], object]) -> dict[str, Any]:
        """The enrollment exchange (OUAI-ENR, OUAI-ENR-ACK): an initial extract, then an
        incremental one (the unenrolled subscriptions), each file copied to analytics, taken
        and acknowledged there, and the acknowledgements applied to cpm's sync requests."""
        started = time.perf_counter()
        extracts = [
            await self.api.post("/cpm/api/v1/enrollment-extracts", {"kind": kind})
            for kind in ("INITIAL", "INCREMENTAL")
        ]
        names = [x["fileName"] for x in extracts if x.get("fileName")]
        copies = await self._run_file_flow("OUAI-ENR", len(names), on_sample)

        async def acked() -> list[dict[str, Any]]:
            files = await self.api.get("/analytics/api/v1/enrollment-files", {"limit": "100"})
            return [f for f in files if f["name"] in names and f["state"] != "Processing"]

        deadline = time.monotonic() + SETTLE_STALL_S
        while len(taken := await acked()) < len(names) and time.monotonic() < deadline:
            on_sample()
            await asyncio.sleep(0.25)
        acks = await self._run_file_flow("OUAI-ENR-ACK", len(taken), on_sample)
        outcomes = [a["outcome"] or {} for a in acks]
        sync = await self.api.get("/cpm/api/v1/sync-requests/counts")
        return {
            "files_extracted": len(names),
            "rows_extracted": sum(x["rows"] for x in extracts),
            "files_sent": sum(1 for c in copies if c["status"] == "Completed"),
            "files_taken_by_analytics": sum(1 for f in taken if f["state"] == "Acked"),
            "ack_files_applied": sum(1 for a in acks if a["status"].startswith("Completed")),
            "rows_acked_positive": sum(o.get("ackedPositive", 0) for o in outcomes),
            "rows_acked_negative": sum(o.get("ackedNegative", 0) for o in outcomes),
            "rows_rejected": sum(o.get("rejected", 0) for o in outcomes)
            + sum(f["rejected"] for f in taken),
            "sync_waiting": sync.get("Pending", 0) + sync.get("Awaiting Acknowledgement", 0),
            "elapsed_s": round(time.perf_counter() - started, 2),
        }

    async def derms_inputs(
        self, plan: Plan, home: Path, customers: int, on_sample: Callable[[], object]
    ) -> dict[str, Any]:
        """Device scores and forecasts from a drawn history of past events (``demo_inputs``):
        cpm's score run and DEV-SCORE, analytics' forecast run and LRF, then what DERMS
        holds."""
        started = time.perf_counter()
        time_zone = Settings.from_env(os.environ).time_zone
        devices = [
            demo_inputs.Device(
                r.body["locationInfo"]["cisServicePointId"], a["headEndSystem"], a["nicId"]
            )
            for r in plan.valid
            for a in r.body["assetInfo"]["assetList"]
        ]
        stores = home / "files"
        with tempfile.TemporaryDirectory(prefix="derlink-demo-history-") as tmp:
            history = await asyncio.to_thread(
                demo_inputs.draw_history,
                Path(tmp),
                customers=customers,
                devices=devices,
                time_zone=time_zone,
                today=demo_inputs.local_today(time_zone),
            )
            demo_inputs.put(
                stores / "analytics-storage", history.measurements, "MEASUREMENTS_demo.parquet"
            )
            for settled in history.kwh_avoided:
                demo_inputs.put(stores / "analytics-storage", settled, settled.name)
            demo_inputs.put(
                stores / "cpm-content", history.participation, history.participation.name
            )
        score = await demo_inputs.run_scores(self.api.post)
        score_flow = await self._run_file_flow(
            "DEV-SCORE", 1 if score["fileName"] else 0, on_sample
        )
        forecast = await self.api.post("/analytics/api/v1/forecast-runs", {})
        lrf_flow = await self._run_file_flow("LRF", 1 if forecast["fileName"] else 0, on_sample)
        scores = await demo_inputs.held(self.api.get, "/derms/api/v1/device-scores")
        forecasts = await demo_inputs.held(self.api.get, "/derms/api/v1/forecasts")
        if forecast["note"]:
            self.unexpected.append(f"the forecast run: {forecast['note']}")
        return {
            "events_in_history": history.events,
            "devices_with_history": history.devices_with_history,
            "score_run": score["state"],
            "devices_scored": score["rows"],
            "devices_unscored": score["unscored"],
            "devices_replaced": sum(1 for c in plan.replace if c.n in self.enrollment_ids),
            "dev_score_sent": sum(1 for i in score_flow if i["status"] == "Completed"),
            "scores_held": len(scores),
            "service_points_forecast": forecast["forecast"],
            "service_points_active": forecast["servicePoints"],
            "lrf_sent": sum(1 for i in lrf_flow if i["status"] == "Completed"),
            "forecasts_held": len(forecasts),
            "forecast_expected_kw": demo_inputs.expected_kw(forecasts),
            "elapsed_s": round(time.perf_counter() - started, 2),
        }

    async def event(self, server: ServerProcess, plan: Plan) -> dict[str, Any]:
        """The demo's event (demo_event.py) over the battery program's service points."""
        time_zone = Settings.from_env(os.environ).time_zone
        service_points = [
            r.body["locationInfo"]["cisServicePointId"]
            for r in plan.valid
            if r.body["programInfo"]["programCode"] == demo_event.PROGRAM
        ]
        approver = demo_event.approver_client(server.home, server.base_url)
        try:
            return await demo_event.run_event(
                self.api,
                approver,
                server.home,
                service_points,
                today=demo_inputs.local_today(time_zone).isoformat(),
                say=lambda m: None if self.quiet else self.console.print(m),
                on_sample=server.sample_memory,
                run_flow=lambda code, n: self._run_file_flow(code, n, server.sample_memory),
            )
        finally:
            await approver.close()

    async def _run_file_flow(
        self, code: str, expected: int, on_sample: Callable[[], object]
    ) -> list[dict[str, Any]]:
        """Run a file flow now and wait until each instance it started has finished."""
        started = await self.api.post(f"/hub/api/v1/flows/{code}/run-now", {})
        ids: list[str] = started["instances"]
        deadline = time.monotonic() + SETTLE_STALL_S
        while True:
            on_sample()
            details = [await self.api.get(f"/hub/api/v1/instances/{i}") for i in ids]
            done = [d for d in details if d["status"] not in ("Received", "Running")]
            if len(done) == len(ids) or time.monotonic() > deadline:
                if len(ids) != expected:
                    self.unexpected.append(f"{code} found {len(ids)} file(s), not {expected}")
                return details
            await asyncio.sleep(0.25)

    async def phase2(self, plan: Plan) -> None:
        gate = asyncio.Semaphore(CPM_CONCURRENCY)

        async def unenroll(c: sample.Customer) -> None:
            async with gate:
                await self.api.post(
                    f"/cpm/api/v1/enrollments/{self.enrollment_ids[c.n]}/unenroll",
                    {"reason": "moved out"},
                )

        async def replace(c: sample.Customer) -> None:
            async with gate:
                enrollment = await self.api.get(
                    f"/cpm/api/v1/enrollments/{self.enrollment_ids[c.n]}"
                )
                device = next(d for d in enrollment["devices"] if d["status"] == "ACTIVE")
                new = sample.enrollment_request(c, message_id="-", model_index=c.n, nic_suffix="R")
                await self.api.post(
                    f"/cpm/api/v1/enrollments/{self.enrollment_ids[c.n]}/devices/{device['deviceId']}/replace",
                    {"asset": new["assetInfo"]["assetList"][0]},
                )

        await asyncio.gather(
            *(unenroll(c) for c in plan.unenroll if c.n in self.enrollment_ids),
            *(replace(c) for c in plan.replace if c.n in self.enrollment_ids),
            self.enroll_via_cpm(plan.phase2_invalid),
        )


def _fresh_postgres(server_url: str) -> tuple[str, Callable[[], None]]:
    """Create a fresh database on the server of ``server_url``; return its URL and a dropper."""
    admin_url = driver_url(server_url)
    name = f"derlink_demo_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "select pg_terminate_backend(pid) from pg_stat_activity where datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return url, drop


def run_demo(
    *,
    customers: int,
    database_url: str | None,
    home: Path | None,
    keep: bool,
    quiet: bool,
    console: Console,
    event: bool = True,
) -> dict[str, Any]:
    if home is not None and home.exists() and any(home.iterdir()):
        raise CliError(
            f"{home} is not empty: the demo starts from an empty data directory (give a new "
            "--home, or none for a temporary one)"
        )
    home = home or Path(tempfile.mkdtemp(prefix="derlink-demo-"))
    drop: Callable[[], None] | None = None
    db_url = None
    if database_url:
        db_url, drop = _fresh_postgres(database_url)
    # The event's outcomes go out as soon as its stage ends: no outcome window to wait out.
    server = ServerProcess(home, database_url=db_url,
                           extra_env={"DERLINK_OUTCOME_WINDOW_MIN": "0"})  # fmt: skip
    try:
        server.start()
        summary = asyncio.run(
            _journey(server, customers, quiet, console, database=db_url or "sqlite", event=event)
        )
        if keep:  # where the kept data is, for a look at it afterwards
            summary["kept"] = {"home": str(home), "database_url": db_url}
        return summary
    finally:
        server.stop()
        if drop is not None and not keep:
            drop()
        if not keep:
            shutil.rmtree(home, ignore_errors=True)


async def _journey(
    server: ServerProcess,
    customers: int,
    quiet: bool,
    console: Console,
    database: str,
    event: bool = True,
) -> dict[str, Any]:
    api = HttpClient(
        Connection(
            name="derlink",
            base_url=server.base_url,
            auth="bearer",
            username="operator",
            secret=server.operator_secret(),
            timeout_s=300,
        )
    )
    driver = Driver(api, quiet, console)

    def say(message: str) -> None:
        if not quiet:
            console.print(message)

    try:
        say(
            f"[bold]derlink demo[/bold]: {customers} customers, "
            f"platform at {server.base_url}, data in {server.home}"
        )
        loaded = time.perf_counter()
        await sample.load(api, customers)
        say(f"sample utility loaded in {time.perf_counter() - loaded:.1f}s")
        plan = make_plan(customers)
        valid = plan.valid

        started = time.perf_counter()
        cpm_requests = [r for r in plan.phase1 if r.channel == "cpm"]
        derms_requests = [r for r in plan.phase1 if r.channel == "derms"]
        await asyncio.gather(
            driver.enroll_via_cpm(cpm_requests),
            driver.originate_via_derms(derms_requests),
        )
        # Duplicates go once the originals are in, so that each one is a true re-delivery.
        await asyncio.gather(
            driver.enroll_via_cpm(
                [r for r in plan.duplicates if r.channel == "cpm"], duplicate=True
            ),
            driver.originate_via_derms([r for r in plan.duplicates if r.channel == "derms"]),
        )
        settled1 = await driver.settle(len(valid), "phase 1: enrolling", server.sample_memory)
        phase1_s = time.perf_counter() - started
        sync_after_1, _, _ = await driver.counts()
        synchronized_1 = sync_after_1.get("Synchronized", 0)

        expected_total = (
            len(valid)
            + len([c for c in plan.unenroll if c.n in driver.enrollment_ids])
            + len([c for c in plan.replace if c.n in driver.enrollment_ids])
        )
        await driver.phase2(plan)
        settled2 = await driver.settle(expected_total, "phase 2: changes", server.sample_memory)
        elapsed = time.perf_counter() - started

        sync, origination, hub = await driver.counts()
        reconciliation = await api.get("/hub/api/v1/reconciliation")
        say("[bold]master data at DERMS[/bold] (PROG-RULE, AGGREGATOR)")
        master = await driver.master_data()
        say("[bold]enrollment exchange with analytics[/bold] (OUAI-ENR, OUAI-ENR-ACK)")
        exchange = await driver.exchange_with_analytics(server.sample_memory)
        # The platform's peak through the enrollment journey, before analytics' forecast run
        # (which reads the interval data in chunks of millions of rows) raises it.
        journey_peak_kb = server.sample_memory()
        say("[bold]device scores and forecasts at DERMS[/bold] (DEV-SCORE, LRF)")
        inputs = await driver.derms_inputs(plan, server.home, customers, server.sample_memory)
        ran: dict[str, Any] | None = None
        if event:
            say("[bold]an event[/bold]: generated, approved, reserved, an opt-out, outcomes")
            ran = await driver.event(server, plan)
    finally:
        await api.close()

    hub_rejections: Counter[str] = Counter(hub.get("recordErrors", {}).get("ENR-REQ", {}))
    rejected = driver.rejected + hub_rejections
    expected_rejected = plan.expected_rejections()
    derms_duplicates = [r for r in plan.duplicates if r.channel == "derms"]
    checks = {
        "settled": settled1 and settled2,
        "every valid enrollment synchronized": sync.get("Synchronized", 0) == expected_total,
        "nothing pending or awaiting": sync.get("Pending", 0)
        + sync.get("Awaiting Acknowledgement", 0)
        == 0,
        "no sync request in error": sync.get("Error", 0) == 0,
        "every invalid request rejected with its code": dict(rejected) == dict(expected_rejected),
        "no unexpected answer": not driver.unexpected,
        "duplicates had no second effect": driver.duplicates_ok
        == len(plan.duplicates) - len(derms_duplicates),
        "hospital empty": hub.get("hospital", 0) == 0,
        "cpm and DERMS reconcile": reconciliation["differences"] == 0,
        "DERMS holds every Active program's rules and every aggregator": master["programs_held"]
        == master["programs_active"]
        and master["aggregators_held"] == master["aggregators"],
        "every extracted row acknowledged by analytics": exchange["rows_extracted"]
        == exchange["rows_acked_positive"] + exchange["rows_acked_negative"]
        and exchange["rows_extracted"] > 0,
        "every extract file sent and acknowledged": exchange["files_sent"]
        == exchange["files_extracted"]
        == exchange["ack_files_applied"],
        "no analytics sync request left waiting": exchange["sync_waiting"] == 0,
        "DERMS holds a score for every device cpm scored": inputs["score_run"] == "Completed"
        and inputs["devices_scored"] > 0
        and inputs["dev_score_sent"] == 1
        and inputs["scores_held"] == inputs["devices_scored"],
        "only the devices that replaced another after the events are without a score": inputs[
            "devices_unscored"
        ]
        == inputs["devices_replaced"],
        "DERMS holds a forecast for every service point analytics forecast": inputs[
            "service_points_forecast"
        ]
        > 0
        and inputs["lrf_sent"] == 1
        and inputs["forecasts_held"] == inputs["service_points_forecast"],
    }
    if ran is not None:
        checks |= {f"event: {name}": ok for name, ok in ran["checks"].items()}
    lat = sorted(driver.latencies_ms)
    summary: dict[str, Any] = {
        "ok": all(checks.values()),
        "customers": customers,
        "database": "postgresql" if database != "sqlite" else "sqlite",
        "sync_requests": sync,
        "origination": origination,
        "rejected": sum(rejected.values()),
        "rejected_by_code": dict(sorted(rejected.items())),
        "expected_rejected_by_code": dict(sorted(expected_rejected.items())),
        "duplicates": len(plan.duplicates),
        "hospital": hub.get("hospital", 0),
        "flows": hub.get("instances", {}),
        "reconciliation_differences": reconciliation["differences"],
        "master_data": master,
        "analytics_exchange": exchange,
        "derms_inputs": inputs,
        "event": {k: v for k, v in ran.items() if k != "checks"} if ran else None,
        "elapsed_s": round(elapsed, 2),
        "enrollment_phase_s": round(phase1_s, 2),
        "enrollments_synchronized": synchronized_1,
        "enrollments_per_s": round(synchronized_1 / phase1_s, 1) if phase1_s else 0.0,
        "enroll_call_ms": {
            "p50": round(statistics.median(lat), 2) if lat else None,
            "p99": round(lat[int(len(lat) * 0.99) - 1], 2) if lat else None,
        },
        "peak_rss_mb": {
            "platform": round(server.sample_memory() / 1024, 1),
            "platform_journey": round(journey_peak_kb / 1024, 1),
            "driver": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
        "checks": checks,
        "unexpected": driver.unexpected[:20],
    }
    if not quiet:
        _print_summary(console, summary)
    return summary


def _print_summary(console: Console, s: dict[str, Any]) -> None:
    """The demo's outcome in words and figures (``--json`` prints the same as one object)."""
    states = ", ".join(f"{n} {state}" for state, n in s["sync_requests"].items()) or "none"
    console.print(f"sync requests: {states}")
    codes = ", ".join(f"{code} × {n}" for code, n in s["rejected_by_code"].items()) or "none"
    console.print(
        f"requests rejected: {s['rejected']} ({codes}); duplicates sent: {s['duplicates']}; "
        f"in the hospital: {s['hospital']}; cpm and DERMS differ on "
        f"{s['reconciliation_differences']} subscription(s)"
    )
    memory = s["peak_rss_mb"]
    console.print(
        f"{s['enrollments_synchronized']} enrollments synchronized in "
        f"{s['enrollment_phase_s']:.1f} s = [bold]{s['enrollments_per_s']:.1f}/s[/bold]; whole "
        f"journey {s['elapsed_s']:.1f} s; peak memory {memory['platform']:.0f} MB (platform; "
        f"{memory['platform_journey']:.0f} MB before the scores and forecasts), "
        f"{memory['driver']:.0f} MB (this demo's driver)"
    )
    m = s["master_data"]
    console.print(
        f"master data at DERMS: {m['programs_held']} of {m['programs_active']} Active programs "
        f"with {m['rules_held']} rule(s), {m['aggregators_held']} of {m['aggregators']} "
        "aggregators, each at the version cpm sent last"
    )
    x = s["analytics_exchange"]
    console.print(
        f"analytics exchange: {x['files_sent']} file(s) sent, {x['rows_extracted']} rows; "
        f"acknowledged {x['rows_acked_positive']} accepted and {x['rows_acked_negative']} "
        f"refused; {x['rows_rejected']} row(s) unreadable; in {x['elapsed_s']:.1f} s"
    )
    d = s["derms_inputs"]
    console.print(
        f"device scores: {d['devices_scored']} device(s) scored from {d['events_in_history']} "
        f"past event(s), {d['devices_unscored']} without history (of them "
        f"{d['devices_replaced']} replaced a device after the events); DERMS "
        f"holds {d['scores_held']}. Forecasts: {d['service_points_forecast']} of "
        f"{d['service_points_active']} service point(s) of Active subscriptions; DERMS holds "
        f"{d['forecasts_held']}, expecting {d['forecast_expected_kw']} kW of reduction from "
        f"all of them together over the day; in {d['elapsed_s']:.1f} s"
    )
    for name, ok in s["checks"].items():
        console.print(f"  {'[green]✓' if ok else '[red]✗'}[/] {name}")
