"""The web edge every part shares (platform/web.py): credentials before the body, and the body
limit on chunked bodies, through every part's API as the composition root builds it, on
SQLite and PostgreSQL."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from derlink.bootstrap import DEFAULT_CLIENTS, Platform
from derlink.hub.catalog import CATALOG, FLOWS
from derlink.platform.web import JsonRoute
from tests.support.servers import serve

PARTS = ("hub", "cpm", "derms", "analytics")
#: What a part's API serves to anyone: its OpenAPI document and the pages that show it.
PUBLIC = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
EIGHT_MIB = 8 * 1024 * 1024


def operations(app: FastAPI) -> list[tuple[str, str, bool]]:
    """Every operation of a part's API, from its OpenAPI document: (method, path with each
    parameter filled, whether it takes a body)."""
    found = []
    for path, methods in app.openapi()["paths"].items():
        filled = "/".join("X" if p.startswith("{") else p for p in path.split("/"))
        for method, operation in methods.items():
            found.append((method.upper(), filled, "requestBody" in operation))
    return found


def api_routes(routes: list[Any]) -> Iterator[Any]:
    """The routes of an app, those of included routers too."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)
        else:
            yield route


def test_every_route_of_every_part_reads_its_body_through_the_edge(platform: Platform):
    for name in PARTS:
        app = platform.parts[name].app
        others = {r.path for r in api_routes(app.routes) if not isinstance(r, JsonRoute)}
        assert others == PUBLIC, name


def test_the_api_documentation_is_public(http: TestClient):
    for name in PARTS:
        assert http.get(f"/{name}/openapi.json").status_code == 200
        assert http.get(f"/{name}/docs").status_code == 200


def test_every_operation_refuses_a_call_without_credentials_before_parsing_its_body(
    platform: Platform, http: TestClient
):
    """A malformed body without credentials is a 401, as a call without a body is: the 422 of
    the body would tell a caller without credentials about the route."""
    expected = http.get("/hub/api/v1/flows").json()
    for name in PARTS:
        for method, path, has_body in operations(platform.parts[name].app):
            answer = http.request(
                method,
                f"/{name}{path}",
                content=b"{not json" if has_body else None,
                headers={"content-type": "application/json"} if has_body else {},
            )
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.headers["www-authenticate"] == 'Bearer realm="derlink"'
            assert answer.json() == expected, (method, path)


def documented_scopes(app: FastAPI) -> dict[tuple[str, str], list[set[str]]]:
    """The scopes each operation's security requirements name: (method, filled path) → the
    alternatives, each a set of scopes to hold."""
    found = {}
    for path, methods in app.openapi()["paths"].items():
        filled = "/".join("X" if p.startswith("{") else p for p in path.split("/"))
        for method, operation in methods.items():
            found[(method.upper(), filled)] = [
                set(r["bearer"]) for r in operation.get("security", []) if "bearer" in r
            ]
    return found


def test_every_operation_answers_exactly_the_clients_holding_the_scopes_it_documents(
    platform: Platform, http: TestClient
):
    """The scopes in an operation's security requirements are the ones it checks: a client
    holding them gets past the credential check, any other client gets 403."""
    for name in PARTS:
        app = platform.parts[name].app
        scopes = documented_scopes(app)
        for method, path, has_body in operations(app):
            alternatives = scopes[(method, path)]
            assert alternatives, (name, method, path, "documents no scopes")
            for client, held in DEFAULT_CLIENTS.items():
                answer = http.request(
                    method,
                    f"/{name}{path}",
                    json={} if has_body else None,
                    headers=platform.credentials.client(client).header(),
                )
                allowed = any(needed <= set(held) for needed in alternatives)
                if allowed:
                    assert answer.status_code not in (401, 403, 500), (method, path, client)
                else:
                    assert answer.status_code == 403, (method, path, client, answer.text)


def test_every_operation_documents_its_credentials_and_the_edge_errors(platform: Platform):
    for name in PARTS:
        document = platform.parts[name].app.openapi()
        assert set(document["components"]["securitySchemes"]) == {"bearer", "basic"}
        for path, methods in document["paths"].items():
            for method, operation in methods.items():
                where = (name, method, path)
                errors = {"401", "403", "422", "429", "503"}
                if "requestBody" in operation:
                    errors |= {"400", "413"}
                    media = operation["requestBody"]["content"]["application/json"]
                    assert "example" in media or "examples" in media, where
                if "{" in path:
                    errors.add("404")
                assert errors <= set(operation["responses"]), where
                for status, response in operation["responses"].items():
                    if status.startswith(("4", "5")) and (name, status) != ("derms", "503"):
                        media = response["content"]["application/problem+json"]
                        assert media["example"]["status"] == int(status), where
                success = [s for s in operation["responses"] if s.startswith("2")]
                assert len(success) == 1, where
                content = operation["responses"][success[0]]["content"]
                assert content and all(m["schema"] != {} for m in content.values()), where


def documented_examples(document: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """Every example of a published document: (where, its schema, the example)."""
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            bodies = [("request", operation.get("requestBody", {}).get("content", {}))]
            bodies += [
                (status, r.get("content", {})) for status, r in operation["responses"].items()
            ]
            for what, content in bodies:
                for media_type, media in content.items():
                    where = f"{method.upper()} {path} {what} {media_type}"
                    assert "example" in media or "examples" in media, where
                    if "example" in media:
                        yield where, media["schema"], media["example"]
                    for name, named in media.get("examples", {}).items():
                        yield f"{where} {name}", media["schema"], named["value"]


def test_every_request_and_answer_has_an_example_that_its_schema_takes(platform: Platform):
    for name in PARTS:
        document = platform.parts[name].app.openapi()
        checked = 0
        for where, schema, example in documented_examples(document):
            # The schema's references point into the document's components.
            validator = Draft202012Validator({**schema, "components": document["components"]})
            problems = [e.message for e in validator.iter_errors(example)]
            assert problems == [], f"{name} {where}: {problems}"
            checked += 1
        assert checked > 3 * len(document["paths"]), name


def test_the_intake_documents_the_batch_of_every_flow_that_takes_messages(platform: Platform):
    document = platform.parts["hub"].app.openapi()
    body = document["paths"]["/api/v1/flows/{code}/messages"]["post"]["requestBody"]
    media = body["content"]["application/json"]
    message_flows = {spec.code for spec in CATALOG if spec.trigger == "message"}
    assert message_flows >= {"ENR-REQ", "ENR-SYNC", "ENR-ACK", "PROG-RULE", "AGGREGATOR"}
    assert set(media["examples"]) == message_flows
    fields = {
        next(f for f in shape["properties"] if f != "batchId") for shape in media["schema"]["anyOf"]
    }
    assert fields == {spec.field for spec in CATALOG if spec.trigger == "message"}


def test_a_flow_example_is_a_batch_the_flow_accepts(platform: Platform, http: TestClient):
    document = platform.parts["hub"].app.openapi()
    body = document["paths"]["/api/v1/flows/{code}/messages"]["post"]["requestBody"]
    for code, example in body["content"]["application/json"]["examples"].items():
        sender = FLOWS[code].source
        answer = http.post(
            f"/hub/api/v1/flows/{code}/messages",
            json=example["value"],
            headers=platform.credentials.client(sender).header(),
        )
        assert answer.status_code == 202, (code, answer.text)


async def call_with_a_large_body(app: FastAPI, method: str, path: str) -> tuple[int, int]:
    """Call ``app`` as a server does, with 8 MiB declared and there to be received, without
    credentials: the status it answers, and how many times it asked for the body."""
    received: list[int] = []
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        received.append(1)
        return {"type": "http.request", "body": b"{" * 1024, "more_body": True}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(EIGHT_MIB).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8400),
    }
    await app(scope, receive, send)
    return sent[0]["status"], len(received)


@pytest.mark.parametrize("name", PARTS)
async def test_without_credentials_not_a_byte_of_the_body_is_read(platform: Platform, name: str):
    app = platform.parts[name].app
    for method, path, has_body in operations(app):
        if has_body:
            answer = await call_with_a_large_body(app, method, path)
            assert answer == (401, 0), (name, method, path)


def test_a_server_answers_401_before_the_body_arrives(platform: Platform):
    """Through a real server: headers that announce 8 MiB, and not one byte of the body."""
    with serve(platform.parts["hub"].app) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as conn:
            conn.sendall(
                b"POST /api/v1/flows/ENR-SYNC/messages HTTP/1.1\r\n"
                b"Host: hub\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % EIGHT_MIB
            )
            status_line = conn.makefile("rb").readline()
    assert status_line.split()[1] == b"401", status_line


def test_a_chunked_body_over_the_limit_gets_413_like_a_sized_one(platform: Platform):
    """9 MiB over the default 8 MiB limit, sent in chunks without a declared length, through a
    real server (the in-process client sends a body whole)."""
    hub = platform.credentials.client("cpm").header()

    def chunks() -> Iterator[bytes]:
        yield b'{"batchId":"B1","messages":['
        for _ in range(9):
            yield b" " * (1024 * 1024)
        yield b"]}"

    with serve(platform.parts["hub"].app) as base, httpx.Client(base_url=base) as http:
        headers = {**hub, "content-type": "application/json"}
        chunked = http.post("/api/v1/flows/ENR-SYNC/messages", content=chunks(), headers=headers)
        sized = http.post(
            "/api/v1/flows/ENR-SYNC/messages", content=b"".join(chunks()), headers=headers
        )
    assert "content-length" not in chunked.request.headers
    assert chunked.request.headers["transfer-encoding"] == "chunked"
    for answer in (chunked, sized):
        assert answer.status_code == 413, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"] == f"request body exceeds the limit of {EIGHT_MIB} bytes"


def test_an_unknown_route_or_method_and_an_unreadable_body_answer_problem_json(
    http: TestClient, platform: Platform
):
    operator = platform.credentials.client("operator").header()
    for name in PARTS:
        unknown = http.get(f"/{name}/api/v1/no-such-route", headers=operator)
        assert unknown.status_code == 404, name
        assert unknown.headers["content-type"] == "application/problem+json", name
        assert unknown.json()["status"] == 404, name
        wrong = http.delete(f"/{name}/api/v1/health", headers=operator)
        assert wrong.status_code == 405, name
        assert wrong.headers["content-type"] == "application/problem+json", name
        assert "allow" in wrong.headers, name
    latin1 = http.post(
        "/cpm/api/v1/programs",
        content='{"programCode": "Caf\u00e9"}'.encode("latin-1"),
        headers={**operator, "content-type": "application/json"},
    )
    assert 400 <= latin1.status_code < 500
    assert latin1.headers["content-type"] == "application/problem+json"
    assert latin1.json()["status"] == latin1.status_code


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def test_every_reference_in_every_published_document_resolves(platform: Platform):
    for name in PARTS:
        document = platform.parts[name].app.openapi()
        for ref in _references(document):
            assert ref.startswith("#/"), (name, ref)
            node: Any = document
            for step in ref.removeprefix("#/").split("/"):
                assert isinstance(node, dict) and step in node, f"{name}: {ref} does not resolve"
                node = node[step]


def test_metrics_are_documented_and_served_as_text(http: TestClient, platform: Platform):
    operation = platform.parts["hub"].app.openapi()["paths"]["/api/v1/metrics"]["get"]
    assert list(operation["responses"]["200"]["content"]) == ["text/plain"]
    reader = platform.credentials.client("operator").header()
    served = http.get("/hub/api/v1/metrics", headers=reader)
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/plain")
