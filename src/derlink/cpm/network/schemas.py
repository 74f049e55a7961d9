"""NET-LOC's wire schemas in cpm, named by direction (``...Read`` goes out)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from derlink.platform.intake.schemas import FileSummaryRead, summary_example
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


class NetLocFileRead(FileSummaryRead):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            summary_example(
                "NETLOC_20260701T020000Z.csv", "NETLOC_ACK_NETLOC_20260701T020000Z.csv", 12
            )
        )
    )


class NetLocIntakeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"files": [model_example(NetLocFileRead)]})
    )

    files: list[NetLocFileRead]
