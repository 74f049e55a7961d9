"""analytics' wire schemas for the outcome intake, named by direction (``...Read`` goes out).

Field names are the ones the rest of derlink uses on the wire (camelCase, the outcome file's
columns with a lower first letter); ``api.py`` fills them from the intake's summaries and the
service's rows.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from derlink.analytics.intakes import FileRead
from derlink.contracts import examples
from derlink.platform.intake import schemas as intake
from derlink.platform.intake.schemas import summary_example
from derlink.platform.openapi import example_of, model_example

#: An outcome file's name (DERMS's ``outcome_file_name``), in the examples.
OUTCOME_FILE = "OUTCOME_20260718T010000Z_000042.csv"
STAGE = examples.EVENT_STATUS["stageId"]
EVENT = examples.EVENT_STATUS["eventId"]


class OutcomeFileSummaryRead(intake.FileSummaryRead):
    model_config = ConfigDict(
        json_schema_extra=example_of(summary_example(OUTCOME_FILE, f"ACK_{OUTCOME_FILE}", 2))
    )


class OutcomeIntakeRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"files": [model_example(OutcomeFileSummaryRead)]})
    )

    files: list[OutcomeFileSummaryRead]


class OutcomeRefusalRead(BaseModel):
    """A row of an outcome file the intake refused: where, what names it, and why."""

    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "rowNumber": 3,
                "recordId": "2",
                "stageId": STAGE,
                "headEndSystem": "ECOBEE-HE",
                "nicId": "NIC-2",
                "reasonCode": "AN-OUTCOME-TIME",
                "reason": "ParticipationStartTime has no UTC offset",
            }
        )
    )

    rowNumber: int
    recordId: str
    stageId: str
    headEndSystem: str
    nicId: str
    reasonCode: str
    reason: str


class OutcomeFileRead(FileRead):
    """An outcome file taken: its counts and its first refusals (every refusal is in its
    acknowledgement, ``ackFile``)."""

    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "fileId": 7,
                **model_example(OutcomeFileSummaryRead),
                "rows": 3,
                "accepted": 2,
                "rejected": 1,
                "checksum": "5d0b9c3e41f7a2c8e6b1d4f09a7c3e21b8f6d5a4c3b2a1908f7e6d5c4b3a2918",
                "size": 498,
                "receivedAt": "2026-07-18T01:00:04.212000+00:00",
                "finishedAt": "2026-07-18T01:00:04.390000+00:00",
                "attempts": 1,
                "refusals": [model_example(OutcomeRefusalRead)],
            }
        )
    )

    #: The first rows refused, in row order (at most ``model.FIRST_REFUSALS``).
    refusals: list[OutcomeRefusalRead]


class EventOutcomeRead(BaseModel):
    """A device's outcome in a stage, as the newest outcome file analytics took says it."""

    model_config = ConfigDict(
        json_schema_extra=example_of(
            {
                "stageId": STAGE,
                "eventId": EVENT,
                "programId": "BYOT-2026",
                "headEndSystem": "ECOBEE-HE",
                "nicId": "NIC-1",
                "deviceId": "D-01a2410e1d7bb8cf21dda5017e",
                "spId": "SP1",
                "outcome": "D1SP",
                "errorMessage": "",
                "participationStartTime": "2026-07-17T22:00:00+00:00",
                "participationEndTime": "2026-07-18T00:00:00+00:00",
                "measuredKw": 1.42,
                "recordId": "1",
                "sourceFile": OUTCOME_FILE,
                "receivedAt": "2026-07-18T01:00:04.301000+00:00",
            }
        )
    )

    stageId: str
    eventId: str
    programId: str
    headEndSystem: str
    nicId: str
    deviceId: str
    spId: str
    #: D1SP, D1ND, D1IO, D1ER or D1CN.
    outcome: str
    errorMessage: str
    participationStartTime: str | None
    participationEndTime: str | None
    measuredKw: float | None
    recordId: str
    sourceFile: str
    receivedAt: str


class EventOutcomePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra=example_of({"items": [model_example(EventOutcomeRead)], "next": 500})
    )

    items: list[EventOutcomeRead]
    #: The ``after`` of the next page; None on the last one.
    next: int | None
