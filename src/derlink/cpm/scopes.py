"""cpm's scopes, and which of the clients an embedded start creates hold them.

The platform composes every part's grants into the credentials file (platform/auth.py
``compose_clients``); a route requires one scope (docs/contracts/README.md)."""

from __future__ import annotations

from collections.abc import Mapping

READ = "cpm:read"
#: Enroll, unenroll, change devices, ask for a device's status.
WRITE = "cpm:write"
#: What the hub does for DERMS: enroll, acknowledge, answer status checks.
SYNC = "cpm:sync"
#: Programs, aggregators, master data, extracts, discards.
ADMIN = "cpm:admin"

GRANTS: Mapping[str, tuple[str, ...]] = {
    # The operator: people and the CLI.
    "operator": (READ, WRITE, SYNC, ADMIN),
    # A read-only user of the console and the APIs.
    "viewer": (READ,),
    # The hub's connection to cpm.
    "hub": (SYNC, READ),
}
