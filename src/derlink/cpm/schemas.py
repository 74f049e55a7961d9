"""cpm's wire conventions, shared by its features' schemas, with the Oracle field names
(docs/contracts/enrollment.md).

Named by direction: ``...Create`` comes in, ``...Read`` goes out. The unknown-field policy is
each schema's, by its base: derlink's own incoming blocks (``In``) forbid unknown fields, so a
misspelt field answers 422 naming it; the blocks of a shape an external system sends
(``External``: Oracle's enrollment request) ignore fields they do not know, and the whole
record names them (``ExternalRecord.ignored``). Oracle's optional text fields may be absent
or null and read as "".
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Iterator
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ModelWrapValidatorHandler,
    PrivateAttr,
    StringConstraints,
    model_validator,
)

from derlink.platform.openapi import example_of


def _blank_if_none(value: Any) -> Any:
    return "" if value is None else value


#: Optional Oracle text: absent or null reads as "" (as long as cpm's text columns).
Text = Annotated[str, BeforeValidator(_blank_if_none), StringConstraints(max_length=200)]
#: A message or comment from another system: kept whole, within reason.
Note = Annotated[str, BeforeValidator(_blank_if_none), StringConstraints(max_length=4000)]
#: A required identifier: present, not blank (as long as cpm's identifier columns).
Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class External(BaseModel):
    """A block of a shape another system defines: a field it does not know is ignored rather
    than refused, so that a record a sender added fields to is not lost."""

    model_config = ConfigDict(extra="ignore")


class ExternalRecord(External):
    """A whole record of such a shape, which names the fields it and its blocks ignored."""

    _ignored: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _note_ignored(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        record = handler(data)
        record._ignored = tuple(dict.fromkeys(_unknown(cls, data, "")))
        return record

    @property
    def ignored(self) -> tuple[str, ...]:
        """The fields ignored, each once, by dotted name (a list's items by the list's name:
        ``assetInfo.assetList.firmware``)."""
        return self._ignored


def _unknown(model: type[BaseModel], data: Any, prefix: str) -> Iterator[str]:
    """The names of the fields of ``data`` that ``model`` and its blocks do not declare (one
    walk of the record's keys; the blocks themselves are validated without a Python hook)."""
    if not isinstance(data, dict):
        return
    declared, blocks = _shape(model)
    for key, value in data.items():
        if key not in declared:
            yield f"{prefix}{key}"
        elif key in blocks:
            for item in value if isinstance(value, list) else (value,):
                yield from _unknown(blocks[key], item, f"{prefix}{key}.")


@functools.cache
def _shape(model: type[BaseModel]) -> tuple[frozenset[str], dict[str, type[External]]]:
    """The fields ``model`` declares, and those of them that hold an External block or a list
    of them."""
    blocks: dict[str, type[External]] = {}
    for name, info in model.model_fields.items():
        for kind in (info.annotation, *typing.get_args(info.annotation)):
            if isinstance(kind, type) and issubclass(kind, External):
                blocks[name] = kind
    return frozenset(model.model_fields), blocks


class Out(BaseModel):
    pass


class HealthRead(Out):
    model_config = ConfigDict(json_schema_extra=example_of({"status": "UP"}))

    status: str
