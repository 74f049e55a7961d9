"""Notifications: technical faults to the technical recipients (``to``), business errors to
the business recipients (``to.ProcessNotification``), per flow (SPEC §2.2, §2.5)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import sqlalchemy as sa

from derlink.common.errors import RemoteFault
from derlink.hub.model import RecordError
from derlink.hub.tables import flow_properties
from derlink.platform.database import Database
from derlink.platform.mail import Mailer

log = logging.getLogger("derlink.hub.notify")

DEFAULT_PROPERTIES: Mapping[str, str] = {
    "to": "integration-ops@utility.example",
    "to.ProcessNotification": "program-ops@utility.example",
}


class Notifier:
    def __init__(self, db: Database, mailer: Mailer) -> None:
        self.db = db
        self.mailer = mailer

    def recipients(self, flow: str, key: str) -> list[str]:
        with self.db.read() as conn:
            value = conn.execute(
                sa.select(flow_properties.c.value)
                .where(flow_properties.c.flow.in_([flow, "*"]), flow_properties.c.key == key)
                .order_by(flow_properties.c.flow.desc())
            ).scalar()
        value = value or DEFAULT_PROPERTIES[key]
        return [v.strip() for v in value.split(",") if v.strip()]

    async def technical(
        self, *, flow: str, instance_id: str, category: str, step: str, message: str
    ) -> None:
        await self._send(
            await asyncio.to_thread(self.recipients, flow, "to"),
            f"[derlink] {flow} instance {instance_id} faulted ({category})",
            f"Flow: {flow}\nInstance: {instance_id}\nCategory: {category}\nStep: {step}\n"
            f"Error: {message}\n\nThe instance is in the error hospital. Resubmit it with\n"
            f"  derlink hospital resubmit {instance_id}\nonce the cause is fixed.\n",
        )

    async def business(self, *, flow: str, instance_id: str, errors: list[RecordError]) -> None:
        lines = "\n".join(f"  {e.key}: {e.code} {e.message}" for e in errors[:200])
        more = f"\n  … and {len(errors) - 200} more" if len(errors) > 200 else ""
        await self._send(
            await asyncio.to_thread(self.recipients, flow, "to.ProcessNotification"),
            f"[derlink] {flow} instance {instance_id}: {len(errors)} record(s) rejected",
            f"Flow: {flow}\nInstance: {instance_id}\nRejected records:\n{lines}{more}\n",
        )

    async def _send(self, to: list[str], subject: str, body: str) -> None:
        try:
            await self.mailer.send(to=to, subject=subject, body=body)
        except (RemoteFault, OSError) as exc:
            # A notification must never fault the flow it reports on.
            log.error("notification %r not sent: %s", subject, exc)
