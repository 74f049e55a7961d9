"""cpm's database schema, shared by its features: one ``MetaData``, the column conventions, and
the outbox every feature writes its outbound messages to (platform/outbox.py).

Each feature defines its tables in its own ``tables.py`` on this ``metadata`` (a foreign key
may cross features: a subscription names its program); ``migrations/versions/`` holds the
revisions of the whole part. docs/contracts/cpm-data.md explains the tables.

Timestamps are ISO-8601 text with an offset, as everywhere in derlink: the same on SQLite and
PostgreSQL, and never naive.
"""

from __future__ import annotations

import sqlalchemy as sa

from derlink.platform.intake.claims import claims_table
from derlink.platform.outbox import outbox_table

metadata = sa.MetaData()

ID = 40  # a prefix and a 26-character new_id()
EXT = 80  # identifiers that come from outside (CIS ids, message ids, NIC ids)
TS = 40
TEXT = 200


def id_column() -> sa.Column[str]:
    return sa.Column("id", sa.String(ID), primary_key=True)


def text_column(name: str) -> sa.Column[str]:
    """Free text from outside: as long as the wire schemas allow (schemas.Text), "" if absent."""
    return sa.Column(name, sa.String(TEXT), nullable=False, default="")


outbox = outbox_table(metadata)
# A discard withdraws a sync request's unsent message, found by its key.
sa.Index("ix_outbox_message_key", outbox.c.message_key)

#: The files cpm took, by content (platform/intake/claims.py), one table for every kind it takes
#: (NET-LOC network locations, participation histories), each claim under its kind's source.
file_claims = claims_table(metadata)
