"""NET-LOC's wire schemas in cpm, named by direction (``...Read`` goes out)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from derlink.platform.openapi import example_of, model_example

LOCATION_EXAMPLE = {
    "transformerId": "T-0042",
    "feederId": "F-07",
    "substationId": "S-NORTH",
    "effectiveFrom": "2026-01-01",
    "effectiveTo": None,
}


class NetworkLocationRead(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of(LOCATION_EXAMPLE))

    transformerId: str
    feederId: str
    substationId: str
    effectiveFrom: str
    #: Exclusive; null while open.
    effectiveTo: str | None


class NetworkLocationsRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {"cisServicePointId": "SP-000123", "locations": [LOCATION_EXAMPLE]}
        )
    )

    cisServicePointId: str
    #: Oldest first.
    locations: list[NetworkLocationRead]


class NetLocFileRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "name": "NETLOC_20260701T020000Z.csv",
                "state": "Acked",
                "rows": 12,
                "accepted": 12,
                "rejected": 0,
                "ackFile": "NETLOC_ACK_NETLOC_20260701T020000Z.csv",
                "renamedTo": "Acked-NETLOC_20260701T020000Z.csv",
                "error": None,
            }
        )
    )

    name: str
    state: str
    rows: int
    accepted: int
    rejected: int
    ackFile: str | None
    renamedTo: str | None
    error: str | None


class NetLocIntakeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"files": [model_example(NetLocFileRead)]})
    )

    files: list[NetLocFileRead]
