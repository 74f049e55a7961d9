"""The hub store's reads the console relies on, on SQLite and on PostgreSQL: keyset pages,
window counts, hourly buckets, last runs, hospital groups, related instances, and the flow
property audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from derlink.common.errors import BusinessError, NotFound, RemoteFault
from tests.integration.hub.test_hub_flows import Harness, sync_record


@pytest.fixture
def harness(tmp_path: Path, database_url: str) -> Harness:
    return Harness(tmp_path, database_url)


async def send(harness: Harness, batch: str, *sync_ids: str) -> str:
    return await harness.send(
        "ENR-SYNC", {"batchId": batch, "messages": [sync_record(s) for s in sync_ids]}
    )


async def test_pages_are_newest_first_and_the_cursor_continues_exactly(harness: Harness):
    for n in range(7):
        await send(harness, f"B{n}", f"SR{n}")
        harness.hub.clock.advance(minutes=10)  # type: ignore[attr-defined]
    store = harness.hub.store
    first, cursor = store.search_page(limit=3)
    assert [r["id"] for r in first] == ["ENR-SYNC:B6", "ENR-SYNC:B5", "ENR-SYNC:B4"]
    second, cursor = store.search_page(limit=3, before=cursor)
    third, end = store.search_page(limit=3, before=cursor)
    assert [r["id"] for r in second + third] == [f"ENR-SYNC:B{n}" for n in (3, 2, 1, 0)]
    assert end is None
    by_key, _ = store.search_page(key="SR4")
    assert [r["id"] for r in by_key] == ["ENR-SYNC:B4"]
    window, _ = store.search_page(since="2026-07-01T18:15", until="2026-07-01T18:45")
    assert [r["id"] for r in window] == ["ENR-SYNC:B4", "ENR-SYNC:B3", "ENR-SYNC:B2"]


async def test_window_counts_and_hourly_buckets_count_by_flow_and_status(harness: Harness):
    await send(harness, "B1", "SR1")
    harness.hub.clock.advance(hours=2)  # type: ignore[attr-defined]
    await send(harness, "B2", "SR2")
    await send(harness, "B3", "SR3")
    store = harness.hub.store
    assert store.counts_since("2026-07-01T19:00") == {"ENR-SYNC": {"Completed": 2}}
    assert store.counts_since("2026-07-01T00:00") == {"ENR-SYNC": {"Completed": 3}}
    assert sorted(store.hourly("2026-07-01T00")) == [
        ("ENR-SYNC", "2026-07-01T18", "Completed", 1),
        ("ENR-SYNC", "2026-07-01T20", "Completed", 2),
    ]
    assert store.last_received(["ENR-SYNC", "ENR-ACK"]) == {
        "ENR-SYNC": store.search_page(limit=1)[0][0]["received_at"]
    }


async def test_the_hospital_groups_by_flow_and_category(harness: Harness):
    async def down(path: str, body: Any) -> Any:
        raise RemoteFault("derms unreachable")

    harness.derms.handler = down
    await send(harness, "B1", "SR1")
    await send(harness, "B2", "SR2")
    (group,) = harness.hub.store.hospital_groups()
    assert (group["flow"], group["fault_category"], group["instances"]) == (
        "ENR-SYNC",
        "remote",
        2,
    )
    faulted, _ = harness.hub.store.search_page(status="Faulted", category="remote")
    assert len(faulted) == 2
    assert harness.hub.store.search_page(status="Faulted", category="business")[0] == []


async def test_related_instances_share_a_business_identifier_but_not_the_batch(harness: Harness):
    one = await send(harness, "B1", "SR1")
    ack = {"ackType": "SUCCESS", "whenISO": "2026-07-01T18:00:01.000Z", "dacsMessageId": "SR1"}
    acked = await harness.send("ENR-ACK", {"batchId": "B1", "acks": [ack]})
    await harness.send(
        "ENR-ACK",
        {"batchId": "B9", "acks": [{**ack, "dacsMessageId": "SR-OTHER"}]},
    )
    assert [r["id"] for r in harness.hub.store.related(one)] == [acked]


def test_a_flow_property_is_validated_and_audited(harness: Harness):
    hub = harness.hub
    hub.set_flow_property("ENR-SYNC", "to", " a@x.example ,b@x.example ", "operator")
    hub.set_flow_property("*", "notify.complete", "YES", "operator")
    with pytest.raises(BusinessError, match="not an address: b@"):
        hub.set_flow_property("ENR-SYNC", "to", "b@", "operator")
    with pytest.raises(BusinessError, match="unknown flow property"):
        hub.set_flow_property("ENR-SYNC", "cc", "a@x.example", "operator")
    with pytest.raises(NotFound):
        hub.set_flow_property("NOPE", "to", "a@x.example", "operator")
    assert {(p["flow"], p["key"], p["value"]) for p in hub.flow_property_list()} == {
        ("ENR-SYNC", "to", "a@x.example, b@x.example"),
        ("*", "notify.complete", "true"),
    }
    hub.set_flow_property("ENR-SYNC", "to", "", "viewer-would-not")
    history = hub.configuration_history()["properties"]
    assert [(h["key"], h["old_value"], h["new_value"]) for h in history] == [
        ("to", "a@x.example, b@x.example", None),
        ("notify.complete", None, "true"),
        ("to", None, "a@x.example, b@x.example"),
    ]


def test_an_older_hub_database_gets_the_console_s_indexes_and_audit_table(database_url: str):
    import sqlalchemy as sa

    from derlink.hub.migrations import SCHEMA
    from derlink.hub.tables import console_indexes, flow_property_audit
    from derlink.platform.database import make_engine
    from derlink.platform.migrations import upgrade
    from tests.support.schemas import at_revision

    sqlite = database_url.startswith("sqlite")
    engine = make_engine(database_url, schema=None if sqlite else "hub")
    try:
        at_revision(engine, SCHEMA, "0002")
        with engine.begin() as conn:  # as a database made before the console was
            for index in console_indexes:
                index.drop(conn)
            flow_property_audit.drop(conn)
        assert "0003" in upgrade(engine, SCHEMA).ran
        inspector = sa.inspect(engine)
        names = {i["name"] for i in inspector.get_indexes("instances")}
        assert {i.name for i in console_indexes} <= names
        assert inspector.has_table("flow_property_audit")
        assert upgrade(engine, SCHEMA).ran == ()
    finally:
        engine.dispose()


async def test_records_totals_and_primary_keys_of_a_search(harness: Harness):
    await send(harness, "B1", "SR3", "SR1", "SR2", "SR4")
    harness.hub.clock.advance(hours=2)  # type: ignore[attr-defined]
    await send(harness, "B2", "SR5")
    store = harness.hub.store
    assert store.records_since("2026-07-01T19:00") == {"ENR-SYNC": 1}
    assert store.records_since("2026-07-01T00:00") == {"ENR-SYNC": 5}
    assert store.search_total(flow="ENR-SYNC") == (2, 5)
    assert store.search_total(key="SR4") == (1, 4)
    assert store.search_total(flow="ENR-ACK") == (0, 0)
    assert store.primary_keys(["ENR-SYNC:B1", "ENR-SYNC:B2"]) == {
        "ENR-SYNC:B1": [
            ("syncRequestId", "SR1"),
            ("syncRequestId", "SR2"),
            ("syncRequestId", "SR3"),
        ],
        "ENR-SYNC:B2": [("syncRequestId", "SR5")],
    }
