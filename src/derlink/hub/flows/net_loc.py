"""NET-LOC — Network location to cpm: DERMS content server → cpm object storage.

Copies DERMS's NET-LOC exports (prefix ``NETLOC_``) from DERMS's content server to cpm's object
storage, part by part (``files.py``); cpm takes each file in through the platform's file-intake
machinery and keeps each service point's effective-dated network location. The layout is in
docs/contracts/network.md.
"""

from __future__ import annotations

from typing import ClassVar

from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.flows.files import CopyFileFlow


class NetworkLocationToCpm(CopyFileFlow):
    spec: ClassVar[FlowSpec] = FLOWS["NET-LOC"]
