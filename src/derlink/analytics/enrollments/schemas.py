"""analytics' wire schemas for the enrollment intake, named by direction (``...Read`` goes out).

Field names are the ones the rest of derlink uses on the wire (camelCase, as cpm's extract
columns); ``api.py`` fills them from the intake's summaries and the service's rows.
"""

from __future__ import annotations

from pydantic import BaseModel


class HealthRead(BaseModel):
    status: str


class FileSummaryRead(BaseModel):
    name: str
    state: str
    rows: int
    accepted: int
    rejected: int
    ackFile: str | None
    renamedTo: str | None
    error: str | None


class IntakeRead(BaseModel):
    files: list[FileSummaryRead]


class EnrollmentFileRead(BaseModel):
    fileId: int
    name: str
    checksum: str | None
    size: int
    state: str
    rows: int
    accepted: int
    rejected: int
    ackFile: str | None
    renamedTo: str | None
    receivedAt: str
    finishedAt: str | None
    attempts: int
    error: str | None


class SubscriptionRead(BaseModel):
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
    items: list[SubscriptionRead]
    #: The ``after`` of the next page; None on the last one.
    next: str | None
