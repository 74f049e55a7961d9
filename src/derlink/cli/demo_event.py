"""The demo's event (``derlink demo``, after the enrollments): one DERMS event run live, from its
generation to the outcomes in cpm and analytics, every step through the platform's APIs and
flows.

The sample's battery program (BATTERY-RES) takes events any day and any hour, of two minutes and
more, with no opt-out cut-off: its devices are the event's. This process plays the grid
operator, a customer and the head-end systems:

1. the network model (a substation, a feeder, a transformer over the program's service points)
   is loaded into DERMS; analytics forecasts today (an intraday run) and LRF carries it to DERMS;
2. a MANUAL strategy over the substation; an event of one two-minute stage starting about two
   minutes from now, generated twice — every eligible device, then to about six average
   devices' kW, so that one opt-out leaves it short and devices are left to backfill it with —
   submitted and approved: DERMS schedules it and
   reserves the stage's devices; EVT-STATUS and EVT-RESERVE make them cpm's participations;
3. a customer opts one device out in cpm (OPT-OUT): DERMS releases it, the stage review finds
   the stage short and backfills it with the next device (a delta reservation file);
4. once the stage runs, the head-end systems report their devices (a file in DERMS's head-end
   store): D1SP for most, an in-flight override (D1IO), one device silent (D1ND at the close);
5. the stage ends, its outcome window (0 minutes in the demo) closes, and EVT-OUTCOME carries
   every outcome to cpm and the same file to analytics.

What it returns says what happened; ``checks`` say whether it was right.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from derlink.contracts.event_files import HEADEND_OUTCOME_HEADER
from derlink.contracts.network_files import MODEL_HEADER
from derlink.platform.http import Connection, HttpClient

PROGRAM = "BATTERY-RES"
ZONE = "SUB-DEMO"
STAGE_MINUTES = 2
#: How long before the stage starts the event is approved: time for the reservation, the
#: opt-out and the backfill to travel.
LEAD_S = 100
PATIENCE_S = 240.0


async def wait(probe: Callable[[], Any], what: str, on_sample: Callable[[], object]) -> Any:
    """``probe()``'s first true answer (a coroutine function); a TimeoutError naming ``what``."""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        on_sample()
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.5)
    raise TimeoutError(f"the demo's event: timed out waiting for {what}")


def _model_file(service_points: Sequence[str], day: str) -> bytes:
    out = io.StringIO()
    rows = [
        MODEL_HEADER,
        ("SUBSTATION", ZONE, "", "Demo substation", day),
        ("FEEDER", "F-DEMO", ZONE, "Demo feeder", day),
        ("TRANSFORMER", "T-DEMO", "F-DEMO", "Demo transformer", day),
        *(("SERVICE_POINT", sp, "T-DEMO", "", day) for sp in sorted(set(service_points))),
    ]
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _head_end_file(stage_id: str, devices: Sequence[dict[str, Any]], start: datetime,
                   end: datetime) -> tuple[bytes, dict[str, str]]:  # fmt: skip
    """The head-end systems' report of a stage's devices: the last one silent, the one before
    it overridden in flight, the others successful; and what each should end as."""
    expected: dict[str, str] = {}
    rows: list[tuple[str, ...]] = [HEADEND_OUTCOME_HEADER]
    for n, d in enumerate(devices):
        if n == len(devices) - 1 and len(devices) > 2:
            expected[d["nicId"]] = "D1ND"
            continue
        outcome = "D1IO" if n == len(devices) - 2 and len(devices) > 2 else "D1SP"
        expected[d["nicId"]] = outcome
        kw = "3.1" if outcome == "D1SP" else "0.4"
        rows.append((stage_id, d["headEndSystem"], d["nicId"], outcome,
                     "customer override" if outcome == "D1IO" else "", start.isoformat(),
                     end.isoformat(), kw))  # fmt: skip
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode(), expected


async def run_event(
    api: HttpClient,
    approver: HttpClient,
    home: Path,
    service_points: Sequence[str],
    *,
    today: str,
    say: Callable[[str], None],
    on_sample: Callable[[], object],
    run_flow: Callable[[str, int], Any],
) -> dict[str, Any]:
    """The demo's event (see the module's documentation); its facts and checks."""
    started = time.perf_counter()
    files = home / "files"
    # 1. The network model and today's forecast.
    model = files / "derms-model"
    model.mkdir(parents=True, exist_ok=True)
    (model / "NETMODEL_demo.csv").write_bytes(_model_file(service_points, today))
    await api.post("/derms/api/v1/network/model-files/intake", {})
    forecast = await api.post("/analytics/api/v1/forecast-runs", {"day": today})
    await run_flow("LRF", 1 if forecast["fileName"] else 0)

    # 2. The strategy and the event.
    await api.request("PUT", "/derms/api/v1/strategy-types/DEMO",
                      json={"name": "Demo", "priority": 50, "baChecked": False})  # fmt: skip
    strategy = await api.post("/derms/api/v1/strategies", {
        "name": "Demo battery dispatch", "controlZone": ZONE, "programs": [PROGRAM],
        "type": "DEMO", "target": {"objective": "MANUAL"}})  # fmt: skip
    now = datetime.now(UTC)
    start = (now + timedelta(seconds=LEAD_S)).replace(second=0, microsecond=0) + timedelta(
        minutes=1
    )
    end = start + timedelta(minutes=STAGE_MINUTES)
    event = await api.post("/derms/api/v1/events", {
        "strategyId": strategy["id"], "name": "Demo dispatch", "type": "RELIABILITY",
        "start": start.isoformat(), "end": end.isoformat()})  # fmt: skip
    event_id = event["id"]
    window = {"program": PROGRAM, "start": start.isoformat(), "end": end.isoformat()}
    every = await api.post(f"/derms/api/v1/events/{event_id}/generate",
                           {"intervalSeconds": 60, "windows": [window]})  # fmt: skip
    eligible_mw = every["plan"]["peakPlannedMw"]
    eligible = sum(s["deviceCount"] for s in every["event"]["stages"])
    # About six average devices' worth (at most half of those eligible; the ranking takes the
    # larger ones first): one opt-out then leaves the stage well short of its target, and
    # devices are left to backfill it with.
    share = min(0.5, 6 / eligible) if eligible else 0.5
    asked = {"intervalSeconds": 60, "windows": [window], "targetMw": round(eligible_mw * share, 6)}
    generated = await api.post(f"/derms/api/v1/events/{event_id}/generate", asked)
    [stage] = generated["event"]["stages"] or [None]
    if stage is None:
        raise TimeoutError(
            f"the demo's event: generation planned no stage ({generated['plan']['exclusions']})"
        )
    stage_id = stage["id"]
    await api.post(f"/derms/api/v1/events/{event_id}/submit", {})
    decided = await approver.post(f"/derms/api/v1/events/{event_id}/approve", {})
    say(f"event {event_id}: {decided['event']['state']}, stage {stage_id} of "
        f"{stage['deviceCount']} device(s), {start:%H:%M}–{end:%H:%M} UTC")  # fmt: skip

    async def reservation_files(*states: str) -> list[dict[str, Any]] | None:
        found = await api.get(f"/derms/api/v1/events/{event_id}/reservation-files")
        return found if found and all(f["state"] in states for f in found) else None

    await wait(lambda: reservation_files("Acknowledged", "Failed"), "the reservation file",
               on_sample)  # fmt: skip
    program_events = await api.get("/cpm/api/v1/program-events",
                                   {"externalIdentifier": stage_id})  # fmt: skip
    [program_event] = program_events["items"]
    pe_id = program_event["id"]

    async def participations() -> list[dict[str, Any]]:
        page = await api.get(f"/cpm/api/v1/program-events/{pe_id}/participations",
                             {"limit": "500"})  # fmt: skip
        items: list[dict[str, Any]] = page["items"]
        return items

    reserved = await participations()

    # 3. A customer opts one device out; DERMS releases it and backfills the stage.
    chosen = reserved[0]
    await api.post(f"/cpm/api/v1/participations/{chosen['id']}/opt-out",
                   {"channel": "CUSTOMER", "reason": "the demo's customer is away"})  # fmt: skip

    async def backfilled() -> list[dict[str, Any]] | None:
        found = await api.get(f"/derms/api/v1/events/{event_id}/reservation-files")
        done = [f for f in found if f["seq"] > 0 and f["state"] in ("Acknowledged", "Failed")]
        return found if done else None

    async def reviewed() -> list[dict[str, Any]] | None:
        trail = await api.get(f"/derms/api/v1/events/{event_id}/audit")
        lines = [a for a in trail if a["action"] in ("SHORTFALL", "BACKFILL")]
        return lines if any(a["action"] == "BACKFILL" for a in lines) else None

    review = await wait(reviewed, "the stage review after the opt-out", on_sample)
    delta = await wait(backfilled, "the backfill's delta file", on_sample)
    say(f"opt-out of {chosen['nicId']}: {review[-1]['detail']}")

    # 4. The stage runs: the head-end systems report their devices.
    async def stage_state(*states: str) -> dict[str, Any] | None:
        found: dict[str, Any] = await api.get(f"/derms/api/v1/stages/{stage_id}")
        return found if found["state"] in states else None

    await wait(lambda: stage_state("In Progress", "Completed"), "the stage's start", on_sample)
    live = await api.get(f"/derms/api/v1/stages/{stage_id}/reservations",
                         {"state": "Reserved", "limit": "5000"})  # fmt: skip
    report, expected = _head_end_file(stage_id, live["items"], start, end)
    headend = files / "derms-headend"
    headend.mkdir(parents=True, exist_ok=True)
    (headend / f"HEOUTCOME_demo_{stage_id}.csv").write_bytes(report)
    intake = await api.post("/derms/api/v1/outcome-files/intake", {})
    silent = sum(1 for o in expected.values() if o == "D1ND")
    say(f"stage {stage_id} running: the head-end systems reported {len(expected) - silent} of "
        f"{len(expected)} device(s)")  # fmt: skip

    # 5. The stage ends; its outcomes go to cpm and analytics.
    async def outcome_file() -> dict[str, Any] | None:
        found = await api.get("/derms/api/v1/outcome-files", {"eventId": event_id})
        done = [f for f in found if f["state"] in ("Acknowledged", "Failed")]
        return done[0] if done else None

    sent = await wait(outcome_file, "the outcome file's acknowledgement", on_sample)

    async def analytics_took() -> dict[str, Any] | None:
        found = await api.get("/analytics/api/v1/outcome-files")
        items = found["items"] if isinstance(found, dict) else found
        done = [f for f in items if f["name"] == sent["fileName"] and f["state"] == "Acked"]
        return done[0] if done else None

    taken = await wait(analytics_took, "analytics' intake of the outcome file", on_sample)
    final = await participations()
    in_cpm = {p["nicId"]: (p["state"], p["outcome"]) for p in final}
    reservations = await api.get(f"/derms/api/v1/stages/{stage_id}/reservations",
                                 {"limit": "5000"})  # fmt: skip
    in_derms = {r["nicId"]: (r["state"], r["reason"], r["outcome"]) for r in reservations["items"]}
    opted = chosen["nicId"]
    checks = {
        "the event was generated, approved and scheduled with its stage reserved": decided["event"][
            "state"
        ]
        == "Scheduled"
        and len(reserved) == stage["deviceCount"],
        "every reservation file reached cpm": all(f["state"] == "Acknowledged" for f in delta),
        "the opted-out device's reservation was released (OPT_OUT)": in_derms.get(opted)
        == ("Released", "OPT_OUT", None),
        "the stage was backfilled after the opt-out": len(final) > len(reserved),
        "every reported or silent device has its outcome in DERMS": all(
            in_derms.get(nic, ("", "", ""))[2] == outcome for nic, outcome in expected.items()
        ),
        "cpm recorded every outcome, the opt-out stayed OptedOut": in_cpm.get(opted)
        == ("OptedOut", None)
        and all(in_cpm.get(nic) == ("OutcomeRecorded", o) for nic, o in expected.items()),
        "the outcome file was acknowledged by cpm and taken by analytics": sent["state"]
        == "Acknowledged"
        and taken["accepted"] == sent["rows"]
        and taken["rejected"] == 0,
    }
    return {
        "event": event_id,
        "stage": stage_id,
        "window": [start.isoformat(), end.isoformat()],
        "planned": stage["deviceCount"],
        "participations": len(final),
        "opted_out": opted,
        "review": [f"{a['action']}: {a['detail']}" for a in review],
        "reservation_files": len(delta),
        "head_end_rows": intake["files"][0]["rows"] if intake["files"] else 0,
        "outcomes": dict(sorted(_count(o for _, _, o in in_derms.values() if o).items())),
        "outcome_file": sent["fileName"],
        "elapsed_s": round(time.perf_counter() - started, 1),
        "checks": checks,
    }


def _count(values: Any) -> dict[str, int]:
    counted: dict[str, int] = {}
    for value in values:
        counted[value] = counted.get(value, 0) + 1
    return counted


def approver_client(home: Path, base_url: str) -> HttpClient:
    """The platform's approver (the one who decides on events), from the data directory's
    credentials."""
    clients = json.loads((home / "credentials.json").read_text())["clients"]
    secret = next(c["secret"] for c in clients if c["client_id"] == "approver")
    return HttpClient(Connection(name="derlink", base_url=base_url, auth="bearer",
                                 username="approver", secret=secret, timeout_s=300))  # fmt: skip
