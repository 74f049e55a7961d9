"""What the flows use of the hub's own stores, as small ports.

Flows never reach the hub's tables: they are handed objects that satisfy these protocols
(``lookups.LookupStore``, ``notify.Notifier``, ``receipts.FileReceipts``, wired by
``app.py``), so that a flow reads as integration logic only, and a test or another store can
stand in for the database. The import-linter contract "Flows use the hub's runtime port,
never the engine" keeps it so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class LookupTables(Protocol):
    """The value maps, editable at run time."""

    def table(self, name: str) -> dict[str, str]:
        """One value map as it is now (a change shows within seconds, without a restart)."""
        ...


class FileMail(Protocol):
    """The e-mails of a file flow: no file and process complete, each sent only where its flow
    asks, and an entry of the source set aside, always."""

    async def no_file(self, *, flow: str, location: str, prefix: str) -> None:
        """A run found no file to take."""

    async def file_complete(
        self, *, flow: str, instance_id: str, outcome: Mapping[str, Any]
    ) -> None:
        """A file was processed: what was and was not transferred."""

    async def refused(
        self, *, source: str, location: str, entry: str, reason: str, renamed: str | None
    ) -> None:
        """An entry of flow ``source``'s store was refused unread and set aside (to the
        technical recipients)."""


class ReceiptBook(Protocol):
    """The file flows' receipts: one per file content (flow, checksum), the claim that makes a
    re-delivered file a duplicate with no second effect."""

    def take(self, *, flow: str, checksum: str, instance_id: str, file_name: str, size: int) -> str:
        """Claim a content for an instance; the instance that holds it (maybe this one)."""
        ...
