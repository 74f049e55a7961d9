"""Poison input for the parts' HTTP edges: JSON that no part can hold, put into a valid body
(docs/contracts/README.md, "Limits of a JSON body")."""

from __future__ import annotations

import json
from typing import Any

#: Each case: the JSON text, as it appears in the body, and what the 422 says about it.
POISON = {
    "nested 300 deep": ("[" * 300 + "]" * 300, "nested deeper than 64 levels"),
    "a lone surrogate": ('"\\ud800"', "lone surrogate"),
    "an integer of 2^64": (str(2**64), "outside the signed 64-bit range"),
    "an integer of 2^63": (str(2**63), "outside the signed 64-bit range"),
}

_MARK = "\x00POISON\x00"


def with_poison(body: Any, where: tuple[str | int, ...], text: str) -> bytes:
    """``body`` as JSON text with ``text`` put, as it is, at the path ``where``."""
    node = body
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = _MARK
    return json.dumps(body).replace(json.dumps(_MARK), text).encode()


def expect_refused(answer: Any, field: str, message: str) -> None:
    """A 422 problem naming one error, at ``field`` (or inside it), that says ``message``."""
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    (error,) = answer.json()["errors"]
    assert error["field"].startswith(field), error
    assert message in error["message"], error
