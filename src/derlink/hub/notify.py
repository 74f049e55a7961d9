"""Notifications: technical faults to the technical recipients (``to``), business errors to
the business recipients (``to.ProcessNotification``), per flow."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from derlink.common.errors import RemoteFault
from derlink.hub.catalog import FLOWS
from derlink.hub.model import RecordError, fault_guidance
from derlink.hub.tables import flow_properties
from derlink.platform.database import Database
from derlink.platform.intake.refusals import refusal_mail
from derlink.platform.mail import Mailer

log = logging.getLogger("derlink.hub.notify")

DEFAULT_PROPERTIES: Mapping[str, str] = {
    "to": "integration-ops@utility.example",
    "to.ProcessNotification": "program-ops@utility.example",
    # File flows: an e-mail when a run found no file, and one per file processed.
    "notify.noFile": "false",
    "notify.complete": "false",
}
_TRUE = ("true", "yes", "1", "on")
#: The console of a derlink started with its defaults (``DERLINK_CONSOLE_URL`` says otherwise).
DEFAULT_CONSOLE_URL = "http://127.0.0.1:8400/console"


class Notifier:
    def __init__(
        self, db: Database, mailer: Mailer, console_url: str = DEFAULT_CONSOLE_URL
    ) -> None:
        self.db = db
        self.mailer = mailer
        #: Where the operations console is (``DERLINK_CONSOLE_URL``): the e-mails link into it.
        self.console_url = console_url.rstrip("/")

    def instance_link(self, instance_id: str) -> str:
        """The instance's page in the console."""
        return f"{self.console_url}/instances/{quote(instance_id, safe='')}"

    def property(self, flow: str, key: str) -> str:
        """A flow's property: its own value, else the value for every flow (``*``), else the
        default."""
        with self.db.read() as conn:
            value = conn.execute(
                sa.select(flow_properties.c.value)
                .where(flow_properties.c.flow.in_([flow, "*"]), flow_properties.c.key == key)
                .order_by(flow_properties.c.flow.desc())
            ).scalar()
        return str(value or DEFAULT_PROPERTIES[key])

    def recipients(self, flow: str, key: str) -> list[str]:
        return [v.strip() for v in self.property(flow, key).split(",") if v.strip()]

    def flag(self, flow: str, key: str) -> bool:
        return self.property(flow, key).strip().lower() in _TRUE

    async def technical(
        self,
        *,
        flow: str,
        instance_id: str,
        category: str,
        step: str,
        message: str,
    ) -> None:
        spec = FLOWS[flow]
        guidance = fault_guidance(category, spec.source, spec.target)
        action = (
            f"Or resubmit it with\n  derlink hospital resubmit {instance_id}\n"
            if category != "business"
            else f"Or discard it with\n  derlink hospital discard {instance_id}\n"
        )
        await self._send(
            await asyncio.to_thread(self.recipients, flow, "to"),
            f"[derlink] {flow} instance {instance_id} faulted ({category})",
            f"Flow: {flow}\nInstance: {instance_id}\nCategory: {category}\nStep: {step}\n"
            f"Error: {message}\n\nThe instance is in the error hospital. {guidance}\n\n"
            f"Open it in the console:\n  {self.instance_link(instance_id)}\n{action}",
        )

    async def business(self, *, flow: str, instance_id: str, errors: list[RecordError]) -> None:
        lines = "\n".join(f"  {e.key}: {e.code} {e.message}" for e in errors[:200])
        more = f"\n  … and {len(errors) - 200} more" if len(errors) > 200 else ""
        await self._send(
            await asyncio.to_thread(self.recipients, flow, "to.ProcessNotification"),
            f"[derlink] {flow} instance {instance_id}: {len(errors)} record(s) rejected",
            f"Flow: {flow}\nInstance: {instance_id}\nRejected records:\n{lines}{more}\n\n"
            "Resubmitting will not deliver them: correct each at its source and send it again.\n"
            f"The instance in the console:\n  {self.instance_link(instance_id)}\n",
        )

    async def no_file(self, *, flow: str, location: str, prefix: str) -> None:
        if not await asyncio.to_thread(self.flag, flow, "notify.noFile"):
            return
        await self._send(
            await asyncio.to_thread(self.recipients, flow, "to.ProcessNotification"),
            f"[derlink] {flow}: no file found",
            f"Flow: {flow}\nSource: {location}\nPrefix: {prefix}\n\n"
            "The scheduled run found no file to transfer.\n",
        )

    async def file_complete(
        self, *, flow: str, instance_id: str, outcome: Mapping[str, Any]
    ) -> None:
        """The "process complete" e-mail: what was and was not transferred."""
        if not await asyncio.to_thread(self.flag, flow, "notify.complete"):
            return
        lines = [f"{k}: {v}" for k, v in outcome.items() if k != "errors"]
        rejected = "\n".join(
            f"  {e['key']}: {e['code']} {e['message']}" for e in outcome.get("errors", [])[:200]
        )
        await self._send(
            await asyncio.to_thread(self.recipients, flow, "to.ProcessNotification"),
            f"[derlink] {flow}: {outcome.get('file', instance_id)} processed",
            f"Flow: {flow}\nInstance: {instance_id}\n"
            + "\n".join(lines)
            + (
                f"\nNot transferred:\n{rejected}\n"
                if rejected
                else "\nEverything was transferred.\n"
            ),
        )

    async def refused(
        self, *, source: str, location: str, entry: str, reason: str, renamed: str | None
    ) -> None:
        """An entry of a file flow's source set aside unread: to the technical recipients."""
        subject, body = refusal_mail(
            source=source, location=location, entry=entry, reason=reason, renamed=renamed
        )
        await self._send(await asyncio.to_thread(self.recipients, source, "to"), subject, body)

    async def _send(self, to: list[str], subject: str, body: str) -> None:
        try:
            await self.mailer.send(to=to, subject=subject, body=body)
        except (RemoteFault, OSError) as exc:
            # A notification must never fault the flow it reports on.
            log.error("notification %r not sent: %s", subject, exc)
