"""What a file is renamed to once it was taken, so that the next listing passes it over:
``Sent-`` (copied or delivered), ``Acked-`` (taken, its acknowledgement published),
``Error-`` (refused, or given up) or ``Duplicate-`` (a content taken before).

A file taken has a name of at most :data:`TAKEN_NAME_MAX` characters, so that the tag before it
(``Duplicate-``, the longest), a number after it (``.999``) or an output prefix before it
(``ENROLL_ACK_``) still make a name a store allows (200 characters): a longer one is refused at
the listing (refusals.takeable), never taken and then left unrenamable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from derlink.common.errors import TechnicalFault
from derlink.platform.files import FileExists, FileStore

SENT_TAG = "Sent-"
ACKED_TAG = "Acked-"
ERROR_TAG = "Error-"
DUPLICATE_TAG = "Duplicate-"
#: The longest name of a file a taker takes: 20 characters short of what a store allows.
TAKEN_NAME_MAX = 180


async def rename_tagged(store: FileStore, name: str, tag: str) -> str:
    """Rename ``name`` to ``<tag><name>`` (``.2``, ``.3``… when taken); the new name.

    :class:`~derlink.platform.files.FileMissing` if the file is gone."""
    return await free_name(lambda target: store.rename(name, target), f"{tag}{name}")


async def free_name(move: Callable[[str], Awaitable[None]], base: str) -> str:
    """Move something to ``base`` (``base.2``, ``base.3``… while the name is taken); the name
    it took."""
    for n in range(1, 1000):
        target = base if n == 1 else f"{base}.{n}"
        try:
            await move(target)
            return target
        except FileExists:
            continue
    raise TechnicalFault(f"no free name like {base} to move to")
