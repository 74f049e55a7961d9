"""What analytics' two intakes share (the enrollment extracts, ``enrollments/``, and DERMS's
outcome files, ``outcomes/``): the driver built over a file kind, and a file taken as the API
shows it.

Both kinds are the platform's one file-intake machinery (platform/intake): files from the
part's object storage, acknowledgements to its content server, claims in ``db.file_claims``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from derlink.analytics.db import file_claims
from derlink.common.clock import Clock
from derlink.platform.database import Database
from derlink.platform.files import FileStore
from derlink.platform.intake.claims import LEASE_S, MAX_ATTEMPTS, FileClaims
from derlink.platform.intake.driver import BATCH_ROWS, READ_CHUNK, FileIntake, IntakeHandler
from derlink.platform.intake.refusals import RefusalReport


def file_intake(
    kind: IntakeHandler,
    db: Database,
    clock: Clock,
    storage: FileStore,
    content: FileStore,
    max_file_bytes: int,
    *,
    batch_rows: int = BATCH_ROWS,
    chunk_size: int = READ_CHUNK,
    lease_s: float = LEASE_S,
    max_attempts: int = MAX_ATTEMPTS,
    refused: RefusalReport | None = None,
) -> FileIntake:
    """The intake of ``kind``'s files: from analytics' object storage (``storage``), their
    acknowledgements to its content server (``content``), claims in analytics' database;
    ``refused`` hears of the entries of the storage that cannot be taken."""
    return FileIntake(
        kind,
        db=db,
        claims=FileClaims(db, file_claims, clock, lease_s=lease_s, max_attempts=max_attempts),
        source=storage,
        output=content,
        max_file_bytes=max_file_bytes,
        batch_rows=batch_rows,
        chunk_size=chunk_size,
        refused=refused,
    )


class FileRead(BaseModel):
    """A file an intake took (or refused), from its claim: its counts, its acknowledgement, the
    name the input was renamed to, and why it failed where it did."""

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


def file_fields(claim: Mapping[Any, Any]) -> dict[str, Any]:
    """A claim's row (``file_claims``) as the fields of ``FileRead``."""
    return {
        "fileId": claim["id"],
        "name": claim["name"],
        "checksum": claim["checksum"],
        "size": claim["size"],
        "state": claim["state"],
        "rows": claim["rows"],
        "accepted": claim["accepted"],
        "rejected": claim["rejected"],
        "ackFile": claim["output"],
        "renamedTo": claim["renamed_to"],
        "receivedAt": claim["received_at"],
        "finishedAt": claim["finished_at"],
        "attempts": claim["attempts"],
        "error": claim["error"],
    }
