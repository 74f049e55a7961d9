"""Poison input at cpm's HTTP edge: refused with 422 naming the field, never a 500, nothing
stored (docs/contracts/README.md, "Limits of a JSON body")."""

from __future__ import annotations

from typing import Any

import pytest
from cpm_harness import API, Cpm
from tests.support.poison import POISON, expect_refused, with_poison


def post_raw(cpm: Cpm, path: str, raw: bytes, client: str = "operator") -> Any:
    headers = {**cpm.headers(client), "content-type": "application/json"}
    return cpm.http.post(API + path, content=raw, headers=headers)


@pytest.mark.parametrize("case", POISON)
@pytest.mark.parametrize(
    ("where", "field"),
    [
        (("customerInfo", "name"), "customerInfo.name"),
        (("assetInfo", "assetList", 0, "sequence"), "assetInfo.assetList[0].sequence"),
    ],
)
def test_poison_in_an_enrollment_request_is_refused_naming_the_field(
    seeded: Cpm, case: str, where: tuple[str | int, ...], field: str
) -> None:
    text, message = POISON[case]
    answer = post_raw(seeded, "/enrollments", with_poison(seeded.request(), where, text))
    expect_refused(answer, field, message)
    assert seeded.outbox_messages() == []


@pytest.mark.parametrize("case", POISON)
def test_poison_in_a_collection_is_refused_naming_the_record(seeded: Cpm, case: str) -> None:
    text, message = POISON[case]
    body = {"requests": [seeded.request("REQ-1"), seeded.request("REQ-2")]}
    raw = with_poison(body, ("requests", 1, "customerInfo", "name"), text)
    answer = post_raw(seeded, "/enrollments/collection", raw, client="hub")
    expect_refused(answer, "requests[1].customerInfo.name", message)
    assert seeded.outbox_messages() == []


@pytest.mark.parametrize("case", POISON)
def test_poison_in_acknowledgements_is_refused_naming_the_field(seeded: Cpm, case: str) -> None:
    """The acknowledgements route parses its body itself, with pydantic's JSON parser."""
    created = seeded.enroll()
    text, message = POISON[case]
    ack = {
        "syncRequestId": created["syncRequestId"],
        "hasError": True,
        "exceptionInfo": [{"messageCategory": "11", "messageParameters": ["x"]}],
    }
    where = ("acknowledgements", 0, "exceptionInfo", 0, "messageParameters", 0)
    raw = with_poison({"acknowledgements": [ack]}, where, text)
    answer = post_raw(seeded, "/sync-requests/acknowledgements", raw, client="hub")
    expect_refused(answer, "acknowledgements[0].exceptionInfo[0].messageParameters[0]", message)
    assert seeded.sync_state(created["syncRequestId"]) == "Pending"
