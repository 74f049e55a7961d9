"""``derlink analytics outcomes list | files`` against a running analytics, on SQLite and
PostgreSQL: the outcomes narrowed and paged, the files with their first refusals, ids whole in a
narrow terminal, and an error as one line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from outcome_world import outcome, outcome_file
from part_world import build, put
from test_outcome_api import NAME, NEWER, stage_rows
from tests.support.servers import serve
from typer.testing import CliRunner

from derlink.cli.main import app as cli
from derlink.cli.main import run


def test_the_cli_lists_the_outcomes_and_the_files_of_a_running_analytics(
    tmp_path: Path, database_url: str
):
    part = build(tmp_path, database_url)
    long_stage = "SG-" + "0123456789abcdef" * 4  # longer than a narrow terminal's column
    put(part, NAME, stage_rows())
    put(part, NEWER, outcome_file(outcome(9, StageId=long_stage), outcome(10, Outcome="D1XX")))
    runner = CliRunner()
    narrow = {"COLUMNS": "60"}  # a narrow terminal: the ids stay whole

    def run(*args: str) -> str:
        result = runner.invoke(
            cli, ["analytics", "outcomes", *args, "--url", base, "--home", str(tmp_path)],
            env=narrow,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        return result.output

    try:
        with serve(part.app) as base:
            taken = run("intake")
            again = run("intake")
            listed = run("list")
            by_stage = run("list", "--stage", "SG-2")
            by_sp = run("list", "--sp", "SP1", "--json")
            first = run("list", "--limit", "2")
            files = run("files")
            nothing = run("list", "--event", "EV-NONE")
    finally:
        asyncio.run(part.stop())
    assert NAME in taken and NEWER in taken and f"Acked-{NEWER}" in taken
    assert "2 outcome file(s) taken" in taken
    assert again.strip() == "no outcome file was waiting: nothing taken"
    assert long_stage in listed and "NIC-5" in listed and NAME in listed
    assert "NIC-5" in by_stage and "NIC-1" not in by_stage
    assert [o["nicId"] for o in json.loads(by_sp)["items"]] == ["NIC-1", "NIC-3"]
    assert "more: --after 2" in first
    assert NAME in files and NEWER in files and f"ACK_{NAME}" in files
    assert "first refusals" in files and "AN-OUTCOME-TIME" in files and "AN-OUTCOME-VALUE" in files
    assert nothing.strip() == "no outcomes"


def test_a_cli_error_is_one_line_and_a_non_zero_exit(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
):
    part = build(tmp_path, database_url)
    home = ("--home", str(tmp_path))
    try:
        with serve(part.app) as base:
            refused = run(["analytics", "outcomes", "list", "--outcome", "D1XX", "--url", base,
                           *home])  # fmt: skip
            said = capsys.readouterr()
    finally:
        asyncio.run(part.stop())
    gone = run(["analytics", "outcomes", "files", "--url", base, *home])
    unreachable = capsys.readouterr()
    for status, captured, words in (
        (refused, said, "answered 422: query.outcome: Input should be 'D1SP'"),
        (gone, unreachable, "is not reachable at"),
    ):
        assert status == 1
        assert "Traceback" not in captured.err + captured.out
        (line,) = captured.err.strip().splitlines()
        assert line.startswith("error: ") and words in line
