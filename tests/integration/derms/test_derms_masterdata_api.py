"""derms's master data over HTTP (program rules and aggregators), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from derlink.common.clock import FixedClock
from derlink.derms.inputs.tables import device_scores, forecasts
from derlink.derms.masterdata.schemas import (
    AGGREGATOR_EXAMPLE,
    PROGRAM_RULES_EXAMPLE,
    RULE_EXAMPLE,
)
from derlink.derms.masterdata.tables import (
    aggregators,
    program_rule_versions,
    program_versions,
    programs,
)
from derlink.derms.migrations import SCHEMA
from derlink.platform.database import make_engine
from derlink.platform.migrations import upgrade
from tests.support.schemas import at_revision

from .support import Headers

#: The tables of the revision after master data's.
INPUTS_TABLES = (device_scores, forecasts)
RULES = "/api/v1/program-rules"
AGGREGATORS = "/api/v1/aggregators/sync"


def rule(rule_id: str = "PR-1", **change: Any) -> dict[str, Any]:
    """A rule as the hub delivers it (its values mapped to DERMS's), with ``change``."""
    return {**RULE_EXAMPLE, "ruleId": rule_id, **change}


def program(code: str, version: int, *rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "dacsMessageId": f"PRM-{code}-{version}",
        "program": {"code": code, "externalId": f"{code}-2026", "type": "DR", "status": "Active"},
        "version": version,
        "rules": list(rules),
    }


def aggregator(code: str, version: int, **change: Any) -> dict[str, Any]:
    return {
        "dacsMessageId": f"AGM-{code}-{version}",
        "code": code,
        "name": "Northern VPP",
        "status": "Active",
        "startDate": "2026-01-01",
        "endDate": None,
        "contact": {"name": "Dispatch desk", "email": "d@vpp.example", "phone": "+1 555 0100"},
        "externalReferenceId": "VN-77",
        "externalSystem": "VPP-NORTH-HES",
        "programs": ["BYOT"],
        "version": version,
        **change,
    }


def send(
    client: TestClient, headers: Headers, path: str, field: str, *records: dict[str, Any]
) -> list[dict[str, Any]]:
    response = client.post(path, json={"batchId": "B-1", field: list(records)}, headers=headers)
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def send_programs(client: TestClient, headers: Headers, *records: dict[str, Any]) -> list[Any]:
    return send(client, headers, RULES, "programs", *records)


def send_aggregators(client: TestClient, headers: Headers, *records: dict[str, Any]) -> list[Any]:
    return send(client, headers, AGGREGATORS, "aggregators", *records)


def outcomes(results: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    return [(r["code"], r["version"], r["outcome"]) for r in results]


def get(client: TestClient, headers: Headers, path: str) -> Any:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# --- Program rules ---------------------------------------------------------------------------


def test_each_record_gets_its_result_in_order_and_an_invalid_one_stops_no_other(
    client: TestClient, hub_headers: Headers, viewer: Headers
) -> None:
    results = send_programs(
        client,
        hub_headers,
        program("BYOT", 1, rule()),
        program("PEAK", 1, rule(windowStart="21:00")),
        program("CPP", 2, rule(allowEventDays=["FRIDAYS"])),
        program("SMART", 1),
    )

    assert outcomes(results) == [
        ("BYOT", 1, "Applied"),
        ("PEAK", 1, "Rejected"),
        ("CPP", 2, "Rejected"),
        ("SMART", 1, "Applied"),
    ]
    assert results[0]["errorCode"] is None and results[0]["detail"] is None
    assert results[1]["errorCode"] == "DERMS-RULE-INVALID"
    assert results[1]["detail"] == "rule PR-1: windowStart 21:00 is not before windowEnd 20:00"
    assert results[2]["errorCode"] == "DERMS-RULE-INVALID"
    assert "allowEventDays" in results[2]["detail"] and "FRIDAYS" in results[2]["detail"]
    held = get(client, viewer, "/api/v1/programs")["items"]
    assert [(p["code"], p["version"], len(p["rules"])) for p in held] == [
        ("BYOT", 1, 1),
        ("SMART", 1, 0),
    ]


def test_a_version_not_newer_than_the_one_held_is_stale_and_changes_nothing(
    client: TestClient, hub_headers: Headers, viewer: Headers, clock: FixedClock
) -> None:
    send_programs(client, hub_headers, program("BYOT", 2, rule(minRestMin=600)))
    clock.advance(hours=1)

    results = send_programs(
        client,
        hub_headers,
        program("BYOT", 2, rule(minRestMin=1)),  # the same version again
        program("BYOT", 1, rule(minRestMin=2)),  # an older one, arriving late
    )

    assert outcomes(results) == [("BYOT", 2, "Stale"), ("BYOT", 1, "Stale")]
    held = get(client, viewer, "/api/v1/programs/BYOT")
    assert held["version"] == 2
    assert held["receivedAt"] == "2026-06-01T12:00:00+00:00"
    assert [r["minRestMin"] for r in held["rules"]] == [600]


def test_records_of_one_program_in_one_batch_apply_in_order(
    client: TestClient, hub_headers: Headers, viewer: Headers
) -> None:
    results = send_programs(
        client,
        hub_headers,
        program("BYOT", 1, rule()),
        program("BYOT", 3, rule(maxEventsPerCycle=9)),
        program("BYOT", 2, rule(maxEventsPerCycle=5)),
    )

    assert [r["outcome"] for r in results] == ["Applied", "Applied", "Stale"]
    held = get(client, viewer, "/api/v1/programs/BYOT")
    assert (held["version"], held["rules"][0]["maxEventsPerCycle"]) == (3, 9)


def test_a_program_holds_its_current_rules_and_every_version_is_kept(
    client: TestClient, hub_headers: Headers, viewer: Headers, clock: FixedClock
) -> None:
    send_programs(client, hub_headers, program("BYOT", 1, rule()))
    clock.advance(days=1)
    winter = rule("PR-2", effectiveFrom="2026-12-01", effectiveTo=None, cycleFrequency="MONTHLY")
    send_programs(client, hub_headers, program("BYOT", 2, rule(minRestMin=360), winter))
    clock.advance(days=1)
    send_programs(client, hub_headers, program("BYOT", 3))  # every rule unlinked

    held = get(client, viewer, "/api/v1/programs/BYOT")
    assert {k: held[k] for k in ("code", "externalId", "type", "status", "version")} == {
        "code": "BYOT",
        "externalId": "BYOT-2026",
        "type": "DR",
        "status": "Active",
        "version": 3,
    }
    assert (held["rules"], held["dacsMessageId"]) == ([], "PRM-BYOT-3")
    history = get(client, viewer, "/api/v1/programs/BYOT/versions")["versions"]
    assert [(v["version"], v["receivedAt"]) for v in history] == [
        (1, "2026-06-01T12:00:00+00:00"),
        (2, "2026-06-02T12:00:00+00:00"),
        (3, "2026-06-03T12:00:00+00:00"),
    ]
    assert history[0]["rules"] == [rule()]
    assert history[1]["rules"] == [rule(minRestMin=360), winter]
    assert history[2]["rules"] == []


def test_the_rules_in_force_follow_the_planning_moment_and_the_day(
    client: TestClient, hub_headers: Headers, viewer: Headers, clock: FixedClock
) -> None:
    send_programs(client, hub_headers, program("BYOT", 1, rule()))  # 2026-06-01 12:00 UTC
    clock.advance(days=10)
    winter = rule("PR-2", effectiveFrom="2026-12-01", effectiveTo=None)
    send_programs(client, hub_headers, program("BYOT", 2, rule(minRestMin=360), winter))

    def in_force(planned_at: str, day: str) -> tuple[int | None, list[tuple[str, int]]]:
        answer = client.get(
            "/api/v1/programs/BYOT/rules",
            params={"plannedAt": planned_at, "day": day},
            headers=viewer,
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["code"], body["day"]) == ("BYOT", day)
        return body["version"], [(r["ruleId"], r["minRestMin"]) for r in body["rules"]]

    assert in_force("2026-06-01T04:59:59-07:00", "2026-07-01") == (None, [])
    assert in_force("2026-06-01T05:00:00-07:00", "2026-07-01") == (1, [("PR-1", 720)])
    assert in_force("2026-06-11T04:59:59-07:00", "2026-07-01") == (1, [("PR-1", 720)])
    assert in_force("2026-06-11T12:00:00Z", "2026-07-01") == (2, [("PR-1", 360)])
    assert in_force("2026-06-11T12:00:00Z", "2026-10-01") == (2, [])  # effectiveTo excluded
    assert in_force("2026-06-11T12:00:00Z", "2026-12-01") == (2, [("PR-2", 720)])


def test_a_planning_moment_without_an_offset_is_refused(
    client: TestClient, hub_headers: Headers, viewer: Headers
) -> None:
    send_programs(client, hub_headers, program("BYOT", 1, rule()))
    answer = client.get(
        "/api/v1/programs/BYOT/rules",
        params={"plannedAt": "2026-06-11T12:00:00", "day": "2026-07-01"},
        headers=viewer,
    )
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "query.plannedAt"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/programs/NOPE",
        "/api/v1/programs/NOPE/versions",
        "/api/v1/programs/NOPE/rules?plannedAt=2026-06-11T12:00:00Z&day=2026-07-01",
        "/api/v1/aggregators/NOPE",
    ],
)
def test_an_unknown_code_is_a_404(client: TestClient, viewer: Headers, path: str) -> None:
    answer = client.get(path, headers=viewer)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert "'NOPE'" in answer.json()["detail"]


def test_a_record_whose_shape_breaks_the_contract_refuses_the_batch(
    client: TestClient, hub_headers: Headers, viewer: Headers
) -> None:
    unknown_field = program("PEAK", 1, rule())
    unknown_field["rules"][0]["color"] = "red"
    for bad in (program("PEAK", 1, rule(windowEnd="24:00")), unknown_field):
        answer = client.post(
            RULES,
            json={"batchId": "B-1", "programs": [program("BYOT", 1), bad]},
            headers=hub_headers,
        )
        assert answer.status_code == 422, answer.text
    assert get(client, viewer, "/api/v1/programs")["items"] == []


def test_the_rows_hold_every_field_of_the_contract(
    client: TestClient, hub_headers: Headers, part: Any
) -> None:
    send_programs(client, hub_headers, program("BYOT", 1, rule(overridable=True)))
    with part.db.read() as conn:
        stored = conn.execute(sa.select(program_rule_versions)).one()._asdict()
        held = conn.execute(sa.select(programs)).one()._asdict()
    assert stored == {
        "program_code": "BYOT",
        "version": 1,
        "rule_id": "PR-1",
        "effective_from": "2026-06-01",
        "effective_to": "2026-10-01",
        "allow_event_days": '["WEEKDAY"]',
        "window_start": "12:00",
        "window_end": "20:00",
        "min_event_duration_min": 30,
        "max_event_duration_min": 240,
        "max_events_per_cycle": 15,
        "cycle_frequency": "SEASON",
        "max_overrides_per_cycle": 3,
        "opt_out_cutoff_min": 60,
        "min_rest_min": 720,
        "overridable": True,
        "received_at": "2026-06-01T12:00:00+00:00",
    }
    assert held == {
        "code": "BYOT",
        "external_id": "BYOT-2026",
        "program_type": "DR",
        "status": "Active",
        "version": 1,
        "received_at": "2026-06-01T12:00:00+00:00",
        "dacs_message_id": "PRM-BYOT-1",
    }


# --- Aggregators -----------------------------------------------------------------------------


def test_aggregators_are_kept_at_their_newest_version_and_an_inactive_one_stays(
    client: TestClient, hub_headers: Headers, viewer: Headers, clock: FixedClock
) -> None:
    first = send_aggregators(
        client,
        hub_headers,
        aggregator("VPP-NORTH", 1),
        aggregator("VPP-SOUTH", 1, startDate="2026-05-01", endDate="2026-05-01"),
        aggregator("VPP-EAST", 4),
    )
    clock.advance(hours=2)
    second = send_aggregators(
        client,
        hub_headers,
        aggregator("VPP-NORTH", 2, status="Inactive", endDate="2026-07-01"),
        aggregator("VPP-EAST", 4, name="Renamed"),
        aggregator("VPP-EAST", 3, name="Older"),
    )

    assert outcomes(first) == [
        ("VPP-NORTH", 1, "Applied"),
        ("VPP-SOUTH", 1, "Rejected"),
        ("VPP-EAST", 4, "Applied"),
    ]
    assert (first[1]["errorCode"], first[1]["detail"]) == (
        "DERMS-AGGREGATOR-INVALID",
        "endDate 2026-05-01 is not after startDate 2026-05-01",
    )
    assert outcomes(second) == [
        ("VPP-NORTH", 2, "Applied"),
        ("VPP-EAST", 4, "Stale"),
        ("VPP-EAST", 3, "Stale"),
    ]
    held = get(client, viewer, "/api/v1/aggregators")["items"]
    assert [(a["code"], a["status"], a["version"], a["name"]) for a in held] == [
        ("VPP-EAST", "Active", 4, "Northern VPP"),
        ("VPP-NORTH", "Inactive", 2, "Northern VPP"),
    ]
    north = get(client, viewer, "/api/v1/aggregators/VPP-NORTH")
    expected = aggregator("VPP-NORTH", 2, status="Inactive", endDate="2026-07-01")
    assert north == {**expected, "receivedAt": "2026-06-01T14:00:00+00:00"}


def test_an_aggregator_holds_defaults_for_the_fields_a_record_leaves_out(
    client: TestClient, hub_headers: Headers, viewer: Headers
) -> None:
    bare = {"dacsMessageId": "AGM-1", "code": "VPP-WEST", "status": "Active", "version": 1}
    assert outcomes(send_aggregators(client, hub_headers, bare)) == [("VPP-WEST", 1, "Applied")]
    held = get(client, viewer, "/api/v1/aggregators/VPP-WEST")
    assert held["contact"] == {"name": "", "email": "", "phone": ""}
    assert (held["startDate"], held["endDate"], held["programs"]) == (None, None, [])


# --- Scopes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "method", "path"),
    [
        ("viewer", "POST", RULES),
        ("viewer", "POST", AGGREGATORS),
        ("cpm", "POST", RULES),
        ("analytics", "GET", "/api/v1/programs"),
        ("analytics", "GET", "/api/v1/aggregators/VPP-NORTH"),
    ],
)
def test_a_client_without_the_scope_is_refused_with_403(
    edge_client: TestClient, credentials: Any, who: str, method: str, path: str
) -> None:
    body = {"batchId": "B-1", "programs": [program("BYOT", 1)]} if method == "POST" else None
    answer = edge_client.request(method, path, json=body, headers=credentials.client(who).header())
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "DL-FORBIDDEN"


def test_the_operator_may_deliver_master_data(edge_client: TestClient, operator: Headers) -> None:
    results = send_programs(edge_client, operator, program("BYOT", 1, rule()))
    assert outcomes(results) == [("BYOT", 1, "Applied")]


# --- Schema revision -------------------------------------------------------------------------


def test_a_database_at_the_first_revision_gains_the_master_data_tables(database_url: str) -> None:
    sqlite = database_url.startswith("sqlite")
    engine = make_engine(database_url, schema=None if sqlite else "derms")
    tables = (program_rule_versions, program_versions, programs, aggregators)
    try:
        at_revision(engine, SCHEMA, "0001")
        with engine.begin() as conn:  # as revision 0001 left it
            for table in (*tables, *INPUTS_TABLES):
                table.drop(conn)
        assert upgrade(engine, SCHEMA).ran == (
            "0002",
            "0003",
            "0004",
            "0005",
            "0006",
            "0007",
            "0008",
            "0009",
            "0010",
            "0011",
        )
        assert {t.name for t in tables} <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_contract_example_is_a_record_derms_applies(
    client: TestClient, hub_headers: Headers
) -> None:
    assert outcomes(send_programs(client, hub_headers, PROGRAM_RULES_EXAMPLE)) == [
        ("BYOT", 3, "Applied")
    ]
    assert outcomes(send_aggregators(client, hub_headers, AGGREGATOR_EXAMPLE)) == [
        ("VPP-NORTH", 2, "Applied")
    ]
