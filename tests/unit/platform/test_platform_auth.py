import base64
import stat
from pathlib import Path

import pytest

from derlink.common.errors import ConfigurationError
from derlink.platform.auth import CredentialStore, Forbidden, Unauthorized, compose_clients

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
