"""PROG-RULE — Program Rules: cpm → DERMS Update Program (docs/contracts/master-data.md).

An Active program's every linked rule, stamped with its rule version, one record per change.
Each rule's day kinds go through the lookup AllowEventDays and its cycle through
CycleFrequency; a value a lookup does not hold fails that record only. The rest is
flows/master_data.py: delivery to DERMS and an acknowledgement of every record to cpm.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.connections import Targets
from derlink.hub.flows.master_data import MasterDataFlow, Record
from derlink.hub.model import RecordError, map_rule_terms
from derlink.hub.ports import LookupTables


class ProgramRulesFlow(MasterDataFlow):
    spec: ClassVar[FlowSpec] = FLOWS["PROG-RULE"]
    derms_path: ClassVar[str] = "/api/v1/program-rules"

    def __init__(self, targets: Targets, lookups: LookupTables) -> None:
        super().__init__(targets)
        self.lookups = lookups

    def code_of(self, record: Record) -> str:
        return str(record["program"]["code"])

    async def map(self, records: list[Record]) -> list[tuple[Record, RecordError | None]]:
        days = await asyncio.to_thread(self.lookups.table, "AllowEventDays")
        cycles = await asyncio.to_thread(self.lookups.table, "CycleFrequency")
        return [map_rule_terms(record, days, cycles) for record in records]
