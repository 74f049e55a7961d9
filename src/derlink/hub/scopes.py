"""The hub's scopes, and which of the clients an embedded start creates hold them (composed by
platform/auth.py ``compose_clients``); and the part each publishing client speaks for."""

from __future__ import annotations

from collections.abc import Mapping

READ = "hub:read"
#: Send a flow's messages to the hub's intake (the parts' outbox publishers), into the flows
#: whose source is the part the client speaks for (``PUBLISHERS``).
PUBLISH = "hub:publish"
#: Pause, resume and run flows; resubmit and discard; set lookups and flow properties.
OPERATE = "hub:operate"
#: Name, in ``X-Derlink-User``, the person a call acts for (a front end that signs its own users
#: in); recorded as ``<user> via <client>``. No embedded client holds it: the console acts in
#: the hub's process, as the client that signed in.
ACT_FOR_USERS = "hub:act-for-users"

GRANTS: Mapping[str, tuple[str, ...]] = {
    # People operate flows; they publish into none (no flow has them as its source).
    "operator": (READ, OPERATE),
    "viewer": (READ,),
    # Who decides on DERMS's events: they read the console, and act on DERMS only.
    "approver": (READ,),
    "ba-approver": (READ,),
    # The parts, publishing their outbound messages to the hub.
    "cpm": (PUBLISH,),
    "derms": (PUBLISH,),
    "analytics": (PUBLISH,),
}

#: The part each publishing client speaks for: it may publish only into the message flows whose
#: source is that part (hub/catalog.py, ``FlowSpec.source``). A system that replaces a part
#: (an external DERMS) publishes with that part's client.
PUBLISHERS: Mapping[str, str] = {"cpm": "cpm", "derms": "derms", "analytics": "analytics"}
