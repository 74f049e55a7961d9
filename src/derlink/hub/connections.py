"""The hub's connections to the parts it integrates: one HTTP client each, and the file
stores of the file flows (content servers and object storage, platform/files.py).

Pointing a connection at an external system (a real CPMCS, another DERMS, an SFTP server, an
S3 bucket) replaces the part.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from derlink.common.errors import ConfigurationError
from derlink.platform.files import FileStore
from derlink.platform.http import Caller


@dataclass
class Targets:
    cpm: Caller
    derms: Caller
    #: "collection": derlink's cpm takes enrollment requests and acknowledgements many to a
    #: call, each record still handled as its own single-record operation; "single": one call
    #: per record, for a target that only offers Oracle's single-record services.
    cpm_mode: Literal["collection", "single"] = "collection"
    #: File stores by name (the parts' ``stores``, platform/settings.py).
    stores: Mapping[str, FileStore] = field(default_factory=dict)
    #: analytics' API, whose health the console shows; None where the hub is given none.
    analytics: Caller | None = None

    def parts(self) -> dict[str, Caller]:
        """The parts the hub calls over HTTP, by name: cpm, DERMS and analytics when given."""
        called = {"cpm": self.cpm, "derms": self.derms}
        if self.analytics is not None:
            called["analytics"] = self.analytics
        return called

    def store(self, name: str) -> FileStore:
        try:
            return self.stores[name]
        except KeyError:
            raise ConfigurationError(f"the hub has no file store {name!r}") from None

    async def close(self) -> None:
        for client in self.parts().values():
            await client.close()
        for store in self.stores.values():
            await store.close()
