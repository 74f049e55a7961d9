"""The network model: substations, feeders, transformers and the service points under them,
each effective-dated (common/effective.py), and the rows of the model export that states them
(docs/contracts/network.md). Pure.

The file-intake machinery (platform/intake) splits a model export into numbered records and
checks the header and each row's shape; :func:`check_row` turns a well-shaped row into a
:class:`ModelRow` or a ``RowReject``. Whether the row fits what DERMS holds (its parent known,
no other value from the same day, no later version) is decided against the stored model when
the row is stored (:func:`parent_problem`, :func:`placement_problem`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from derlink.common.effective import Placed, Placement, iso_date
from derlink.contracts.network_files import ACCEPTED, MODEL_HEADER, REJECTED
from derlink.platform.intake.records import RowReject

HEADER = MODEL_HEADER

SUBSTATION = "SUBSTATION"
FEEDER = "FEEDER"
TRANSFORMER = "TRANSFORMER"
SERVICE_POINT = "SERVICE_POINT"
NODE_KINDS = (SUBSTATION, FEEDER, TRANSFORMER)
KINDS = (*NODE_KINDS, SERVICE_POINT)
#: The kind of each kind's parent (a substation has none).
PARENT_KIND = {FEEDER: SUBSTATION, TRANSFORMER: FEEDER, SERVICE_POINT: TRANSFORMER}

#: The widest id and name DERMS keeps (its columns' widths).
ID_MAX = 80
NAME_MAX = 200

# Reason codes of a row (docs/contracts/network.md; the machinery's are IntakeCodes.named).
NET_MISSING = "NET-MISSING"
NET_VALUE = "NET-VALUE"
NET_DATE = "NET-DATE"
NET_KIND = "NET-KIND"
NET_PARENT = "NET-PARENT"
NET_CONFLICT = "NET-CONFLICT"
NET_LATE = "NET-LATE"


class ModelRow(NamedTuple):
    """One accepted-so-far row of a model export."""

    row_number: int
    kind: str
    id: str
    parent_id: str
    name: str
    effective_from: str


def row_keys(fields: Sequence[str]) -> tuple[str, ...]:
    """The Id of a row of any shape, for its ack row."""
    return (fields[1][:ID_MAX],) if len(fields) > 1 else ()


def check_row(row_number: int, f: list[str]) -> ModelRow | RowReject:
    """The row as a :class:`ModelRow`, or why not (first failure wins). Values are taken as
    they are; a field of spaces only is blank."""
    kind, node_id, parent_id, name, effective_from = f

    def reject(code: str, reason: str) -> RowReject:
        return RowReject(row_number, code, reason, row_keys(f))

    if not (kind.strip() and node_id.strip() and effective_from.strip()) or (
        kind in PARENT_KIND and not parent_id.strip()
    ):
        blank = [
            n
            for n, v in (("Kind", kind), ("Id", node_id), ("EffectiveFrom", effective_from))
            if not v.strip()
        ]
        if kind in PARENT_KIND and not parent_id.strip():
            blank.append("ParentId")
        return reject(NET_MISSING, f"{', '.join(blank)} {'is' if len(blank) == 1 else 'are'} blank")
    if kind not in KINDS:
        return reject(NET_VALUE, f"Kind is not one of {', '.join(KINDS)}")
    if kind == SUBSTATION and parent_id:
        return reject(NET_VALUE, "a SUBSTATION has no ParentId")
    if len(node_id) > ID_MAX or len(parent_id) > ID_MAX:
        return reject(NET_VALUE, f"Id or ParentId longer than {ID_MAX} characters")
    if len(name) > NAME_MAX:
        return reject(NET_VALUE, f"Name longer than {NAME_MAX} characters")
    if iso_date(effective_from) is None:
        return reject(NET_DATE, "EffectiveFrom is not a date YYYY-MM-DD")
    return ModelRow(row_number, kind, node_id, parent_id, name, effective_from)


def parent_problem(row: ModelRow, parent_kind: str | None) -> RowReject | None:
    """Why the row's parent (held as ``parent_kind``, None if unknown) does not fit it."""
    expected = PARENT_KIND.get(row.kind)
    if expected is None or parent_kind == expected:
        return None
    held = f"is a {parent_kind}" if parent_kind else "is not in the network model"
    return RowReject(
        row.row_number, NET_PARENT, f"ParentId {row.parent_id} {held}, not a {expected}", (row.id,)
    )


def kind_problem(row: ModelRow, held_kind: str | None) -> RowReject | None:
    """Why the row's Id, held as ``held_kind``, cannot be a node of the row's kind."""
    if held_kind is None or held_kind == row.kind:
        return None
    return RowReject(
        row.row_number, NET_KIND, f"Id {row.id} is a {held_kind}, not a {row.kind}", (row.id,)
    )


def placement_problem(
    row_number: int, what: str, key: str, placement: Placement, effective_from: str
) -> RowReject | None:
    """Why a statement about ``what`` (named ``key``) was not placed, or None."""
    reason = placement.refusal(what, effective_from)
    if reason is None:
        return None
    code = NET_CONFLICT if placement.outcome is Placed.CONFLICT else NET_LATE
    return RowReject(row_number, code, reason, (key,))


# -- the ack file's rows ---------------------------------------------------------------------------

#: One ack row: rowNumber, id, result, reasonCode, reason.
AckRow = tuple[int, str, str, str, str]


def accepted_row(row_number: int, key: str, outcome: Placed) -> AckRow:
    """ACCEPTED, saying whether the row changed what DERMS holds."""
    return (row_number, key, ACCEPTED, "", "" if outcome is not Placed.UNCHANGED else "unchanged")


def rejected_row(reject: RowReject) -> AckRow:
    key = reject.keys[0] if reject.keys else ""
    return (reject.row_number, key, REJECTED, reject.code, reject.reason)
