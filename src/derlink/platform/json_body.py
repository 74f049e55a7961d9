"""JSON request bodies at the web edge: decoded once, within limits, off the event loop when large.

A body is refused (422, naming the field) when it is not UTF-8, is not JSON, or holds what no
part can store or pass on:

- nesting deeper than ``MAX_DEPTH`` levels (derlink's contracts nest a handful of levels; the
  JSON writer every part uses stops at 254, so a deeper value would fail later, as a 500);
- an integer outside the signed 64-bit range (no database column holds it);
- a number that is not finite (``NaN``, ``Infinity``, ``1e999``);
- a string with a lone surrogate (``"\\ud800"``), which is not Unicode text and cannot be written
  as UTF-8;
- a string with a NUL character (``"\\u0000"``), which PostgreSQL cannot store in text.

Integer fields with a narrower column bound themselves in their part's wire schema
(``Field(ge=…, le=…)``). Bodies over ``OFFLOAD_BYTES`` are decoded and validated on a worker
thread, so that one large body does not hold up every other request of the process.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

#: The deepest nesting a body may have; the outermost object or array is level 1.
MAX_DEPTH = 64
#: Bodies larger than this are decoded on a worker thread rather than on the event loop.
OFFLOAD_BYTES = 256 * 1024

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

#: A ``\\u`` escape of a UTF-16 surrogate or of NUL: only a body with one can hold a string
#: that no part can store (a lone surrogate, a NUL character).
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")
#: Every digit as "0", every other byte as a space: a body holds an integer beyond 64 bits only
#: if it holds a run of 19 digits (a byte table and a substring search, not a regex, for speed).
_DIGITS_ONLY = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_NINETEEN_DIGITS = b"0" * 19

M = TypeVar("M", bound=BaseModel)


class _Unfit:
    """A number the decoder met that no part can hold, kept where it was for the error."""

    __slots__ = ("kind", "text")

    def __init__(self, text: str, kind: str) -> None:
        self.text = text
        self.kind = kind


def _parse_int(text: str) -> int | _Unfit:
    if len(text) < 19:  # at most 18 digits and a sign: always within 64 bits
        return int(text)
    if len(text) > 20:
        return _Unfit(text, "int")
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else _Unfit(text, "int")


def _parse_float(text: str) -> float | _Unfit:
    value = float(text)
    return value if math.isfinite(value) else _Unfit(text, "float")


def _parse_constant(text: str) -> _Unfit:
    return _Unfit(text, "float")


def _refuse(loc: tuple[str | int, ...], message: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", *loc), "msg": message, "type": kind}])


def decode(raw: bytes) -> Any:
    """The JSON value of a request body, or ``RequestValidationError`` naming what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse((), f"not UTF-8 (byte {exc.start})", "json_invalid") from None
    try:
        value = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as exc:
        message = f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise _refuse((), message, "json_invalid") from None
    except RecursionError:
        raise _refuse((), f"nested deeper than {MAX_DEPTH} levels", "json_too_deep") from None
    strings = _UNSTORABLE_ESCAPE.search(raw) is not None
    if not _fits(value, strings):
        found = _first_unfit(value, (), 1, strings)
        raise _refuse(*(found or ((), "holds a value no part can store", "value_error")))
    return value


async def decode_body(raw: bytes) -> Any:
    """``decode``, on a worker thread when the body is large."""
    if len(raw) > OFFLOAD_BYTES:
        return await asyncio.to_thread(decode, raw)
    return decode(raw)


def validate(model: type[M], raw: bytes) -> M:
    """A body validated by ``model`` in one pass of pydantic's JSON parser, within the same
    limits as ``decode``; errors as FastAPI's 422, field paths under body.

    Pydantic's parser refuses lone surrogates and nesting over 200 levels by position only,
    and takes integers of any size into untyped fields: such a body is decoded once more to
    name the field.
    """
    if _NINETEEN_DIGITS in raw.translate(_DIGITS_ONLY) or b"\\u0000" in raw:
        decode(raw)  # refuses an integer beyond 64 bits, or a NUL character, by its field
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors()
        if any(e["type"] == "json_invalid" for e in errors):
            decode(raw)  # a lone surrogate, nesting or bad UTF-8, named by its field
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


async def validate_body(model: type[M], raw: bytes) -> M:
    """``validate``, on a worker thread when the body is large."""
    if len(raw) > OFFLOAD_BYTES:
        return await asyncio.to_thread(validate, model, raw)
    return validate(model, raw)


def _lone_surrogate(text: str) -> bool:
    """Whether ``text`` cannot be stored: it holds a lone surrogate or a NUL character."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _fits(value: Any, strings: bool) -> bool:
    """Whether a decoded body is within the limits: one pass, without keeping paths."""
    kind = type(value)
    if kind is not dict and kind is not list:
        return not (kind is _Unfit or (strings and kind is str and _lone_surrogate(value)))
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if type(node) is dict:
            if strings and any(_lone_surrogate(k) for k in node):
                return False
            children = node.values()
        else:
            children = node
        for child in children:
            kind = type(child)
            if kind is dict or kind is list:
                if depth >= MAX_DEPTH:
                    return False
                stack.append((child, depth + 1))
            elif kind is _Unfit or (strings and kind is str and _lone_surrogate(child)):
                return False
    return True


def _first_unfit(
    value: Any, loc: tuple[str | int, ...], depth: int, strings: bool
) -> tuple[tuple[str | int, ...], str, str] | None:
    """Where the first value beyond the limits is, what is wrong with it, and its error type
    (depth first, in the body's order; the recursion stops at ``MAX_DEPTH``)."""
    here = _unfit_here(value, loc, depth, strings)
    if here is not None:
        return here
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, child in items:
        found = _first_unfit(child, (*loc, key), depth + 1, strings)
        if found is not None:
            return found
    return None


def _unfit_here(
    value: Any, loc: tuple[str | int, ...], depth: int, strings: bool
) -> tuple[tuple[str | int, ...], str, str] | None:
    if isinstance(value, dict | list):
        if depth > MAX_DEPTH:
            return loc, f"nested deeper than {MAX_DEPTH} levels", "json_too_deep"
        if isinstance(value, dict) and strings:
            for key in value:
                if _lone_surrogate(key):
                    return loc, f"the key {_shown(key)} {_unstorable(key)}", "string_unicode"
        return None
    if isinstance(value, _Unfit):
        text = (
            value.text if len(value.text) <= 40 else f"{value.text[:20]}… ({len(value.text)} chars)"
        )
        if value.kind == "int":
            return loc, f"integer {text} is outside the signed 64-bit range", "int_out_of_range"
        return loc, f"number {text} is not finite", "finite_number"
    if strings and isinstance(value, str) and _lone_surrogate(value):
        return loc, f"the string {_shown(value)} {_unstorable(value)}", "string_unicode"
    return None


def _unstorable(text: str) -> str:
    if "\x00" in text:
        return "holds a NUL character (\\u0000), which derlink does not accept"
    return "holds a lone surrogate"


def _shown(text: str) -> str:
    """A string for an error message, its surrogates escaped, cut at 40 characters."""
    shown = text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode()
    return '"' + shown[:40] + '"'
