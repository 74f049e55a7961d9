"""The network files (docs/contracts/network.md): DERMS's model export, taken in by DERMS, and
NET-LOC, written by DERMS and taken in by cpm; each with the acknowledgement its taker writes."""

from __future__ import annotations

#: A network model export, put into DERMS's model store: ``NETMODEL_<anything>.csv``.
MODEL_PREFIX = "NETMODEL_"
#: Kind: SUBSTATION, FEEDER, TRANSFORMER or SERVICE_POINT; ParentId: the substation of a
#: feeder, the feeder of a transformer, the transformer of a service point (blank for a
#: substation); Name: a node's name (blank for a service point).
MODEL_HEADER = ("Kind", "Id", "ParentId", "Name", "EffectiveFrom")
#: DERMS's acknowledgement of one model export: ``NETMODEL_ACK_<name>``.
MODEL_ACK_PREFIX = "NETMODEL_ACK_"

#: NET-LOC, DERMS's export of the service points' network locations:
#: ``NETLOC_<YYYYMMDDTHHMMSSZ>.csv``.
NETLOC_PREFIX = "NETLOC_"
NETLOC_HEADER = (
    "SPId",
    "TransformerId",
    "FeederId",
    "SubstationId",
    "EffectiveFrom",
    "EffectiveTo",
)
#: cpm's acknowledgement of one NET-LOC file: ``NETLOC_ACK_<name>``.
NETLOC_ACK_PREFIX = "NETLOC_ACK_"

#: The acknowledgement files' columns: one row per data row of the input, in input order.
ACK_HEADER = ("rowNumber", "id", "result", "reasonCode", "reason")
ACCEPTED = "ACCEPTED"
REJECTED = "REJECTED"
