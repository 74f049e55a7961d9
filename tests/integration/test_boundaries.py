"""The import boundaries hold: each import that would cross one, injected into a copy of the
source tree, breaks the gate's import-linter contracts (pyproject.toml)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the source tree and of the contracts, to inject imports into."""
    root = tmp_path_factory.mktemp("tree")
    shutil.copytree(
        ROOT / "src" / "derlink", root / "src" / "derlink", ignore=shutil.ignore_patterns("*.pyc")
    )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", "pyproject.toml", "--no-cache"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root / "src")},
        capture_output=True,
        text=True,
        timeout=120,
    )


def verdicts(stdout: str) -> dict[str, str]:
    """Each contract's name and KEPT or BROKEN, from lint-imports' report (names may wrap)."""
    report = stdout.split("dependencies.", 1)[-1].split("Contracts:", 1)[0]
    text = " ".join(report.replace("-", " ").split())
    text = re.sub(r"\(\d+ ignored imports?\) ?", "", text)
    return {m[1]: m[2] for m in re.finditer(r"(.+?) (KEPT|BROKEN)(?: |$)", text)}


def test_the_tree_as_it_is_keeps_every_contract(tree: Path):
    result = lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    found = verdicts(result.stdout)
    contracts = tomllib.loads((tree / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert len(found) == len(contracts["contracts"]) and set(found.values()) == {"KEPT"}, found


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # A feature's domain model reaching its own tables, or another feature's.
        ("cpm/enrollment/model.py", "from derlink.cpm.enrollment import tables", "Inside each"),
        ("cpm/enrollment/model.py", "from derlink.cpm.catalog import tables", "Domain models"),
        ("cpm/catalog/model.py", "from derlink.cpm.catalog import service", "Inside each"),
        # A domain model reaching a database, an HTTP client, a file store or a data frame.
        ("derms/registry/model.py", "import boto3", "Domain models"),
        ("derms/registry/model.py", "import httpx", "Domain models"),
        ("derms/registry/model.py", "import asyncssh", "Domain models"),
        ("derms/registry/model.py", "import polars", "Domain models"),
        # The console reaching a part other than through its HTTP API or the hub.
        ("console/records.py", "from derlink.cpm.enrollment import tables", "console"),
        ("console/records.py", "from derlink.derms.registry import service", "console"),
        # A part reaching another part.
        ("cpm/enrollment/service/subscriptions.py", "import derlink.derms.registry.model", "four"),
        # A part's tables reaching up into its services, an API below its service.
        ("cpm/enrollment/tables.py", "from derlink.cpm.enrollment.service import reads", "Inside"),
        ("cpm/catalog/service.py", "from derlink.cpm.catalog import api", "Inside each"),
        ("derms/registry/service.py", "from derlink.derms import app", "derms:"),
        # A new module under analytics' pure kernels reaching a database or the web.
        ("analytics/kernels/new_kernel.py", "import sqlalchemy", "Analytics kernels"),
        ("analytics/kernels/baselines/new_method.py", "import fastapi", "Analytics kernels"),
        (
            "analytics/kernels/forecast.py",
            "from derlink.platform import files",
            "Analytics kernels",
        ),
        # A hub flow reaching the hub's tables, or its engine.
        ("hub/flows/enr_sync.py", "from derlink.hub import tables", "Flows use"),
        ("hub/flows/ouai_enr_ack.py", "from derlink.hub.tracking import InstanceStore", "Flows"),
        ("hub/flows/enr_req.py", "import dbos", "Flows use"),
        # The file-intake machinery's pure records stay pure.
        ("analytics/enrollments/model.py", "from derlink.platform import database", "Domain"),
    ],
)
def test_an_import_across_a_boundary_breaks_the_gate(
    tree: Path, module: str, line: str, contract: str
):
    path = tree / "src" / "derlink" / module
    original = path.read_text() if path.exists() else None
    path.write_text((original or "") + f"\n{line}  # injected\n")
    try:
        result = lint(tree)
    finally:
        if original is None:
            path.unlink()
        else:
            path.write_text(original)
    assert result.returncode != 0, f"{line} in {module} broke nothing:\n{result.stdout}"
    broken = [name for name, verdict in verdicts(result.stdout).items() if verdict == "BROKEN"]
    assert any(name.startswith(contract) for name in broken), broken
