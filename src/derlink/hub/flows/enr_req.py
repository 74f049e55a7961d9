"""ENR-REQ — Enrollment Request: DERMS (or any external system) → cpm enroll.

DERMS sends a batch of enrollment requests. The hub maps each asset's specification through the
AssetSpec lookup (``MAKE!MODEL``) and its type through AssetType (a value a lookup does not hold
fails that request), then calls cpm's enroll once per request; fields of a request cpm does not
know are ignored there, and counted by name in the instance's outcome (``ignoredFields``). It
carries on past
business failures: a refused request is recorded and the others go on. An enrollment request
that already exists (Oracle message number 10589) counts as success, with the enrollment id
cpm returns — so a retried chunk, a resubmit or a re-delivered batch has no second effect.
At the end one collection MsgAck goes back to DERMS: SUCCESS, or ERROR naming each refused
request; after a technical or remote failure of the whole message, a FAILURE ack.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, ClassVar

from derlink.common.clock import Clock
from derlink.common.errors import Fault
from derlink.contracts.acks import ALREADY_EXISTS, AckType
from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.connections import Targets
from derlink.hub.flows.delivery import deliver, record_error, rejected
from derlink.hub.model import (
    FlowOutcome,
    RecordError,
    fill_specifications,
    map_asset_types,
    msg_ack,
    results_ack,
)
from derlink.hub.ports import LookupTables
from derlink.hub.runtime.port import FlowContext

#: Requests per durable step (and per collection call to derlink's cpm). A remote fault on
#: any request fails its step, which is retried whole: requests that already went through
#: come back as 10589 (or Exists) and count as success.
CHUNK = 100


class EnrollmentRequestFlow:
    spec: ClassVar[FlowSpec] = FLOWS["ENR-REQ"]

    def __init__(self, targets: Targets, lookups: LookupTables, clock: Clock) -> None:
        self.targets = targets
        self.lookups = lookups
        self.clock = clock

    def keys(self, record: dict[str, Any]) -> list[tuple[str, str]]:
        return [
            ("messageId", record["messageId"]),
            ("accountId", record["customerInfo"]["cisAccountId"]),
            ("servicePointId", record["locationInfo"]["cisServicePointId"]),
        ]

    async def run(self, ctx: FlowContext, message: dict[str, Any]) -> FlowOutcome:
        requests: list[dict[str, Any]] = message["requests"]
        mapped, mapping_errors = await ctx.step("map-asset-spec", self._map, requests)
        results: list[dict[str, Any]] = [
            {"messageId": e["key"], "ok": False, "code": e["code"], "message": e["message"]}
            for e in mapping_errors
        ]
        for start in range(0, len(mapped), CHUNK):
            chunk = mapped[start : start + CHUNK]
            results += await ctx.step(f"enroll-{start // CHUNK + 1}", self._enroll_chunk, chunk)
        errors = [
            RecordError(r["messageId"], r["code"], r["message"]) for r in results if not r["ok"]
        ]
        await ctx.step("ack-derms", self._ack_results, message["batchId"], results)
        notes: dict[str, Any] = {"alreadyExisted": sum(1 for r in results if r.get("existed"))}
        ignored = Counter(name for r in results for name in r.get("ignored", ()))
        if ignored:
            notes["ignoredFields"] = dict(ignored)
        return FlowOutcome(
            processed=len(results),
            succeeded=len(results) - len(errors),
            errors=errors,
            notes=notes,
        )

    async def _map(
        self, requests: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        asset_spec = await asyncio.to_thread(self.lookups.table, "AssetSpec")
        asset_types = await asyncio.to_thread(self.lookups.table, "AssetType")
        mapped: list[dict[str, Any]] = []
        errors: list[dict[str, str]] = []
        for request in requests:
            filled, error = fill_specifications(request, asset_spec)
            if error is None:
                filled, error = map_asset_types(filled, asset_types)
            if error is None:
                mapped.append(filled)
            else:
                errors.append(error.to_dict())
        return mapped, errors

    async def _enroll_chunk(self, chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
        results = await deliver(
            chunk,
            mode=self.targets.cpm_mode,
            collection=self._enroll_collection,
            single=self._enroll_one,
            chunk=CHUNK,
            key="messageId",
        )
        return [_enrolled(r) for r in results]

    async def _enroll_collection(self, chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """derlink's cpm: the chunk in one call, each request enrolled on its own there."""
        body = await self.targets.cpm.post("/api/v1/enrollments/collection", {"requests": chunk})
        results: list[dict[str, Any]] = body["results"]
        return results

    async def _enroll_one(self, request: dict[str, Any]) -> dict[str, Any]:
        """A target with Oracle's single-record enroll: one call per request."""
        message_id = request["messageId"]
        body = await self.targets.cpm.post(
            "/api/v1/enrollments", request, idempotency_key=message_id
        )
        return {
            "messageId": message_id,
            "outcome": "Created",
            "enrollmentId": body["enrollmentId"],
            "ignoredFields": body.get("ignoredFields"),
        }

    async def _ack_results(self, batch_id: str, results: list[dict[str, Any]]) -> None:
        await self._ack(batch_id, results_ack(results, self.clock.now(), answer="enrollmentId"))

    async def _failure_ack(self, batch_id: str, message_ids: list[str], reason: str) -> None:
        ack = msg_ack(
            AckType.FAILURE,
            self.clock.now(),
            [
                {"id": m, "dacsMessageId": m, "value": reason[:500], "responseCode": "FAILURE"}
                for m in message_ids
            ],
        )
        await self._ack(batch_id, ack)

    async def _ack(self, batch_id: str, ack: dict[str, Any]) -> None:
        await self.targets.derms.post(
            "/api/v1/acks/enrollment-requests", ack, idempotency_key=f"ENR-REQ-ACK-{batch_id}"
        )

    async def on_fault(self, ctx: FlowContext, message: dict[str, Any], fault: Fault) -> None:
        message_ids = [r["messageId"] for r in message["requests"]]
        await ctx.step(
            "failure-ack-derms", self._failure_ack, message["batchId"], message_ids, fault.message
        )


def _enrolled(result: dict[str, Any]) -> dict[str, Any]:
    """One request's result as the enroll step keeps it: ok with its enrollment id and the
    fields cpm ignored, or the code and message of its refusal."""
    message_id = result["messageId"]
    outcome = result["outcome"]
    if outcome in ("Created", "Exists"):
        return {
            "messageId": message_id,
            "ok": True,
            "existed": outcome == "Exists",
            "enrollmentId": result["enrollmentId"],
            "ignored": [str(name) for name in result.get("ignoredFields") or ()],
        }
    # An enrollment request that already exists (10589) counts as success.
    if rejected(result) and ALREADY_EXISTS in (
        str(result.get("code")),
        str(result.get("messageNumber")),
    ):
        return {
            "messageId": message_id,
            "ok": True,
            "existed": True,
            "enrollmentId": str(result.get("enrollmentId", "")),
        }
    error = record_error(result, message_id)
    return {"messageId": message_id, "ok": False, "code": error.code, "message": error.message}
