"""derms's device scores and forecasts over HTTP, on SQLite and PostgreSQL: the latest per key
kept, a stale or repeated row changing nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from derlink.derms.inputs.schemas import FORECAST_EXAMPLE, SCORE_EXAMPLE
from derlink.derms.inputs.tables import device_scores, forecasts
from derlink.derms.migrations import SCHEMA
from derlink.platform.database import make_engine
from derlink.platform.migrations import upgrade
from tests.support.schemas import at_revision

from .support import Headers

SCORES = "/api/v1/device-scores"
FORECASTS = "/api/v1/forecasts"


def score(nic: str, value: int, at: str, he: str = "ECOBEE-HE") -> dict[str, Any]:
    return {**SCORE_EXAMPLE, "headEndSystem": he, "nicId": nic, "score": value, "scoreDateTime": at}


def forecast(sp: str, at: str, *p50: float) -> dict[str, Any]:
    band = {"p10Kw": [v / 2 for v in p50], "p50Kw": list(p50), "p90Kw": [v * 2 for v in p50]}
    return {**FORECAST_EXAMPLE, "spId": sp, "forecastDateTime": at, **band}


def post(
    client: TestClient, headers: Headers, path: str, field: str, file: str, *rows: dict[str, Any]
) -> dict[str, Any]:
    body = {"batchId": "B-1", "file": file, field: list(rows)}
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_the_latest_score_per_device_is_kept_and_an_older_file_changes_nothing(
    client: TestClient, hub_headers: Headers, viewer: Headers
) -> None:
    new, old = "2026-07-16T06:00:00Z", "2026-07-15T06:00:00Z"
    first = post(
        client,
        hub_headers,
        SCORES,
        "scores",
        "SDCSE_B.csv",
        score("N1", 80, new),
        score("N2", 40, new),
    )
    assert first == {"applied": 2, "stale": 0}
    # An older file, then the same file again: nothing changes.
    assert post(client, hub_headers, SCORES, "scores", "SDCSE_A.csv", score("N1", 10, old)) == {
        "applied": 0,
        "stale": 1,
    }
    assert post(client, hub_headers, SCORES, "scores", "SDCSE_B.csv", score("N2", 40, new)) == {
        "applied": 0,
        "stale": 1,
    }
    held = client.get(f"{SCORES}/ECOBEE-HE/N1", headers=viewer).json()
    assert (held["score"], held["file"], held["scoreDateTime"]) == (
        80,
        "SDCSE_B.csv",
        "2026-07-16T06:00:00Z",
    )
    newer = post(
        client,
        hub_headers,
        SCORES,
        "scores",
        "SDCSE_C.csv",
        score("N1", 90, "2026-07-17T06:00:00Z"),
    )
    assert newer == {"applied": 1, "stale": 0}
    assert client.get(f"{SCORES}/ECOBEE-HE/N1", headers=viewer).json()["score"] == 90


def test_scores_are_paged_by_device_and_an_unknown_device_is_404(
    client: TestClient, hub_headers: Headers, viewer: Headers
) -> None:
    at = "2026-07-16T06:00:00Z"
    rows = [score(f"N{i}", i, at, he) for he in ("HE-B", "HE-A") for i in range(3)]
    post(client, hub_headers, SCORES, "scores", "SDCSE_A.csv", *rows)
    seen: list[tuple[str, str]] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 4, **({"after": after} if after else {})}
        page = client.get(SCORES, params=params, headers=viewer).json()
        seen += [(s["headEndSystem"], s["nicId"]) for s in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert seen == [(he, f"N{i}") for he in ("HE-A", "HE-B") for i in range(3)]
    assert client.get(SCORES, params={"after": "HE-A"}, headers=viewer).status_code == 422
    missing = client.get(f"{SCORES}/HE-A/NOPE", headers=viewer)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


def test_the_latest_forecast_replaces_the_previous_one_whole(
    client: TestClient, hub_headers: Headers, viewer: Headers
) -> None:
    old, new = "2026-07-15T06:00:00Z", "2026-07-16T06:00:00Z"
    post(client, hub_headers, FORECASTS, "forecasts", "LRF_A.csv", forecast("SP1", old, 1, 2, 3))
    replaced = post(
        client, hub_headers, FORECASTS, "forecasts", "LRF_B.csv", forecast("SP1", new, 5)
    )
    assert replaced == {"applied": 1, "stale": 0}
    stale = post(
        client, hub_headers, FORECASTS, "forecasts", "LRF_A.csv", forecast("SP1", old, 1, 2, 3)
    )
    assert stale == {"applied": 0, "stale": 1}
    held = client.get(f"{FORECASTS}/SP1", headers=viewer).json()
    assert (held["p10Kw"], held["p50Kw"], held["p90Kw"]) == ([2.5], [5.0], [10.0])
    assert held["file"] == "LRF_B.csv"
    page = client.get(FORECASTS, headers=viewer).json()
    assert [f["spId"] for f in page["items"]] == ["SP1"] and page["next"] is None
    assert client.get(f"{FORECASTS}/SP9", headers=viewer).status_code == 404


def test_within_one_call_the_newest_row_of_a_key_wins(
    client: TestClient, hub_headers: Headers, viewer: Headers
) -> None:
    rows = [score("N1", 20, "2026-07-16T06:00:00Z"), score("N1", 30, "2026-07-14T06:00:00Z")]
    assert post(client, hub_headers, SCORES, "scores", "SDCSE_A.csv", *rows) == {
        "applied": 1,
        "stale": 1,
    }
    assert client.get(f"{SCORES}/ECOBEE-HE/N1", headers=viewer).json()["score"] == 20


def test_a_forecast_whose_band_and_expectation_differ_in_length_is_refused(
    client: TestClient, hub_headers: Headers
) -> None:
    body = {
        "batchId": "B",
        "file": "LRF_A.csv",
        "forecasts": [{**forecast("SP1", "2026-07-16T06:00:00Z", 1, 2), "p90Kw": [1.0]}],
    }
    answer = client.post(FORECASTS, json=body, headers=hub_headers)
    assert answer.status_code == 422
    assert "one value per interval" in answer.text


def test_only_the_inputs_scope_writes(client: TestClient, viewer: Headers) -> None:
    body = {"batchId": "B", "file": "SDCSE_A.csv", "scores": [SCORE_EXAMPLE]}
    assert client.post(SCORES, json=body, headers=viewer).status_code == 403


def test_a_database_at_the_master_data_revision_gains_the_inputs_tables(database_url: str) -> None:
    sqlite = database_url.startswith("sqlite")
    engine = make_engine(database_url, schema=None if sqlite else "derms")
    tables = (device_scores, forecasts)
    try:
        at_revision(engine, SCHEMA, "0003")
        with engine.begin() as conn:  # as revision 0003 left it
            for table in tables:
                table.drop(conn)
        assert upgrade(engine, SCHEMA).ran == (
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
