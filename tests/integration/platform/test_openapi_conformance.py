"""Every part answers as its published OpenAPI document says: schemathesis generates valid and
invalid calls to every operation of the hub, cpm, DERMS and analytics from the document alone,
with credentials holding the scopes the document names, and checks each answer: never a 5xx,
a status the operation documents, in the media type and the schema it documents for it.

On SQLite and on PostgreSQL, as the composition root builds the parts. The number of calls per
operation is a setting (``DERLINK_FUZZ_EXAMPLES``, 15 by default); the derandomized run is the
same on every machine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from derlink.bootstrap import DEFAULT_CLIENTS, Platform
from tests.integration.platform.test_web_edge import PARTS
from tests.support.servers import serve

EXAMPLES = int(os.environ.get("DERLINK_FUZZ_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def served(platform: Platform) -> Iterator[Platform]:
    """The platform served on its loopback port, where the parts reach each other (the hub's
    reconciliation asks cpm and DERMS); its background work does not run."""
    with serve(platform.app, platform.settings.port, lifespan="off"):
        yield platform


@pytest.fixture(scope="module", params=PARTS)
def part(request: pytest.FixtureRequest, served: Platform) -> tuple[Platform, str]:
    return served, str(request.param)


@pytest.fixture(scope="module")
def part_schema(part: tuple[Platform, str]) -> Any:
    platform, name = part
    schema = schemathesis.openapi.from_asgi("/openapi.json", platform.parts[name].app)
    return schema


def credentials_for(platform: Platform, security: list[dict[str, list[str]]]) -> dict[str, str]:
    """The Authorization header of a client holding the scopes one of the operation's
    documented security requirements names."""
    for requirement in security:
        needed = set(requirement.get("bearer", ()))
        for name, scopes in DEFAULT_CLIENTS.items():
            if needed <= set(scopes):
                return platform.credentials.client(name).header()
    raise AssertionError(f"no client holds the scopes of {security}")


def fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    """Call ``operation`` with the cases schemathesis generates in ``mode``, checking each
    answer; raises the failures found."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        max_examples=EXAMPLES,
        database=None,
    )
    def call(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    call()


def test_every_operation_answers_as_documented(part_schema: Any, part: tuple[Platform, str]):
    platform, name = part
    failures: list[str] = []
    for result in part_schema.get_all_operations():
        operation = result.ok()
        security = operation.definition.raw.get("security")
        headers = credentials_for(platform, security) if security else {}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode, headers)
            except (Exception, FailureGroup) as exc:  # every failure, listed at the end
                failures.append(f"{name} {operation.label} ({mode.value}): {exc}")
    assert failures == [], "\n\n".join(failures)
