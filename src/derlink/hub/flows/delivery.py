"""Delivering records to a target that takes them as collections or one call per record.

derlink's cpm takes many records in one collection call and answers one result per record,
each record still handled as its own single-record operation there; a target that only offers
Oracle's single-record services takes one call per record and refuses a record with a 4xx
problem. :func:`deliver` hides the difference: one result per record, in order, and a record
the target refused is a result with outcome ``Rejected``, its code and detail read one way
whatever the mode. :func:`record_error` turns such a result into the flow's record error (a
business fault of that record only).

Also here, because two flows deliver them (ENR-ACK and OUAI-ENR-ACK): cpm's
update-and-transition of sync requests, :func:`acknowledge`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

from derlink.common.errors import BusinessFault, TechnicalFault
from derlink.hub.connections import Targets
from derlink.hub.model import FlowOutcome, RecordError

Record = dict[str, Any]
#: One collection call: the records in, one result per record out, in order.
Collection = Callable[[list[Record]], Awaitable[list[Record]]]
#: One single-record call: the record in, its result out.
Single = Callable[[Record], Awaitable[Record]]

#: The outcome of a record the target refused on business grounds.
REJECTED = "Rejected"
#: The outcome of a record the target already had: suppressed, not an error.
DUPLICATE = "Duplicate"
#: The code of a refused record whose target named none.
NO_CODE = "CPM-REJECTED"
#: Single-record calls under way at once, per delivery.
SINGLE_CALL_CONCURRENCY = 16
#: The most acknowledgements one collection call to cpm carries.
ACKNOWLEDGEMENTS_PER_CALL = 5000


async def deliver(
    records: Sequence[Record],
    *,
    mode: Literal["collection", "single"],
    collection: Collection,
    single: Single,
    chunk: int,
    key: str,
    concurrency: int = SINGLE_CALL_CONCURRENCY,
) -> list[Record]:
    """One result per record, in order: by ``collection`` calls of at most ``chunk`` records,
    or by one ``single`` call per record (at most ``concurrency`` at once).

    A record refused in a single call (a BusinessFault, 4xx) becomes a ``Rejected`` result
    carrying the record's ``key`` field (see :func:`refusal`). Any other fault of any call —
    a remote one above all — fails the whole delivery, so that the step is retried whole:
    the targets are idempotent, and records that went through answer the same again.
    """
    if mode == "collection":
        results: list[Record] = []
        for start in range(0, len(records), chunk):
            part = list(records[start : start + chunk])
            answered = await collection(part)
            if len(answered) != len(part):
                raise TechnicalFault(
                    f"the target answered {len(answered)} results for {len(part)} records"
                )
            results += answered
        return results
    gate = asyncio.Semaphore(concurrency)

    async def one(record: Record) -> Record:
        async with gate:
            try:
                return await single(record)
            except BusinessFault as fault:
                return refusal(key, record[key], fault)

    return list(await asyncio.gather(*(one(r) for r in records)))


def refusal(key: str, value: str, fault: BusinessFault) -> Record:
    """The result of a record a single-record target refused.

    Its code is the problem's ``code``, else Oracle's ``messageNumber``, else ``HTTP-<status>``;
    its detail the problem's ``detail``, else the fault's message. The problem's other fields
    stay on the result: a flow may read more of the answer (ENR-REQ reads the enrollment id of
    a request that already exists).
    """
    body: Mapping[str, Any] = fault.body if isinstance(fault.body, dict) else {}
    return {
        **body,
        key: value,
        "outcome": REJECTED,
        "code": str(body.get("code") or body.get("messageNumber") or f"HTTP-{fault.status}"),
        "detail": str(body.get("detail") or fault.message),
    }


def rejected(result: Mapping[str, Any]) -> bool:
    """Whether the target refused the record of this result (on business grounds)."""
    return result.get("outcome") == REJECTED


def record_error(result: Mapping[str, Any], key: str, *, about: str = "") -> RecordError:
    """The record error of a refused record's result: the target's code (``CPM-REJECTED``
    only where it named none) and its detail, after ``about: `` when given."""
    detail = str(result.get("detail") or "")
    return RecordError(
        key, str(result.get("code") or NO_CODE), f"{about}: {detail}" if about else detail
    )


def results_outcome(results: Sequence[Mapping[str, Any]], key: str) -> FlowOutcome:
    """A flow's outcome from one result per record: each refused record a record error under
    its ``key`` field, each one the target already had counted in ``duplicates``."""
    errors = [record_error(r, str(r[key])) for r in results if rejected(r)]
    return FlowOutcome(
        processed=len(results),
        succeeded=len(results) - len(errors),
        errors=errors,
        notes={"duplicates": sum(1 for r in results if r.get("outcome") == DUPLICATE)},
    )


async def acknowledge(targets: Targets, acknowledgements: list[Record]) -> list[Record]:
    """cpm's update-and-transition for each acknowledgement (postAcknowledgement), one result
    each, in order: as collections to derlink's cpm, one call per record to a target that only
    takes single records. cpm answers a second ack of a sync request ``Duplicate``."""

    async def collection(part: list[Record]) -> list[Record]:
        body = await targets.cpm.post(
            "/api/v1/sync-requests/acknowledgements", {"acknowledgements": part}
        )
        results: list[Record] = body["results"]
        return results

    async def single(ack: Record) -> Record:
        result: Record = await targets.cpm.post(
            f"/api/v1/sync-requests/{ack['syncRequestId']}/update-and-transition", ack
        )
        return result

    return await deliver(
        acknowledgements,
        mode=targets.cpm_mode,
        collection=collection,
        single=single,
        chunk=ACKNOWLEDGEMENTS_PER_CALL,
        key="syncRequestId",
    )
