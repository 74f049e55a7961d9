import base64
import io
import logging
import stat
from pathlib import Path

import orjson
import pytest

from derlink.common.errors import ConfigurationError
from derlink.platform.auth import (
    AttemptLimits,
    CredentialStore,
    Forbidden,
    TooManyAttempts,
    Unauthorized,
    compose_clients,
)
from derlink.platform.logs import JsonFormatter

#: Two parts' grants, as each part's scopes.py declares them.
CLIENTS = compose_clients(
    {"operator": ("a:read", "a:write"), "viewer": ("a:read",), "hub": ("a:read",)},
    {"operator": ("b:operate", "a:read"), "viewer": ("b:read",)},
)


def test_the_first_start_writes_credentials_readable_by_the_owner_only(tmp_path: Path):
    path = tmp_path / "credentials.json"
    store = CredentialStore.load_or_create(path, CLIENTS)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = CredentialStore.load_or_create(path, CLIENTS)
    assert again.client("hub").secret == store.client("hub").secret


def test_a_credentials_file_others_can_read_is_refused(tmp_path: Path):
    path = tmp_path / "credentials.json"
    CredentialStore.load_or_create(path, CLIENTS)
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        CredentialStore.load(path)


def test_bearer_and_basic_credentials_authenticate_the_same_client():
    store = CredentialStore.generate(CLIENTS)
    hub = store.client("hub")
    assert store.authenticate(f"Bearer {hub.bearer()}").client_id == "hub"
    basic = base64.b64encode(f"hub:{hub.secret}".encode()).decode()
    assert store.authenticate(f"Basic {basic}").client_id == "hub"


@pytest.mark.parametrize(
    "header", [None, "", "Bearer hub.wrong", "Token x", "Basic !!!", "Bearer nobody.x"]
)
def test_missing_or_wrong_credentials_are_unauthorized(header: str | None):
    with pytest.raises(Unauthorized):
        CredentialStore.generate(CLIENTS).authenticate(header)


def test_scopes_are_enforced():
    store = CredentialStore.generate(CLIENTS)
    store.require(store.client("operator"), "b:operate")
    with pytest.raises(Forbidden, match="b:operate"):
        store.require(store.client("viewer"), "b:operate")


def test_the_parts_grants_compose_into_one_client_each_in_the_order_they_come():
    assert CLIENTS == {
        "operator": ("a:read", "a:write", "b:operate"),
        "viewer": ("a:read", "b:read"),
        "hub": ("a:read",),
    }


def test_reading_credentials_that_are_not_there_says_where_it_looked(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="no credentials file at"):
        CredentialStore.load(tmp_path / "credentials.json")


class Ticks:
    """Monotonic time the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


LIMITS = AttemptLimits(per_client=3, per_address=5, window_s=60.0)


def _store(ticks: Ticks) -> CredentialStore:
    return CredentialStore.generate(CLIENTS, limits=LIMITS, clock=ticks)


def _wrong(store: CredentialStore, client: str, remote: str) -> None:
    with pytest.raises(Unauthorized) as refused:
        store.authenticate(f"Bearer {client}.wrong", remote=remote)
    assert not isinstance(refused.value, TooManyAttempts)


def test_after_the_limit_of_wrong_secrets_even_the_right_one_waits_until_the_window_passes():
    ticks = Ticks()
    store = _store(ticks)
    hub = store.client("hub")
    for _ in range(LIMITS.per_client):
        _wrong(store, "hub", "192.0.2.7")
    with pytest.raises(TooManyAttempts) as throttled:
        store.authenticate(f"Bearer {hub.bearer()}", remote="192.0.2.7")
    assert throttled.value.details["retryAfter"] == 60
    ticks.now += 45
    with pytest.raises(TooManyAttempts) as still:
        store.authenticate(f"Bearer {hub.bearer()}", remote="192.0.2.8")
    assert still.value.details["retryAfter"] == 15
    ticks.now += 15
    assert store.authenticate(f"Bearer {hub.bearer()}", remote="192.0.2.7") is hub


def test_an_unknown_client_is_throttled_like_a_known_one():
    store = _store(Ticks())
    for _ in range(LIMITS.per_client):
        _wrong(store, "nobody", "192.0.2.7")
    with pytest.raises(TooManyAttempts):
        store.authenticate("Bearer nobody.wrong", remote="192.0.2.9")


def test_failures_from_one_address_are_throttled_whatever_client_they_try():
    store = _store(Ticks())
    for n in range(LIMITS.per_address):
        _wrong(store, f"guess{n}", "198.51.100.1")
    with pytest.raises(TooManyAttempts):
        store.authenticate(f"Bearer {store.client('viewer').bearer()}", remote="198.51.100.1")
    # Another address is not concerned.
    assert store.authenticate(f"Bearer {store.client('viewer').bearer()}", remote="198.51.100.2")


def test_a_client_under_attack_still_works_from_where_it_authenticated_before():
    store = _store(Ticks())
    hub = store.client("hub")
    assert store.authenticate(f"Bearer {hub.bearer()}", remote="127.0.0.1") is hub
    for _ in range(LIMITS.per_client):
        _wrong(store, "hub", "203.0.113.5")
    with pytest.raises(TooManyAttempts):
        store.authenticate(f"Bearer {hub.bearer()}", remote="203.0.113.5")
    assert store.authenticate(f"Bearer {hub.bearer()}", remote="127.0.0.1") is hub


def test_a_success_forgets_the_failures_made_from_that_address():
    store = _store(Ticks())
    hub = store.client("hub")
    for _ in range(LIMITS.per_client - 1):
        _wrong(store, "hub", "192.0.2.7")
    assert store.authenticate(f"Bearer {hub.bearer()}", remote="192.0.2.7") is hub
    for _ in range(LIMITS.per_client - 1):
        _wrong(store, "hub", "192.0.2.7")
    assert store.authenticate(f"Bearer {hub.bearer()}", remote="192.0.2.7") is hub


def test_each_failure_is_one_json_line_naming_who_and_where_but_never_the_secret():
    store = _store(Ticks())
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("derlink.auth")
    logger.addHandler(handler)
    try:
        _wrong(store, "hub", "192.0.2.7")
        with pytest.raises(Unauthorized):
            store.authenticate(
                "Basic " + base64.b64encode(b"operator:guessed-pw").decode(), remote="192.0.2.7"
            )
        with pytest.raises(Unauthorized):
            store.authenticate("Basic !!!", remote="192.0.2.7")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    entries = [orjson.loads(line) for line in lines]
    assert [(e["event"], e["client"], e["remote"]) for e in entries] == [
        ("auth.failed", "hub", "192.0.2.7"),
        ("auth.failed", "operator", "192.0.2.7"),
        ("auth.failed", "", "192.0.2.7"),
    ]
    assert entries[2]["reason"] == "malformed Basic credentials"
    assert "wrong" not in stream.getvalue() and "guessed-pw" not in stream.getvalue()


# --- A credentials file an earlier derlink wrote ---------------------------------------------

EARLIER = {"operator": ("derms:read", "derms:write"), "viewer": ("derms:read",)}
LATER = {
    "operator": ("derms:read", "derms:write", "derms:events"),
    "viewer": ("derms:read",),
    "approver": ("derms:read", "derms:approve"),
}


def test_a_file_of_an_earlier_derlink_gains_the_new_clients_and_scopes_and_keeps_its_secrets(
    tmp_path, caplog
):
    path = tmp_path / "credentials.json"
    first = CredentialStore.load_or_create(path, EARLIER)
    secret = first.client("operator").secret
    with caplog.at_level(logging.WARNING, logger="derlink.auth"):
        later = CredentialStore.load_or_create(path, LATER)
    operator = later.client("operator")
    assert operator.secret == secret
    assert operator.scopes == {"derms:read", "derms:write", "derms:events"}
    assert later.client("approver").scopes == {"derms:read", "derms:approve"}
    assert (path.stat().st_mode & 0o777) == 0o600
    said = [r.getMessage() for r in caplog.records]
    assert any("client operator granted derms:events" in line for line in said)
    assert any("client approver added with derms:read, derms:approve" in line for line in said)
    again = CredentialStore.load(path)  # written: the next start reads the same
    assert again.client("approver").secret == later.client("approver").secret


def test_a_scope_an_operator_took_away_stays_away(tmp_path):
    path = tmp_path / "credentials.json"
    CredentialStore.load_or_create(path, LATER)
    data = orjson.loads(path.read_bytes())
    for client in data["clients"]:
        if client["client_id"] == "operator":
            client["scopes"].remove("derms:write")  # taken away by hand
    path.write_bytes(orjson.dumps(data))
    path.chmod(0o600)
    held = CredentialStore.load_or_create(path, LATER)
    assert "derms:write" not in held.client("operator").scopes


def test_a_file_written_before_scopes_were_recorded_counts_the_scopes_it_holds_as_known(tmp_path):
    path = tmp_path / "credentials.json"
    old = {
        "clients": [
            {"client_id": "operator", "secret": "s", "scopes": ["derms:read"]},
            {"client_id": "viewer", "secret": "v", "scopes": ["derms:read"]},
        ]
    }
    path.write_bytes(orjson.dumps(old))
    path.chmod(0o600)
    held = CredentialStore.load_or_create(
        path, {**LATER, "operator": ("derms:read", "derms:write")}
    )
    # derms:write was not in the file at all: new, so granted; the secret is kept.
    assert held.client("operator").scopes == {"derms:read", "derms:write"}
    assert held.client("operator").secret == "s"
