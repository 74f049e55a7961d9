"""The limits of a JSON request body (platform/json_body.py): where each refusal points, and
what stays accepted right at each limit."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict

from derlink.platform import json_body


def refusal(raw: bytes) -> tuple[tuple[Any, ...], str, str]:
    with pytest.raises(RequestValidationError) as caught:
        json_body.decode(raw)
    (error,) = caught.value.errors()
    return tuple(error["loc"]), error["msg"], error["type"]


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_nesting_up_to_the_limit_is_taken_and_one_level_more_is_refused_where_it_starts():
    deepest: list[Any] = []
    for _ in range(json_body.MAX_DEPTH - 1):
        deepest = [deepest]
    assert json_body.decode(nested(json_body.MAX_DEPTH)) == deepest
    # The object is level 1, "a" level 2, "b" level 3: the 65th level is 62 arrays further in.
    loc, message, kind = refusal(b'{"a": {"b": ' + nested(json_body.MAX_DEPTH - 1) + b"}}")
    assert loc == ("body", "a", "b", *[0] * (json_body.MAX_DEPTH - 2))
    assert (message, kind) == ("nested deeper than 64 levels", "json_too_deep")


def test_nesting_deeper_than_the_parser_can_follow_is_refused_too():
    assert refusal(nested(100_000)) == (("body",), "nested deeper than 64 levels", "json_too_deep")


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63)])
def test_the_signed_64_bit_range_is_taken_whole(value: int):
    assert json_body.decode(b'{"n": %d}' % value) == {"n": value}


@pytest.mark.parametrize(
    "text",
    [str(2**63), str(-(2**63) - 1), str(2**64), "1" + "0" * 400, "-" + "9" * 5000],
    ids=["2^63", "-2^63-1", "2^64", "10^400", "5000 digits"],
)
def test_an_integer_outside_the_signed_64_bit_range_is_refused_by_its_field(text: str):
    loc, message, kind = refusal(b'{"a": [1, {"n": %s}]}' % text.encode())
    assert loc == ("body", "a", 1, "n")
    assert kind == "int_out_of_range"
    assert "outside the signed 64-bit range" in message
    assert len(message) < 120  # a number of 5,000 digits is shown cut


@pytest.mark.parametrize("text", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_a_number_that_is_not_finite_is_refused_by_its_field(text: bytes):
    loc, message, kind = refusal(b'{"x": [' + text + b"]}")
    assert (loc, kind) == (("body", "x", 0), "finite_number")
    assert message == f"number {text.decode()} is not finite"


def test_a_lone_surrogate_is_refused_by_its_field_and_a_pair_is_taken():
    assert json_body.decode(b'{"x": "\\ud83d\\ude00"}') == {"x": "\U0001f600"}
    assert refusal(b'{"x": ["ok", "a\\udc00b"]}') == (
        ("body", "x", 1),
        'the string "a\\udc00b" holds a lone surrogate',
        "string_unicode",
    )


def test_a_key_with_a_lone_surrogate_is_refused_at_its_object():
    loc, message, kind = refusal(b'{"o": {"\\ud800": 1}}')
    assert (loc, kind) == (("body", "o"), "string_unicode")
    assert message == 'the key "\\ud800" holds a lone surrogate'


@pytest.mark.parametrize("raw", [b'{"x": "\xed\xa0\x80"}', b'{"x": "\xff"}', b"\xff\xfe{\x00}\x00"])
def test_a_body_that_is_not_utf8_is_refused(raw: bytes):
    loc, message, kind = refusal(raw)
    assert (loc, kind) == (("body",), "json_invalid")
    assert message.startswith("not UTF-8")


def test_malformed_json_is_refused_with_its_place():
    loc, message, kind = refusal(b'{"a": 1,}')
    assert (loc, kind) == (("body",), "json_invalid")
    assert message.startswith("not valid JSON:") and "line 1 column 9" in message


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str


@pytest.mark.parametrize(
    ("raw", "loc", "kind"),
    [
        (b'{"name": "a", "more": [%d]}' % 2**64, ("body", "more", 0), "int_out_of_range"),
        (b'{"name": "\\ud800"}', ("body", "name"), "string_unicode"),
        (b'{"name": "a", "more": ' + nested(300) + b"}", ("body", "more"), "json_too_deep"),
    ],
)
def test_validation_by_a_model_refuses_the_same_by_field(
    raw: bytes, loc: tuple[Any, ...], kind: str
):
    """pydantic's JSON parser takes any integer into an untyped field, and names a lone
    surrogate or deep nesting by position only."""
    with pytest.raises(RequestValidationError) as caught:
        json_body.validate(Open, raw)
    (error,) = caught.value.errors()
    assert tuple(error["loc"][: len(loc)]) == loc
    assert error["type"] == kind


def test_validation_by_a_model_names_a_wrong_field_under_body():
    with pytest.raises(RequestValidationError) as caught:
        json_body.validate(Open, b'{"name": 3}')
    assert [e["loc"] for e in caught.value.errors()] == [("body", "name")]
    assert json_body.validate(Open, b'{"name": "a", "n": 12}').model_extra == {"n": 12}
