"""cpm's wire conventions, shared by its features' schemas, with the Oracle field names
(SPEC §2.3, docs/contracts/enrollment.md).

Named by direction: ``...Create`` comes in, ``...Read`` goes out. Incoming blocks forbid
unknown fields, so a misspelt field answers 422 naming it; Oracle's optional text fields may be
absent or null and read as "".
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints


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


class Out(BaseModel):
    pass


class HealthRead(Out):
    status: str
