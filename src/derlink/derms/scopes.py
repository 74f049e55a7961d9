"""derms's scopes, and which of the clients an embedded start creates hold them (composed by
platform/auth.py ``compose_clients``)."""

from __future__ import annotations

from collections.abc import Mapping

READ = "derms:read"
#: Originate enrollment requests, register head-end systems.
WRITE = "derms:write"
#: What the hub delivers: enrollment syncs, status checks, acks of originated requests and of
#: stage transitions sent to cpm (EVT-STATUS).
SYNC = "derms:sync"
#: What the hub delivers of cpm's master data: program rules (PROG-RULE), aggregators (AGGREGATOR).
MASTER_DATA = "derms:masterdata"
#: Edit the network model, take in its exports, write the NET-LOC export now.
NETWORK = "derms:network"
#: What the hub delivers of the other parts' computations: device scores (DEV-SCORE) and
#: load-reduction forecasts (LRF).
INPUTS = "derms:inputs"
#: Keep strategy types and strategies; create, plan, submit, schedule and cancel events.
EVENTS = "derms:events"
#: Approve or deny a submitted event.
APPROVE = "derms:approve"
#: Give the balance authority's approval an event over its threshold needs.
BA_APPROVE = "derms:ba-approve"

GRANTS: Mapping[str, tuple[str, ...]] = {
    "operator": (READ, WRITE, SYNC, MASTER_DATA, NETWORK, INPUTS, EVENTS),
    "viewer": (READ,),
    # Who decides on events: an approver, and the balance authority's approver.
    "approver": (READ, APPROVE),
    "ba-approver": (READ, APPROVE, BA_APPROVE),
    # The hub's connection to DERMS.
    "hub": (SYNC, MASTER_DATA, INPUTS, READ),
}
