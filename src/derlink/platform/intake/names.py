"""What a file is renamed to once it was taken (SPEC §2.4), so that the next listing passes it
over: ``Sent-`` (copied or delivered), ``Acked-`` (taken, its acknowledgement published),
``Error-`` (refused, or given up) or ``Duplicate-`` (a content taken before)."""

from __future__ import annotations

from derlink.common.errors import TechnicalFault
from derlink.platform.files import FileExists, FileStore

SENT_TAG = "Sent-"
ACKED_TAG = "Acked-"
ERROR_TAG = "Error-"
DUPLICATE_TAG = "Duplicate-"


async def rename_tagged(store: FileStore, name: str, tag: str) -> str:
    """Rename ``name`` to ``<tag><name>`` (``.2``, ``.3``… when taken); the new name.

    :class:`~derlink.platform.files.FileMissing` if the file is gone."""
    for n in range(1, 1000):
        target = f"{tag}{name}" if n == 1 else f"{tag}{name}.{n}"
        try:
            await store.rename(name, target)
            return target
        except FileExists:
            continue
    raise TechnicalFault(f"no free name to rename {name} to with {tag}")
