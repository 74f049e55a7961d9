"""E-mail: ``.eml`` files in the data directory's outbox by default, SMTP when configured.

The outbox is ``0700`` and each message ``0600``: e-mails name customers and their addresses.
"""

from __future__ import annotations

import asyncio
import os
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from derlink.common.errors import RemoteFault
from derlink.common.ids import new_id
from derlink.platform.private import FILE_MODE, private_dir


class Mailer(Protocol):
    async def send(self, *, to: list[str], subject: str, body: str) -> str: ...


def _message(to: list[str], subject: str, body: str, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain="derlink.local")
    msg.set_content(body)
    return msg


class OutboxMailer:
    """Writes each message as an ``.eml`` file, readable by any mail client."""

    def __init__(self, outbox: Path, sender: str = "derlink@localhost") -> None:
        self.outbox = outbox
        self.sender = sender

    async def send(self, *, to: list[str], subject: str, body: str) -> str:
        msg = _message(to, subject, body, self.sender)
        private_dir(self.outbox)
        path = self.outbox / f"{new_id()}.eml"
        tmp = path.with_suffix(".tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with os.fdopen(os.open(tmp, flags, FILE_MODE), "wb") as out:
            out.write(bytes(msg))
        tmp.replace(path)
        return str(msg["Message-ID"])


def default_mailer(smtp_url: str | None, home: Path) -> Mailer:
    """SMTP when a server is configured, else the data directory's outbox."""
    return SmtpMailer(smtp_url) if smtp_url else OutboxMailer(home / "outbox")


class SmtpMailer:
    """Sends through an SMTP server given as ``smtp://[user:pass@]host:port``."""

    def __init__(self, url: str, sender: str = "derlink@localhost") -> None:
        parsed = urlparse(url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 25
        self.username = parsed.username
        self.password = parsed.password
        self.sender = sender

    async def send(self, *, to: list[str], subject: str, body: str) -> str:
        msg = _message(to, subject, body, self.sender)

        def deliver() -> None:
            with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(msg)

        try:
            await asyncio.to_thread(deliver)
        except (OSError, smtplib.SMTPException) as exc:
            raise RemoteFault(f"SMTP server {self.host}:{self.port} failed: {exc}") from None
        return str(msg["Message-ID"])


class MemoryMailer:
    """Keeps messages in a list: the fake of the port, for tests."""

    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []

    async def send(self, *, to: list[str], subject: str, body: str) -> str:
        self.sent.append({"to": to, "subject": subject, "body": body})
        return f"<{len(self.sent)}@memory>"
