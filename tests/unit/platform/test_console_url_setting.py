"""DERLINK_CONSOLE_URL: where the e-mails send people to open the console."""

from __future__ import annotations

import pytest

from derlink.common.errors import ConfigurationError
from derlink.platform.settings import Settings


def test_the_console_is_this_server_s_unless_set():
    assert Settings.from_env({}).console_address == "http://127.0.0.1:8400/console"
    moved = Settings.from_env({"DERLINK_HOST": "0.0.0.0", "DERLINK_PORT": "9000"})
    assert moved.console_address == "http://0.0.0.0:9000/console"
    proxied = Settings.from_env({"DERLINK_CONSOLE_URL": "https://ops.utility.example/console/"})
    assert proxied.console_address == "https://ops.utility.example/console"


def test_a_console_url_that_is_not_a_web_address_is_refused():
    with pytest.raises(ConfigurationError, match="DERLINK_CONSOLE_URL must be an http"):
        Settings.from_env({"DERLINK_CONSOLE_URL": "ops.utility.example"})
