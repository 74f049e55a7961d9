"""Delivery to a target in collection or single-record mode: one result per record, in order,
and a refused record read one way whatever the mode."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from derlink.common.errors import BusinessFault, RemoteFault, TechnicalFault
from derlink.hub.flows.delivery import deliver, record_error, refusal, rejected

Record = dict[str, Any]


class FakeTarget:
    """Answers collections and single calls, refusing the records listed in ``refuse``."""

    def __init__(self, refuse: dict[str, BusinessFault | RemoteFault] | None = None) -> None:
        self.refuse = refuse or {}
        self.collections: list[list[str]] = []
        self.singles: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def collection(self, records: list[Record]) -> list[Record]:
        self.collections.append([r["id"] for r in records])
        return [{"id": r["id"], "outcome": "Done"} for r in records]

    async def single(self, record: Record) -> Record:
        self.singles.append(record["id"])
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            # Later records answer sooner: the order of the results must not follow them.
            await asyncio.sleep(0.001 * (100 - int(record["id"][1:])) / 100)
            if record["id"] in self.refuse:
                raise self.refuse[record["id"]]
            return {"id": record["id"], "outcome": "Done"}
        finally:
            self.in_flight -= 1


def records(n: int) -> list[Record]:
    return [{"id": f"R{i}"} for i in range(n)]


async def send(target: FakeTarget, mode: str, items: list[Record], **kw: Any) -> list[Record]:
    return await deliver(
        items,
        mode=mode,  # type: ignore[arg-type]
        collection=target.collection,
        single=target.single,
        chunk=kw.pop("chunk", 4),
        key="id",
        **kw,
    )


async def test_collections_carry_at_most_a_chunk_and_answer_in_order():
    target = FakeTarget()
    results = await send(target, "collection", records(10), chunk=4)
    assert target.collections == [
        ["R0", "R1", "R2", "R3"],
        ["R4", "R5", "R6", "R7"],
        ["R8", "R9"],
    ]
    assert [r["id"] for r in results] == [f"R{i}" for i in range(10)]
    assert target.singles == []


async def test_a_collection_answering_another_number_of_results_is_a_technical_fault():
    target = FakeTarget()

    async def short(items: list[Record]) -> list[Record]:
        return (await target.collection(items))[:-1]

    with pytest.raises(TechnicalFault, match="2 results for 3 records"):
        await deliver(
            records(3), mode="collection", collection=short, single=target.single, chunk=9, key="id"
        )


async def test_single_calls_answer_in_record_order_with_bounded_concurrency():
    target = FakeTarget()
    results = await send(target, "single", records(40), concurrency=5)
    assert [r["id"] for r in results] == [f"R{i}" for i in range(40)]
    assert sorted(target.singles) == sorted(f"R{i}" for i in range(40))
    assert target.most_in_flight == 5
    assert target.collections == []


@pytest.mark.parametrize(
    ("body", "code", "detail"),
    [
        ({"code": "CPM-SYNC-UNKNOWN", "detail": "no such"}, "CPM-SYNC-UNKNOWN", "no such"),
        ({"messageNumber": 10589, "enrollmentId": "E1"}, "10589", "refused"),
        ({"title": "Unprocessable"}, "HTTP-422", "refused"),
        ("not a problem document", "HTTP-422", "refused"),
    ],
)
async def test_a_record_refused_in_a_single_call_is_a_rejected_result(
    body: Any, code: str, detail: str
):
    target = FakeTarget({"R1": BusinessFault("refused", status=422, body=body)})
    results = await send(target, "single", records(3))
    assert [rejected(r) for r in results] == [False, True, False]
    refused = results[1]
    assert (refused["id"], refused["code"], refused["detail"]) == ("R1", code, detail)
    if isinstance(body, dict):
        assert {k: refused[k] for k in body if k not in ("code", "detail")} == {
            k: v for k, v in body.items() if k not in ("code", "detail")
        }


async def test_a_remote_fault_on_any_single_call_fails_the_whole_delivery():
    target = FakeTarget({"R2": RemoteFault("cpm unreachable")})
    with pytest.raises(RemoteFault):
        await send(target, "single", records(4))


def test_a_refusal_keeps_the_problem_but_not_its_outcome_or_key():
    fault = BusinessFault(
        "x", status=409, body={"outcome": "Conflict", "id": "other", "code": "C", "extra": 1}
    )
    assert refusal("id", "R7", fault) == {
        "id": "R7",
        "outcome": "Rejected",
        "code": "C",
        "detail": "x",
        "extra": 1,
    }


def test_a_record_error_falls_back_to_cpm_rejected_only_where_the_target_named_no_code():
    named = record_error({"outcome": "Rejected", "code": "CPM-X", "detail": "why"}, "K1")
    unnamed = record_error({"outcome": "Rejected"}, "K2", about="SR2")
    assert (named.key, named.code, named.message) == ("K1", "CPM-X", "why")
    assert (unnamed.key, unnamed.code, unnamed.message) == ("K2", "CPM-REJECTED", "SR2: ")
