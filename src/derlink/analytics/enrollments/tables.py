"""The enrollment intake's tables (SQLAlchemy Core): the same on SQLite and PostgreSQL.

``subscriptions`` holds the newest version analytics has seen of each cpm subscription (OUAI-ENR);
the extract files the intake took are claims in ``db.file_claims`` (source ``OUAI-ENR``), by
checksum, so that a re-delivered file has no second effect. Timestamps are ISO-8601 text in UTC,
as everywhere in derlink. They belong to the part's ``db.metadata``; ``migrations.py`` creates
them.
"""

from __future__ import annotations

import sqlalchemy as sa

from derlink.analytics.db import file_claims, metadata
from derlink.analytics.enrollments.fields import FIELD_MAX

TS = 40
NAME = 200  # a file name (platform.files.safe_name allows 200 characters)


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

__all__ = ["file_claims", "subscriptions"]
