"""The vendored OpenADR 3.1.0 contract (docs/contracts/openadr/3.1.0): the document is the one
published, unchanged, with its licence beside it, and it holds what DERMS's VTN is to serve —
the objects, the auth endpoints and the scopes — and the known slips the VTN tolerates."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parents[2] / "docs" / "contracts" / "openadr" / "3.1.0"
SHA256 = "0a85f28a91565b3e2c7488d2a7a7a9afb11ce3ef6b35afddb328484720077006"


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((HERE / "openadr3.yaml").read_text())
    return loaded


def test_the_document_is_the_published_one_with_its_licence_beside_it() -> None:
    assert hashlib.sha256((HERE / "openadr3.yaml").read_bytes()).hexdigest() == SHA256
    notice = (HERE / "NOTICE").read_text()
    assert "OpenADR Alliance" in notice and "Apache License, Version 2.0" in notice
    assert "Apache License" in (HERE / "LICENSE").read_text()
    assert document()["info"]["license"]["name"] == "Apache 2.0"


def test_it_holds_every_object_the_vtn_serves_and_the_auth_endpoints() -> None:
    paths = document()["paths"]
    for collection in ("programs", "events", "reports", "subscriptions", "vens", "resources"):
        assert f"/{collection}" in paths
        item = next(p for p in paths if p.startswith(f"/{collection}/{{"))
        assert {"get", "put", "delete"} <= set(paths[item])
    assert "get" in paths["/auth/server"] and "post" in paths["/auth/token"]


def test_its_scopes_and_the_slip_the_vtn_tolerates() -> None:
    spec = document()
    schemes = spec["components"]["securitySchemes"]
    assert set(schemes) == {"oAuth2ClientCredentials", "bearerAuth"}
    declared = set(schemes["oAuth2ClientCredentials"]["flows"]["clientCredentials"]["scopes"])
    assert declared == {
        "read_all", "read_targets", "read_ven_objects", "write_programs", "write_events",
        "write_reports", "write_subscriptions", "write_vens",
    }  # fmt: skip
    used = {
        scope
        for methods in spec["paths"].values()
        for operation in methods.values()
        if isinstance(operation, dict)
        for requirement in operation.get("security", [])
        for scopes in requirement.values()
        for scope in scopes
    }
    # 3.1.0's slip: the notifier paths ask for read_bl, which no scheme declares.
    assert used - declared == {"read_bl"}
