"""The CLI without a server: its version, and every error as one line and a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from derlink.analytics.kernels.baselines.methods import METHODS, UnknownMethod, method_of
from derlink.analytics.kernels.baselines.names import METHOD_NAMES
from derlink.cli.main import run
from derlink.platform.auth import CredentialStore


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """What a failed command said: exactly one line, on standard error."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    assert lines[0].startswith("error: ")
    return lines[0]


def test_version(capsys: pytest.CaptureFixture[str]):
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.startswith("derlink 0.")


def test_no_command_shows_the_help(capsys: pytest.CaptureFixture[str]):
    assert run([]) == 0
    assert "Usage: derlink" in capsys.readouterr().out


def test_an_unknown_command_is_one_line_with_where_to_look(capsys: pytest.CaptureFixture[str]):
    assert run(["nosuch"]) == 2
    assert one_error_line(capsys) == "error: No such command 'nosuch'. (see: derlink --help)"


def test_a_setting_that_is_not_a_number_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DERLINK_PORT", "abc")
    assert run(["flows", "list"]) == 1
    assert one_error_line(capsys) == "error: DERLINK_PORT must be a whole number, not 'abc'"


def test_a_time_zone_that_does_not_exist_is_named(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DERLINK_TIME_ZONE", "Mars/Olympus")
    assert run(["flows", "list"]) == 1
    assert "DERLINK_TIME_ZONE must be an IANA time zone" in one_error_line(capsys)


def test_a_data_directory_without_credentials_says_how_to_start(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
):
    assert run(["hospital", "list", "--home", str(tmp_path)]) == 1
    line = one_error_line(capsys)
    assert str(tmp_path / "credentials.json") in line and "derlink up" in line


def test_a_server_that_does_not_answer_is_named_with_where_its_address_came_from(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
):
    CredentialStore.load_or_create(tmp_path / "credentials.json", {"operator": ["hub:read"]})
    (tmp_path / "server.json").write_text(json.dumps({"url": "http://127.0.0.1:9", "pid": 1}))
    assert run(["flows", "list", "--home", str(tmp_path)]) == 1
    line = one_error_line(capsys)
    assert "not reachable at http://127.0.0.1:9/hub/api/v1/flows" in line
    assert f"the address from {tmp_path / 'server.json'}" in line


def test_a_missing_input_file_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    args = ["analytics", "kwh-avoided", "-m", str(tmp_path / "none.csv"), "--events"]
    args += [str(tmp_path / "events.csv"), "--event-id", "E1", "--out-dir", str(tmp_path)]
    assert run(args) == 2
    line = one_error_line(capsys)
    assert f"'{tmp_path / 'none.csv'}' does not exist" in line


def test_a_demo_of_no_customers_is_refused_before_it_starts(capsys: pytest.CaptureFixture[str]):
    assert run(["demo", "--customers", "-5"]) == 2
    assert "'--customers': Input should be greater than or equal to 1" in one_error_line(capsys)


def test_an_unknown_method_lists_every_method():
    assert list(METHOD_NAMES) == METHODS
    with pytest.raises(UnknownMethod) as refused:
        method_of("caltrack")
    assert str(refused.value) == (
        "unknown baseline method 'caltrack'; the methods are caiso-10-in-10, nyiso-5-of-10, "
        "pjm-high-4-of-5, caltrack-hourly"
    )
