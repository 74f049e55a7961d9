"""derms's scopes, and which of the clients an embedded start creates hold them (composed by
platform/auth.py ``compose_clients``)."""

from __future__ import annotations

from collections.abc import Mapping

READ = "derms:read"
#: Originate enrollment requests, register head-end systems.
WRITE = "derms:write"
#: What the hub delivers: enrollment syncs, status checks, acks of originated requests.
SYNC = "derms:sync"

GRANTS: Mapping[str, tuple[str, ...]] = {
    "operator": (READ, WRITE, SYNC),
    "viewer": (READ,),
    # The hub's connection to DERMS.
    "hub": (SYNC, READ),
}
