"""The enrollment exchange files, as every side reads and writes them (OUAI-ENR, OUAI-ENR-ACK;
docs/contracts/enrollment-files.md): cpm writes the extract, analytics reads it and writes the
acknowledgement, the hub moves both and applies the acknowledgement in cpm."""

from __future__ import annotations

#: The enrollment extract: ``ENROLL_SYNC_<KIND>_<YYYYMMDDTHHMMSSZ>_<extractId>.csv``.
EXTRACT_PREFIX = "ENROLL_SYNC_"
EXTRACT_HEADER = (
    "syncRequestId",
    "subscriptionId",
    "programId",
    "programCode",
    "cisAccountId",
    "cisPersonId",
    "servicePointId",
    "cisServicePointId",
    "cisPremiseId",
    "division",
    "subscriptionType",
    "status",
    "startDateTimeISO",
    "endDateTimeISO",
    "version",
)

#: The acknowledgement of one extract file: ``ENROLL_ACK_<extract file name>``.
ACK_PREFIX = "ENROLL_ACK_"
ACK_HEADER = ("rowNumber", "syncRequestId", "subscriptionId", "result", "reasonCode", "reason")
ACCEPTED = "ACCEPTED"
REJECTED = "REJECTED"
