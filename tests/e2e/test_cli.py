"""The operator's CLI against a running derlink."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from derlink.cli.main import app
from derlink.cli.server import ServerProcess


@pytest.mark.slow
def test_the_operator_commands_work_against_a_running_platform(tmp_path: Path):
    home = tmp_path / "home"
    server = ServerProcess(home)
    server.start()
    env = {"DERLINK_HOME": str(home), "DERLINK_PORT": str(server.port), "COLUMNS": "200"}
    runner = CliRunner()
    try:
        flows = runner.invoke(app, ["flows", "list"], env=env)
        assert flows.exit_code == 0, flows.output
        assert "ENR-SYNC" in flows.output and "schedule 0 0 2 * * *" in flows.output

        paused = runner.invoke(app, ["flows", "pause", "ENR-SYNC"], env=env)
        assert paused.exit_code == 0 and "paused" in paused.output
        resumed = runner.invoke(app, ["flows", "resume", "ENR-SYNC"], env=env)
        assert "0 held instance(s) released" in resumed.output

        assert (
            runner.invoke(
                app, ["lookups", "set", "AssetSpec", "ACME!X1", "ACME-X"], env=env
            ).exit_code
            == 0
        )
        listed = runner.invoke(app, ["lookups", "list", "AssetSpec"], env=env)
        assert "ACME!X1" in listed.output and "ACME-X" in listed.output

        reconciled = runner.invoke(app, ["reconcile"], env=env)
        assert reconciled.exit_code == 0 and "0 difference(s)" in reconciled.output
        hospital = runner.invoke(app, ["hospital", "list"], env=env)
        assert "0 instance(s) in the hospital" in hospital.output

        refused = runner.invoke(app, ["flows", "run-now", "ENR-SYNC"], env=env)
        assert refused.exit_code == 1 and "not by a schedule" in refused.output
        missing = runner.invoke(app, ["hospital", "resubmit"], env=env)
        assert missing.exit_code != 0
    finally:
        server.stop()


def test_the_cli_says_how_to_start_derlink_when_there_are_no_credentials(tmp_path: Path):
    result = CliRunner().invoke(app, ["flows", "list"], env={"DERLINK_HOME": str(tmp_path)})
    assert result.exit_code != 0
    assert "derlink up" in result.output
