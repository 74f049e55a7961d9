"""The file flows' memory of what they took: a receipt per file content (flow, checksum).

Taking the receipt is the claim: of two instances that meet the same content — the same file
delivered twice, under one name or two — only the first goes on; the other completes as a
duplicate with no second effect (SPEC §2.2). A receipt is released when its instance is
discarded from the hospital, so that the content can be delivered again.
"""

from __future__ import annotations

import contextlib

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from derlink.common.clock import Clock
from derlink.hub.tables import file_receipts, instance_keys
from derlink.platform.database import Database


class FileReceipts:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def take(self, *, flow: str, checksum: str, instance_id: str, file_name: str) -> str:
        """Claim a content for an instance; returns the instance that holds it (maybe this one).

        Also records the checksum as a business key of the instance, for search."""
        stamp = self.clock.now().isoformat()
        with contextlib.suppress(IntegrityError), self.db.begin() as conn:
            conn.execute(
                file_receipts.insert().values(
                    flow=flow,
                    checksum=checksum,
                    instance_id=instance_id,
                    file_name=file_name,
                    at=stamp,
                )
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
        with self.db.read() as conn:
            holder: str = conn.execute(
                sa.select(file_receipts.c.instance_id).where(
                    file_receipts.c.flow == flow, file_receipts.c.checksum == checksum
                )
            ).scalar_one()
        return holder

    def release(self, instance_id: str) -> int:
        """Forget the receipts an instance holds (it was discarded)."""
        with self.db.begin() as conn:
            result = conn.execute(
                file_receipts.delete().where(file_receipts.c.instance_id == instance_id)
            )
        return int(result.rowcount or 0)
