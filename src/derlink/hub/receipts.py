"""The file flows' memory of what they took: a receipt per file content (flow, checksum), held
in the hub's ``file_claims`` table by the platform's file-intake machinery
(platform/intake/claims.py) on behalf of the instance that took it.

Taking the receipt is the claim: of two instances that meet the same content — the same file
delivered twice, under one name or two — only the first goes on; the other completes as a
duplicate with no second effect. The hub's runtime resumes a crashed instance, so its receipt
is never taken over; it is released when its instance is discarded from the hospital (in the
discard's transaction), so that the content can be delivered again.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from derlink.common.clock import Clock
from derlink.hub.tables import file_claims, instance_keys
from derlink.platform.database import Database
from derlink.platform.intake.claims import FileClaims


class FileReceipts:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.claims = FileClaims(db, file_claims, clock)

    def take(self, *, flow: str, checksum: str, instance_id: str, file_name: str, size: int) -> str:
        """Claim a content for an instance; returns the instance that holds it (maybe this one).

        Also records the checksum as a business key of the instance, for search."""
        holder = self.claims.hold(
            source=flow, checksum=checksum, holder=instance_id, name=file_name, size=size
        )
        with self.db.begin() as conn:
            known = conn.execute(
                sa.select(instance_keys.c.value).where(
                    instance_keys.c.instance_id == instance_id, instance_keys.c.name == "checksum"
                )
            ).first()
            if known is None:
                conn.execute(
                    instance_keys.insert().values(
                        instance_id=instance_id, name="checksum", value=checksum, primary_key=False
                    )
                )
        return holder

    def release(self, instance_id: str, conn: Connection | None = None) -> int:
        """Forget the receipts an instance holds (it was discarded)."""
        return self.claims.release(instance_id, conn)
