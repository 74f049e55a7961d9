import base64
import stat
from pathlib import Path

import pytest

from derlink.common.errors import ConfigurationError
from derlink.platform.auth import CredentialStore, Forbidden, Unauthorized


def test_the_first_start_writes_credentials_readable_by_the_owner_only(tmp_path: Path):
    path = tmp_path / "credentials.json"
    store = CredentialStore.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = CredentialStore.load_or_create(path)
    assert again.client("hub").secret == store.client("hub").secret


def test_a_credentials_file_others_can_read_is_refused(tmp_path: Path):
    path = tmp_path / "credentials.json"
    CredentialStore.load_or_create(path)
    path.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        CredentialStore.load_or_create(path)


def test_bearer_and_basic_credentials_authenticate_the_same_client():
    store = CredentialStore.generate()
    hub = store.client("hub")
    assert store.authenticate(f"Bearer {hub.bearer()}").client_id == "hub"
    basic = base64.b64encode(f"hub:{hub.secret}".encode()).decode()
    assert store.authenticate(f"Basic {basic}").client_id == "hub"


@pytest.mark.parametrize(
    "header", [None, "", "Bearer hub.wrong", "Token x", "Basic !!!", "Bearer nobody.x"]
)
def test_missing_or_wrong_credentials_are_unauthorized(header: str | None):
    with pytest.raises(Unauthorized):
        CredentialStore.generate().authenticate(header)


def test_scopes_are_enforced():
    store = CredentialStore.generate()
    store.require(store.client("operator"), "hub:operate")
    with pytest.raises(Forbidden, match="hub:operate"):
        store.require(store.client("viewer"), "hub:operate")
