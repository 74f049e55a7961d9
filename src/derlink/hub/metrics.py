"""Prometheus metrics of the hub, read from its own tables at scrape time.

Computing them on scrape (instead of counting in memory) keeps them right across restarts and
across several hub workers sharing one database.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from derlink.hub.model import InstanceStatus
from derlink.hub.tracking import InstanceStore


class HubCollector:
    def __init__(self, store: InstanceStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        instances = GaugeMetricFamily(
            "derlink_hub_instances", "Flow instances by flow and status.", labels=["flow", "status"]
        )
        hospital = GaugeMetricFamily(
            "derlink_hub_hospital_instances",
            "Instances in the error hospital, by flow.",
            labels=["flow"],
        )
        for flow, statuses in sorted(self.store.counts().items()):
            for status, n in sorted(statuses.items()):
                instances.add_metric([flow, status], n)
            hospital.add_metric([flow], statuses.get(InstanceStatus.FAULTED.value, 0))
        refused = GaugeMetricFamily(
            "derlink_hub_refused_records",
            "Records refused on business grounds, by flow and code.",
            labels=["flow", "code"],
        )
        for flow, codes in sorted(self.store.record_error_codes().items()):
            for code, n in sorted(codes.items()):
                refused.add_metric([flow, code], n)
        yield instances
        yield hospital
        yield refused


def exposition(store: InstanceStore) -> bytes:
    """The metrics in Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(store))
    return generate_latest(registry)
