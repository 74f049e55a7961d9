"""The event participation files: DERMS's reservation file, one per stage, carried to cpm by
EVT-RESERVE (docs/contracts/event-reservations.md); and DERMS's outcome file, the outcome of
every device called to a stage, carried to cpm by EVT-OUTCOME and copied to analytics by
EVT-OUTCOME-OUAI (docs/contracts/event-outcomes.md)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

#: A stage's reserved devices: ``RESERVE_<event id>_<stage id>_<seq>.csv``; seq 000 is the
#: stage's first file, the seq leaving room for later files of the same stage.
RESERVATION_PREFIX = "RESERVE_"
RESERVATION_HEADER = (
    "recordId",
    "nicId",
    "headEndSystemId",
    "reservationStartDateTime",
    "reservationEndDateTime",
)
_NAME = re.compile(r"RESERVE_([A-Za-z0-9-]+)_([A-Za-z0-9-]+)_(\d{3})\.csv")


def reservation_file_name(event_id: str, stage_id: str, seq: int) -> str:
    return f"{RESERVATION_PREFIX}{event_id}_{stage_id}_{seq:03d}.csv"


def reservation_file_ids(name: str) -> tuple[str, str, int] | None:
    """(event id, stage id, seq) of a reservation file's name; None for another name."""
    found = _NAME.fullmatch(name)
    if found is None:
        return None
    return found.group(1), found.group(2), int(found.group(3))


#: The devices' outcomes of the stages whose outcome window closed since the last file:
#: ``OUTCOME_<UTC stamp>_<seq>.csv``, one row per device per stage (a file may span stages
#: and events), in stage then recordId order.
OUTCOME_PREFIX = "OUTCOME_"
OUTCOME_HEADER = (
    "RecordId",
    "EventId",
    "StageId",
    "ProgramId",
    "HeadEndSystem",
    "NicId",
    "DeviceId",
    "SPId",
    "Outcome",
    "ErrorMessage",
    "ParticipationStartTime",
    "ParticipationEndTime",
    "MeasuredKw",
)
#: Oracle's device outcomes: successful, non-responsive, in-flight override, error, cancelled.
OUTCOMES = ("D1SP", "D1ND", "D1IO", "D1ER", "D1CN")
#: The longest error message an outcome carries (Oracle's field).
MAX_ERROR_MESSAGE = 100
_OUTCOME_NAME = re.compile(r"OUTCOME_(\d{8}T\d{6}Z)_(\d{6})\.csv")


def outcome_file_name(at: datetime, seq: int) -> str:
    """The name of DERMS's ``seq``-th outcome file, written at ``at``."""
    return f"{OUTCOME_PREFIX}{at.astimezone(UTC):%Y%m%dT%H%M%SZ}_{seq:06d}.csv"


def outcome_file_seq(name: str) -> int | None:
    """The seq of an outcome file's name; None for another name."""
    found = _OUTCOME_NAME.fullmatch(name)
    return None if found is None else int(found.group(2))


#: A head-end system's report of its devices' outcomes, put into DERMS's head-end store:
#: ``HEOUTCOME_<anything>.csv``, one row per device per stage; times ISO-8601 with an offset
#: (blank: unknown), MeasuredKw a number (blank: not measured).
HEADEND_OUTCOME_PREFIX = "HEOUTCOME_"
HEADEND_OUTCOME_HEADER = (
    "StageId",
    "HeadEndSystem",
    "NicId",
    "Outcome",
    "ErrorMessage",
    "ParticipationStartTime",
    "ParticipationEndTime",
    "MeasuredKw",
)
#: DERMS's acknowledgement of one: ``HEOUTCOME_ACK_<name>``, one row per data row, in order.
HEADEND_OUTCOME_ACK_PREFIX = "HEOUTCOME_ACK_"
HEADEND_OUTCOME_ACK_HEADER = (
    "rowNumber",
    "stageId",
    "headEndSystem",
    "nicId",
    "result",
    "reasonCode",
    "reason",
)
