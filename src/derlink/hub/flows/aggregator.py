"""AGGREGATOR — Aggregator Synchronization: cpm → DERMS (docs/contracts/master-data.md).

An aggregator's whole state, stamped with its version, one record per creation or update
(aggregators are never deleted: one that stops is Inactive). Delivery to DERMS and the
acknowledgement of every record to cpm are flows/master_data.py's.
"""

from __future__ import annotations

from typing import ClassVar

from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.flows.master_data import MasterDataFlow, Record


class AggregatorFlow(MasterDataFlow):
    spec: ClassVar[FlowSpec] = FLOWS["AGGREGATOR"]
    derms_path: ClassVar[str] = "/api/v1/aggregators/sync"

    def code_of(self, record: Record) -> str:
        return str(record["code"])
