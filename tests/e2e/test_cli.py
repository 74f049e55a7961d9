"""The operator's CLI against a running derlink: it finds the server, never cuts an id, says
empty results in words, shows times in the utility's zone, answers --json, and says in one
line what went wrong. ``derlink up`` refuses a second start on its data directory or its port
and stops on Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from derlink.cli.main import run
from derlink.cli.server import ServerProcess, free_port
from derlink.platform.auth import CredentialStore


class Cli:
    """The CLI as an operator runs it, with an environment of its own."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], home: Path
    ):
        self.monkeypatch, self.capsys = monkeypatch, capsys
        for name in ("DERLINK_PORT", "DERLINK_URL", "DERLINK_TIME_ZONE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DERLINK_HOME", str(home))
        monkeypatch.setenv("COLUMNS", "200")

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        with self.monkeypatch.context() as patched:
            for name, value in (env or {}).items():
                patched.setenv(name, value)
            status = run(list(args))
        captured = self.capsys.readouterr()
        assert "Traceback" not in captured.out + captured.err
        return status, captured.out, captured.err


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("cli") / "home"
    started = ServerProcess(home)
    started.start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def cli(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Cli:
    return Cli(monkeypatch, capsys, server.home)


@pytest.mark.slow
def test_the_operator_commands_find_the_server_through_its_data_directory(cli: Cli):
    status, out, _ = cli("flows", "list")
    assert status == 0, out
    assert "ENR-SYNC" in out and "schedule 0 0 2 * * *" in out

    assert cli("flows", "pause", "ENR-SYNC")[1] == "ENR-SYNC paused\n"
    assert "0 held instance(s) released" in cli("flows", "resume", "ENR-SYNC")[1]

    assert cli("lookups", "set", "AssetSpec", "ACME!X1", "ACME-X")[0] == 0
    listed = cli("lookups", "list", "AssetSpec")[1]
    assert "ACME!X1" in listed and "ACME-X" in listed

    status, out, _ = cli("reconcile")
    assert status == 0 and "0 difference(s)" in out
    assert cli("hospital", "list")[1] == "the hospital is empty: no faulted instance\n"

    status, _, err = cli("flows", "run-now", "ENR-SYNC")
    assert status == 1 and "not by a schedule" in err
    assert cli("hospital", "resubmit")[0] == 2


@pytest.mark.slow
def test_the_address_comes_from_the_url_option_or_the_environment(cli: Cli, server: ServerProcess):
    elsewhere = f"http://127.0.0.1:{free_port()}"
    status, _, err = cli("flows", "list", env={"DERLINK_URL": elsewhere})
    assert status == 1 and "(the address from DERLINK_URL)" in err
    # --url comes first.
    assert cli("flows", "list", "--url", server.base_url, env={"DERLINK_URL": elsewhere})[0] == 0


@pytest.mark.slow
def test_every_list_and_show_answers_json(cli: Cli):
    flows = json.loads(cli("flows", "list", "--json")[1])
    assert {f["code"] for f in flows} >= {"ENR-SYNC", "ENR-ACK", "RECONCILE"}
    assert json.loads(cli("hospital", "list", "--json")[1]) == []
    assert "AssetSpec" in json.loads(cli("lookups", "list", "--json")[1])
    assert json.loads(cli("reconcile", "--json")[1])["differences"] == 0


@pytest.mark.slow
def test_an_instance_reads_as_text_with_its_times_in_the_utility_zone(
    cli: Cli, server: ServerProcess
):
    cpm = CredentialStore.load(server.home / "credentials.json").client("cpm").header()
    check = {"dacsMessageId": "DS-CLI-1", "deviceInfo": {"headEndSystem": "HE", "nicId": "N1"}}
    batch = {"batchId": "cli-show-1", "messages": [check]}
    accepted = httpx.post(
        f"{server.base_url}/hub/api/v1/flows/DEV-STATUS/messages", json=batch, headers=cpm
    ).json()
    instance = accepted["instanceId"]
    status, out, _ = cli("hospital", "show", instance)
    assert status == 0
    assert out.splitlines()[0].startswith(instance)
    assert "batch     cli-show-1" in out and " UTC" in out and "timeline" in out
    chicago = cli("hospital", "show", instance, env={"DERLINK_TIME_ZONE": "America/Chicago"})[1]
    assert " CST" in chicago or " CDT" in chicago
    assert json.loads(cli("hospital", "show", instance, "--json")[1])["id"] == instance


@pytest.mark.slow
def test_ids_stay_whole_in_a_narrow_terminal(cli: Cli):
    codes = {f["code"] for f in json.loads(cli("flows", "list", "--json")[1])}
    narrow = cli("flows", "list", env={"COLUMNS": "40"})[1]
    whole = {code for code in codes if any(code in line.split() for line in narrow.splitlines())}
    words = {w.strip("│┃") for line in narrow.splitlines() for w in line.split()}
    assert codes <= whole | words, narrow


@pytest.mark.slow
def test_errors_of_a_running_server_are_one_line(cli: Cli, tmp_path: Path, server: ServerProcess):
    status, _, err = cli("lookups", "list", "NoSuchMap")
    assert status == 1
    assert err.startswith("error: no lookup named 'NoSuchMap'; the lookups are ")
    # Credentials of another data directory: the server and the file are named.
    CredentialStore.load_or_create(tmp_path / "credentials.json", {"operator": ["hub:read"]})
    status, _, err = cli("flows", "list", "--home", str(tmp_path), "--url", server.base_url)
    assert status == 1 and len(err.splitlines()) == 1
    assert f"refused the credentials in {tmp_path / 'credentials.json'} (401)" in err


@pytest.mark.slow
def test_a_second_start_on_the_same_data_directory_or_port_is_refused(server: ServerProcess):
    def up(home: Path, port: int) -> subprocess.CompletedProcess[str]:
        env = {"DERLINK_HOME": str(home), "DERLINK_PORT": str(port), "DERLINK_LOAD_SAMPLE": "0"}
        # This interpreter and derlink's own module.
        return subprocess.run(
            [sys.executable, "-m", "derlink", "up"],
            env={**_plain_env(), **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    same_home = up(server.home, free_port())
    assert same_home.returncode == 1
    assert same_home.stderr.startswith("error: hub already runs on the data directory")
    assert f"pid {server.proc.pid if server.proc else ''}" in same_home.stderr

    other_home = server.home.parent / "other"
    same_port = up(other_home, server.port)
    assert same_port.returncode == 1
    assert f"cannot listen on 127.0.0.1:{server.port}" in same_port.stderr
    # Refused before anything started: no part opened its database there.
    assert not list(other_home.glob("*.sqlite"))


def _plain_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("DERLINK_")}


@pytest.mark.slow
def test_ctrl_c_stops_derlink_up_and_says_so(tmp_path: Path):
    server = ServerProcess(tmp_path / "home")
    server.start()
    assert (server.home / "server.json").exists()
    assert server.proc is not None
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=30) == 0
    log = (server.home / "server.log").read_text()
    assert "stopping derlink" in log and "derlink stopped" in log
    assert not (server.home / "server.json").exists()
    server.proc = None


@pytest.mark.slow
def test_up_never_loads_the_sample_utility_on_top_of_a_utility_s_data(tmp_path: Path):
    home = tmp_path / "home"
    first = ServerProcess(home)
    first.start()
    operator = {"Authorization": f"Bearer operator.{first.operator_secret()}"}
    program = {"programCode": "OWN-1", "name": "The utility's own"}
    httpx.post(f"{first.base_url}/cpm/api/v1/programs", json=program, headers=operator)
    first.stop()
    again = ServerProcess(home, extra_env={"DERLINK_LOAD_SAMPLE": "1"})
    again.start()
    try:
        programs = httpx.get(f"{again.base_url}/cpm/api/v1/programs", headers=operator).json()
    finally:
        again.stop()
    assert [p["programCode"] for p in programs] == ["OWN-1"]
    log = (home / "server.log").read_text()
    assert "sample utility not loaded: cpm holds 1 program(s) already" in log


def _sign_in_to_the_console(client: httpx.Client, server: ServerProcess) -> None:
    """Sign the client in to the server's console as the operator."""
    form = client.get("/login").text
    token = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    signed = client.post(
        "/login",
        data={"client_id": "operator", "secret": server.operator_secret(), "csrf": token},
    )
    assert signed.status_code == 303, signed.text


@pytest.mark.slow
def test_the_cli_and_the_console_share_the_reconciliation_s_history(
    cli: Cli, server: ServerProcess
):
    status, out, _ = cli("reconcile")
    assert status == 0 and "difference(s) (run RECONCILE:manual-" in out
    by_cli = out.split("(run ", 1)[1].split(")", 1)[0]
    with httpx.Client(base_url=f"{server.base_url}/console") as console:
        _sign_in_to_the_console(console, server)
        page = console.get("/records/reconciliation").text
        assert by_cli in page.split('id="reconciliation-history"', 1)[1]
        token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        ran = console.post(
            "/flows/RECONCILE/run-now", data={"csrf": token, "back": "/records/reconciliation"}
        )
        assert ran.status_code == 303
    runs = json.loads(cli("reconcile", "--history", "--json")[1])
    assert runs[1]["instanceId"] == by_cli and runs[0]["instanceId"] != by_cli
    assert runs[1]["startedBy"] == "operator" and runs[1]["compared"] is not None
    listed = cli("reconcile", "--history")[1]
    assert by_cli in listed and runs[0]["instanceId"] in listed
