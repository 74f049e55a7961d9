"""The rows of a NET-LOC file and of cpm's acknowledgement of it (docs/contracts/network.md).
Pure.

The file-intake machinery (platform/intake) splits the file into numbered records and checks
the header and each row's shape; :func:`check_row` turns a well-shaped row into a
:class:`LocationRow` or a ``RowReject``. Whether cpm knows the service point and where the row
goes among its effective-dated locations is decided when the batch is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from derlink.common.effective import Placed, Placement, iso_date
from derlink.contracts.network_files import ACCEPTED, NETLOC_HEADER, REJECTED
from derlink.platform.intake.records import RowReject

HEADER = NETLOC_HEADER

#: The widest id cpm keeps (its columns' width).
ID_MAX = 80

# Reason codes of a row (docs/contracts/network.md; the machinery's are IntakeCodes.named).
NL_MISSING = "NL-MISSING"
NL_VALUE = "NL-VALUE"
NL_DATE = "NL-DATE"
NL_SP_UNKNOWN = "NL-SP-UNKNOWN"
NL_CONFLICT = "NL-CONFLICT"
NL_LATE = "NL-LATE"

_REQUIRED = ("SPId", "TransformerId", "FeederId", "SubstationId", "EffectiveFrom")


class LocationRow(NamedTuple):
    """One accepted-so-far NET-LOC row."""

    row_number: int
    sp_id: str
    transformer_id: str
    feeder_id: str
    substation_id: str
    effective_from: str
    effective_to: str | None

    @property
    def location(self) -> tuple[str, str, str]:
        return (self.transformer_id, self.feeder_id, self.substation_id)


def row_keys(fields: Sequence[str]) -> tuple[str, ...]:
    """The SPId of a row of any shape, for its ack row."""
    return (fields[0][:ID_MAX],) if fields else ()


def check_row(row_number: int, f: list[str]) -> LocationRow | RowReject:
    """The row as a :class:`LocationRow`, or why not (first failure wins). Ids are taken as
    they are; a field of spaces only is blank. (A million rows pass here: the common case is
    a few tests on the fields as they come.)"""
    sp_id, transformer, feeder, substation, effective_from, effective_to = f
    if not (
        sp_id.strip()
        and transformer.strip()
        and feeder.strip()
        and substation.strip()
        and effective_from.strip()
    ):
        blank = [name for name, v in zip(_REQUIRED, f, strict=False) if not v.strip()]
        return _reject(
            row_number,
            f,
            NL_MISSING,
            f"{', '.join(blank)} {'is' if len(blank) == 1 else 'are'} blank",
        )
    if max(len(sp_id), len(transformer), len(feeder), len(substation)) > ID_MAX:
        return _reject(row_number, f, NL_VALUE, f"an id is longer than {ID_MAX} characters")
    if iso_date(effective_from) is None:
        return _reject(row_number, f, NL_DATE, "EffectiveFrom is not a date YYYY-MM-DD")
    if effective_to:
        if iso_date(effective_to) is None:
            return _reject(row_number, f, NL_DATE, "EffectiveTo is not a date YYYY-MM-DD")
        if effective_to <= effective_from:
            return _reject(row_number, f, NL_DATE, "EffectiveTo is not after EffectiveFrom")
    return LocationRow(
        row_number, sp_id, transformer, feeder, substation, effective_from, effective_to or None
    )


def _reject(row_number: int, f: list[str], code: str, reason: str) -> RowReject:
    return RowReject(row_number, code, reason, row_keys(f))


def unknown_sp(row: LocationRow) -> RowReject:
    return RowReject(
        row.row_number, NL_SP_UNKNOWN, f"cpm holds no service point {row.sp_id}", (row.sp_id,)
    )


def placement_problem(row: LocationRow, placement: Placement) -> RowReject:
    """Why the row's location was not placed among the service point's (a placement
    refused)."""
    reason = placement.refusal(f"service point {row.sp_id}", row.effective_from) or ""
    code = NL_CONFLICT if placement.outcome is Placed.CONFLICT else NL_LATE
    return RowReject(row.row_number, code, reason, (row.sp_id,))


# -- the ack file's rows ---------------------------------------------------------------------------

#: One ack row: rowNumber, id, result, reasonCode, reason.
AckRow = tuple[int, str, str, str, str]


def accepted_row(row: LocationRow, outcome: Placed) -> AckRow:
    """ACCEPTED; ``unchanged`` when cpm held that location already."""
    return (
        row.row_number,
        row.sp_id,
        ACCEPTED,
        "",
        "unchanged" if outcome is Placed.UNCHANGED else "",
    )


def rejected_row(reject: RowReject) -> AckRow:
    key = reject.keys[0] if reject.keys else ""
    return (reject.row_number, key, REJECTED, reject.code, reject.reason)
