"""The hub's connections to the parts it integrates (SPEC §3 Hub): one HTTP client each.

Pointing a connection at an external system (a real CPMCS, another DERMS) replaces the part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from derlink.platform.http import Caller


@dataclass
class Targets:
    cpm: Caller
    derms: Caller
    #: "collection": derlink's cpm takes enrollment requests and acknowledgements many to a
    #: call, each record still handled as its own single-record operation; "single": one call
    #: per record, for a target that only offers Oracle's single-record services.
    cpm_mode: Literal["collection", "single"] = "collection"

    async def close(self) -> None:
        await self.cpm.close()
        await self.derms.close()
