"""The enrollment intake's tables (SQLAlchemy Core): the same on SQLite and PostgreSQL.

``subscriptions`` holds the newest version analytics has seen of each cpm subscription
(SPEC OUAI-ENR); ``enrollment_files`` tracks every extract file the intake took, by checksum,
so that a re-delivered file has no second effect (SPEC §2.2). Timestamps are ISO-8601 text in
UTC, as everywhere in derlink. They belong to the part's ``db.metadata``; ``migrations.py``
creates them.
"""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa

from derlink.analytics.db import metadata
from derlink.analytics.enrollments.fields import FIELD_MAX

TS = 40
NAME = 200  # a file name (platform.files.safe_name allows 200 characters)


class FileState(StrEnum):
    """Where an enrollment file is (docs/analytics.md, "Enrollment intake").

    ``Processing``: a run holds it (``run_id``; ``heartbeat_at`` moves on every batch).
    ``Acked``: its ack file is published and the input renamed ``Acked-``.
    ``Refused``: refused whole with an ack file (AN-EMPTY, AN-HEADER, AN-SIZE), or a run failed
    before publishing anything (``error`` says why, ``ack_file`` is empty): such a file is
    taken again while it has attempts left. ``Duplicate`` is never stored: it is what a run
    reports for a file whose checksum is already here.
    """

    PROCESSING = "Processing"
    ACKED = "Acked"
    REFUSED = "Refused"
    DUPLICATE = "Duplicate"


def _field(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(FIELD_MAX), nullable=nullable)


subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("subscription_id", sa.String(FIELD_MAX), primary_key=True),
    #: The cpm sync request (type ANALYTICS) of the row that wrote this version.
    _field("sync_request_id"),
    _field("program_id"),
    _field("program_code"),
    _field("cis_account_id"),
    _field("cis_person_id"),
    _field("service_point_id"),
    _field("cis_service_point_id"),
    _field("cis_premise_id"),
    _field("division"),
    _field("subscription_type"),
    #: Pending | Active | Inactive, as cpm had it.
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("start_at", sa.String(TS), nullable=False),
    sa.Column("end_at", sa.String(TS), nullable=True),
    #: cpm's version of the subscription: a row with a lower one changes nothing (AN-STALE).
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.String(TS), nullable=False),
    #: The extract file the stored version came from.
    sa.Column("source_file", sa.String(NAME), nullable=False),
)

enrollment_files = sa.Table(
    "enrollment_files",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(NAME), nullable=False),
    #: SHA-256 of the content: the claim (unique, so two runs never take one file) and what
    #: makes a re-delivery a duplicate. Empty for a file refused unread (empty, too large).
    sa.Column("checksum", sa.String(64), nullable=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    #: Data rows read, and how many were accepted (AN-STALE included) and rejected.
    sa.Column("rows", sa.Integer, nullable=False, default=0),
    sa.Column("accepted", sa.Integer, nullable=False, default=0),
    sa.Column("rejected", sa.Integer, nullable=False, default=0),
    sa.Column("ack_file", sa.String(NAME), nullable=True),
    #: What the input was renamed to (Acked-…, Error-…), once it was.
    sa.Column("renamed_to", sa.String(NAME + 20), nullable=True),
    sa.Column("received_at", sa.String(TS), nullable=False),
    sa.Column("finished_at", sa.String(TS), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    #: The run holding a Processing file: ``host/pid/token``.
    sa.Column("run_id", sa.String(120), nullable=True),
    sa.Column("heartbeat_at", sa.String(TS), nullable=True),
    #: Runs that took the file; a file that failed this often is given up (Error-).
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.UniqueConstraint("checksum", name="uq_enrollment_files_checksum"),
)
