"""analytics' wire schemas for the enrollment intake, named by direction (``...Read`` goes out).

Field names are the ones the rest of derlink uses on the wire (camelCase, as cpm's extract
columns); ``api.py`` fills them from the intake's summaries and the service's rows.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from derlink.analytics.intakes import FileRead
from derlink.contracts import examples
from derlink.platform.intake import schemas as intake
from derlink.platform.intake.schemas import summary_example
from derlink.platform.openapi import example_of, model_example


class HealthRead(BaseModel):
    model_config = ConfigDict(json_schema_extra=example_of({"status": "UP"}))

    status: str


class FileSummaryRead(intake.FileSummaryRead):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            summary_example(examples.EXTRACT_FILE, "ENROLL_ACK_" + examples.EXTRACT_FILE, 1)
        )
    )


class IntakeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"files": [model_example(FileSummaryRead)]})
    )

    files: list[FileSummaryRead]


class EnrollmentFileRead(FileRead):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "fileId": 1,
                **model_example(FileSummaryRead),
                "checksum": "9f2c41d0b7a3e5f8",
                "size": 412,
                "receivedAt": "2026-06-01T19:01:02.101000+00:00",
                "finishedAt": "2026-06-01T19:01:02.330000+00:00",
                "attempts": 1,
            }
        )
    )


class SubscriptionRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "subscriptionId": "E-01a2410e1d7c89c57ddc9d54e0",
                "syncRequestId": "SR-01a2410e3dd5a07c29d1e3b7f0",
                "programId": "PG-01a2410e1d4a070bfccdadc212",
                "programCode": "BYOT-SUMMER",
                "cisAccountId": "A1",
                "cisPersonId": "P1",
                "servicePointId": "SPX-01a2410e1d79d64b4ff06ea7c3",
                "cisServicePointId": "SP1",
                "cisPremiseId": "PR1",
                "division": "CA",
                "subscriptionType": "DR",
                "status": "Active",
                "startDateTimeISO": "2026-06-01T00:00:00-07:00",
                "endDateTimeISO": "2026-10-01T00:00:00-07:00",
                "version": 2,
                "updatedAt": "2026-06-01T19:01:02.310000+00:00",
                "sourceFile": examples.EXTRACT_FILE,
            }
        )
    )

    subscriptionId: str
    syncRequestId: str
    programId: str
    programCode: str
    cisAccountId: str
    cisPersonId: str
    servicePointId: str
    cisServicePointId: str
    cisPremiseId: str
    division: str
    subscriptionType: str
    status: str
    startDateTimeISO: str
    endDateTimeISO: str | None
    version: int
    updatedAt: str
    sourceFile: str


class SubscriptionPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [model_example(SubscriptionRead)], "next": None})
    )

    items: list[SubscriptionRead]
    #: The ``after`` of the next page; None on the last one.
    next: str | None
