"""The network model's wire schemas (docs/contracts/network.md), named by direction (``...Read``
goes out). Every string taken in is no longer than its column."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from derlink.derms.db import EXT
from derlink.platform.intake.schemas import FileSummaryRead, summary_example
from derlink.platform.openapi import example_of, model_example

Key = Annotated[str, StringConstraints(min_length=1, max_length=EXT)]

VERSION_EXAMPLE = {"transformerId": "T-0042", "effectiveFrom": "2026-01-01", "effectiveTo": None}
NODE_VERSION_EXAMPLE = {
    "parentId": "F-07",
    "name": "Pole 42, Elm Street",
    "effectiveFrom": "2026-01-01",
    "effectiveTo": None,
}
TRANSFORMER_EXAMPLE = {
    "id": "T-0042",
    "kind": "TRANSFORMER",
    "name": "Pole 42, Elm Street",
    "servicePoints": 12,
    "children": [],
}
FEEDER_EXAMPLE = {
    "id": "F-07",
    "kind": "FEEDER",
    "name": "Feeder 7",
    "servicePoints": 12,
    "children": [TRANSFORMER_EXAMPLE],
}
SUBSTATION_EXAMPLE = {
    "id": "S-NORTH",
    "kind": "SUBSTATION",
    "name": "North",
    "servicePoints": 12,
    "children": [FEEDER_EXAMPLE],
}


class LocationVersion(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of(VERSION_EXAMPLE))

    transformerId: str
    effectiveFrom: str
    #: Exclusive; null while open.
    effectiveTo: str | None


class LocationHistoryRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"spId": "SP-000123", "versions": [VERSION_EXAMPLE]})
    )

    spId: str
    versions: list[LocationVersion]


class LocationWrite(BaseModel):
    """A service point under a transformer from a day on."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=example_of({"transformerId": "T-0042", "effectiveFrom": "2026-07-01"}),
    )

    transformerId: Key
    effectiveFrom: date


class LocationChangeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"spId": "SP-000123", "outcome": "inserted", "versions": [VERSION_EXAMPLE]}
        )
    )

    spId: str
    #: ``inserted``: a new version (the one before closed on its day); ``unchanged``: the
    #: service point was already there.
    outcome: Literal["inserted", "unchanged"]
    versions: list[LocationVersion]


class TreeNodeRead(BaseModel):
    """A node in force, with the service points under it (at any depth)."""

    model_config = ConfigDict(json_schema_extra=example_of(SUBSTATION_EXAMPLE))

    id: str
    kind: str
    name: str
    servicePoints: int
    children: list[TreeNodeRead]


class NetworkRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"on": "2026-07-01", "substations": [SUBSTATION_EXAMPLE]})
    )

    on: str
    substations: list[TreeNodeRead]


class NodeVersion(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of(NODE_VERSION_EXAMPLE))

    #: Blank for a substation.
    parentId: str
    name: str
    effectiveFrom: str
    effectiveTo: str | None


class NodeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "id": "T-0042",
                "kind": "TRANSFORMER",
                "versions": [NODE_VERSION_EXAMPLE],
                "on": "2026-07-01",
                "inForce": TRANSFORMER_EXAMPLE,
            }
        )
    )

    id: str
    kind: str
    versions: list[NodeVersion]
    on: str
    #: The node on ``on`` with what is under it; null when it is not in force that day.
    inForce: TreeNodeRead | None


class ModelFileRead(FileSummaryRead):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            summary_example("NETMODEL_2026-07-01.csv", "NETMODEL_ACK_NETMODEL_2026-07-01.csv", 3)
        )
    )


class ModelIntakeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"files": [model_example(ModelFileRead)]})
    )

    files: list[ModelFileRead]


class ExportRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"fileName": "NETLOC_20260701T020000Z.csv", "rows": 12, "on": "2026-07-01"}
        )
    )

    fileName: str
    rows: int
    #: The day whose locations it holds.
    on: str
