"""DERMS's strategies and events through the CLI against a running derlink: a strategy type, a
strategy, an event created, listed, shown in the utility's zone, refused a submit without
stages (one line, exit 1), canceled, and its audit trail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from derlink.cli.main import run
from derlink.cli.server import ServerProcess
from derlink.derms.masterdata.schemas import PROGRAM_RULES_EXAMPLE

MODEL = """Kind,Id,ParentId,Name,EffectiveFrom
SUBSTATION,SUB-NORTH,,North,2026-01-01
"""


def test_an_operator_keeps_a_strategy_and_walks_an_event_through_the_cli(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # an operator's terminal
    monkeypatch.setenv("DERLINK_TIME_ZONE", "America/Los_Angeles")  # the CLI's, as the server's
    home = tmp_path / "home"
    server = ServerProcess(
        home, extra_env={"DERLINK_LOAD_SAMPLE": "0", "DERLINK_TIME_ZONE": "America/Los_Angeles"}
    )
    server.start()
    try:
        credentials = json.loads((home / "credentials.json").read_text())
        hub = next(c for c in credentials["clients"] if c["client_id"] == "hub")
        with httpx.Client(
            base_url=server.base_url,
            headers={"Authorization": f"Bearer hub.{hub['secret']}"},
        ) as api:
            body = {"batchId": "B1", "programs": [PROGRAM_RULES_EXAMPLE]}
            api.post("/derms/api/v1/program-rules", json=body).raise_for_status()
        model = tmp_path / "model.csv"
        model.write_text(MODEL)
        at = ["--home", str(home)]
        assert run(["derms", "network", "load", str(model), *at]) == 0
        assert run(["derms", "strategy-types", "put", "PEAK", "--name", "System peak",
                    "--priority", "50", "--ba-checked", *at]) == 0  # fmt: skip
        capsys.readouterr()
        assert run(["derms", "strategies", "create", "--name", "Summer peak", "--zone",
                    "SUB-NORTH", "--program", "BYOT", "--type", "PEAK", "--objective",
                    "LOAD_REDUCTION", "--mw-per-hour", "20", "--max-increase-pct", "10",
                    "--json", *at]) == 0  # fmt: skip
        strategy = json.loads(capsys.readouterr().out)
        assert strategy["target"] == {"objective": "LOAD_REDUCTION", "mwPerHour": 20.0,
                                      "maxDemandMw": None, "maxIncreasePct": 10.0}  # fmt: skip

        assert run(["derms", "events", "create", "--strategy", strategy["id"], "--name",
                    "Heat wave", "--type", "EMERGENCY", "--start", "2026-07-17T15:00-07:00",
                    "--end", "2026-07-17T19:00-07:00", "--json", *at]) == 0  # fmt: skip
        event = json.loads(capsys.readouterr().out)
        assert event["state"] == "New" and event["windowStart"] == "2026-07-17T22:00:00Z"

        assert run(["derms", "events", "show", event["id"], *at]) == 0
        assert "BA         decided on submit" in capsys.readouterr().out
        assert run(["derms", "events", "list", "--strategy", strategy["id"], *at]) == 0
        listed = capsys.readouterr().out
        assert event["id"] in listed  # whole, never cut
        assert "2026-07-17 15:00 PDT" in listed  # the utility's zone

        # Nobody is enrolled: the plan has no stage and says how short it falls.
        assert run(["derms", "events", "generate", event["id"], "--interval", "3600", *at]) == 0
        said = capsys.readouterr().out
        assert "greedy plan: 0 candidate(s)" in said and "short by up to 20000.0 kW" in said
        assert run(["derms", "events", "generate", event["id"], "--interval", "7000", *at]) == 1
        assert "whole number of planning steps" in capsys.readouterr().err

        assert run(["derms", "events", "submit", event["id"], *at]) == 1
        error = capsys.readouterr().err.strip()
        assert error.startswith("error: ") and "no stage" in error and "\n" not in error

        assert run(["derms", "events", "cancel", event["id"], "--reason", "cooler", *at]) == 0
        assert f"event {event['id']}: Canceled" in capsys.readouterr().out
        assert run(["derms", "events", "approve", event["id"], *at]) == 1
        assert "409" in capsys.readouterr().err

        assert run(["derms", "events", "audit", event["id"], "--json", *at]) == 0
        trail = json.loads(capsys.readouterr().out)
        assert [(a["action"], a["actor"]) for a in trail] == [
            ("CREATE", "operator"),
            ("PLAN", "operator"),
            ("CANCEL", "operator"),
        ]
        # The event never had a stage: no transition, nothing went to cpm.
        assert run(["derms", "events", "transitions", event["id"], "--json", *at]) == 0
        assert json.loads(capsys.readouterr().out) == []
        assert run(["derms", "events", "files", event["id"], "--json", *at]) == 0
        assert json.loads(capsys.readouterr().out) == []
        assert run(["derms", "events", "opt-outs", event["id"], "--json", *at]) == 0
        assert json.loads(capsys.readouterr().out) == []
        assert run(["derms", "events", "opt-outs", "EV-none", *at]) == 1
        assert "404" in capsys.readouterr().err
        assert run(["derms", "unavailabilities", "--nic", "NIC-1", "--json", *at]) == 0
        assert json.loads(capsys.readouterr().out) == []
        assert run(["derms", "events", "outcome-files", "--event", event["id"], "--json",
                    *at]) == 0  # fmt: skip
        assert json.loads(capsys.readouterr().out) == []
        assert run(["derms", "events", "reservations", "SG-none", *at]) == 1
        assert "404" in capsys.readouterr().err
        assert run(["derms", "events", "resend", event["id"], *at]) == 0
        assert capsys.readouterr().out.strip() == f"event {event['id']}: 0 transition(s) sent again"
        assert run(["derms", "events", "transitions", "EV-none", *at]) == 1
        assert "404" in capsys.readouterr().err
        assert run(["derms", "events", "show", "EV-none", *at]) == 1
        assert "404" in capsys.readouterr().err
    finally:
        server.stop()
