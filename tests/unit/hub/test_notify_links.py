"""The fault e-mails link to the instance's page in the console, at DERLINK_CONSOLE_URL."""

from __future__ import annotations

from pathlib import Path

from derlink.hub.migrations import SCHEMA
from derlink.hub.notify import Notifier
from derlink.platform.database import open_part_database
from derlink.platform.mail import MemoryMailer


async def test_a_fault_e_mail_links_to_the_console_it_is_given(tmp_path: Path):
    db = open_part_database(f"sqlite:///{tmp_path}/hub.sqlite", SCHEMA)
    mailer = MemoryMailer()
    notifier = Notifier(db, mailer, "https://ops.utility.example/console/")
    try:
        await notifier.technical(
            flow="ENR-SYNC",
            instance_id="ENR-SYNC:B 1",
            category="remote",
            step="deliver-derms-enroll",
            message="derms unreachable",
        )
        await notifier.business(flow="ENR-SYNC", instance_id="ENR-SYNC:B2", errors=[])
    finally:
        db.dispose()
    fault, rejected = (str(m["body"]) for m in mailer.sent)
    assert "https://ops.utility.example/console/instances/ENR-SYNC%3AB%201" in fault
    assert "Resubmit once it answers again" in fault
    assert "derlink hospital resubmit ENR-SYNC:B 1" in fault
    assert "https://ops.utility.example/console/instances/ENR-SYNC%3AB2" in rejected
