"""UNAVAIL — Customer Unavailability Update: cpm → DERMS (docs/contracts/unavailability.md).

One version of a device's unavailability period (added, edited, canceled or sent again), one
record per version. Nothing is mapped: delivery to DERMS in collection calls and an
acknowledgement of every record to cpm's unavailability acknowledgements are
flows/master_data.py's.
"""

from __future__ import annotations

from typing import ClassVar

from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.flows.master_data import MasterDataFlow, Record


class UnavailabilityFlow(MasterDataFlow):
    spec: ClassVar[FlowSpec] = FLOWS["UNAVAIL"]
    derms_path: ClassVar[str] = "/api/v1/unavailabilities"
    ack_path: ClassVar[str] = "/api/v1/unavailabilities/acknowledgements"

    def code_of(self, record: Record) -> str:
        return str(record["unavailabilityId"])

    def keys(self, record: Record) -> list[tuple[str, str]]:
        """The period, the message and the device's NIC id."""
        return [
            ("unavailabilityId", self.code_of(record)),
            ("dacsMessageId", record["dacsMessageId"]),
            ("nicId", record["nicId"]),
        ]
