"""The event participation files (docs/contracts/event-reservations.md): DERMS's reservation
file, one per stage, carried to cpm by EVT-RESERVE."""

from __future__ import annotations

import re

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
