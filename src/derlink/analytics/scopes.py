"""analytics' scopes, and which of the clients an embedded start creates hold them (composed by
platform/auth.py ``compose_clients``)."""

from __future__ import annotations

from collections.abc import Mapping

READ = "analytics:read"
#: Run the enrollment intake now.
WRITE = "analytics:write"

GRANTS: Mapping[str, tuple[str, ...]] = {
    "operator": (READ, WRITE),
    "viewer": (READ,),
    # The hub runs the intake and reads analytics' health for the console's dashboard.
    "hub": (READ, WRITE),
}
