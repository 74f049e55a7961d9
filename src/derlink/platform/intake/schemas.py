"""The wire schema of what an intake run did with each file: one shape for every part's file
kinds, each part naming its own with its own example."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel

from derlink.platform.intake.driver import FileSummary


class FileSummaryRead(BaseModel):
    """One file an intake run took (or refused): its state, its rows, its acknowledgement file
    and the name the input was renamed to."""

    name: str
    state: str
    rows: int
    accepted: int
    rejected: int
    ackFile: str | None
    renamedTo: str | None
    error: str | None

    @classmethod
    def of(cls, summary: FileSummary) -> Self:
        return cls(**summary.wire())


def summary_example(name: str, ack_file: str, rows: int) -> dict[str, Any]:
    """The example of a file taken whole: every row accepted, acknowledged, renamed ``Acked-``."""
    return {
        "name": name,
        "state": "Acked",
        "rows": rows,
        "accepted": rows,
        "rejected": 0,
        "ackFile": ack_file,
        "renamedTo": f"Acked-{name}",
        "error": None,
    }
