"""OPT-OUT — Customer Event Opt-Out Update: cpm → DERMS (docs/contracts/opt-outs.md).

A participation's opt-out of a program event, stamped with its version, one record per opt-out
or resend. Nothing is mapped: delivery to DERMS in collection calls and an acknowledgement of
every record to cpm's opt-out acknowledgements are flows/master_data.py's.
"""

from __future__ import annotations

from typing import ClassVar

from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.flows.master_data import MasterDataFlow, Record


class OptOutFlow(MasterDataFlow):
    spec: ClassVar[FlowSpec] = FLOWS["OPT-OUT"]
    derms_path: ClassVar[str] = "/api/v1/opt-outs"
    ack_path: ClassVar[str] = "/api/v1/participations/opt-out-acknowledgements"

    def code_of(self, record: Record) -> str:
        return str(record["participationId"])

    def keys(self, record: Record) -> list[tuple[str, str]]:
        """The participation, the message and the device's NIC id."""
        return [
            ("participationId", self.code_of(record)),
            ("dacsMessageId", record["dacsMessageId"]),
            ("nicId", record["nicId"]),
        ]
