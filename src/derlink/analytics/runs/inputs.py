"""A run's input files besides the measurements and the weather: events, DERMS's outcome files
(who took part in each event), service points, the baseline method per program and past kWh
avoided files (layouts in docs/contracts/analytics-files.md).

Each reader turns its file into the values the kernels take (``Event``, ``Participation``,
``ServicePoints``, frames). An events, outcome or service point file without a needed column,
or an event or outcome row that cannot be read, raises ``InputFileError`` naming the file (and
the row); column names are matched without case or underscores (``SPId`` = ``sp_id``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from derlink.analytics.errors import InputFileError
from derlink.analytics.kernels.events import Event, Participation, ServicePoints
from derlink.common.clock import parse_iso
from derlink.contracts.event_files import OUTCOME_PREFIX, OUTCOMES, outcome_file_seq

#: The outcome of a device that did not take part: cancelled before the stage.
CANCELLED = "D1CN"
#: The outcome file's columns a run reads: a device (stage, head-end system, NIC), its service
#: point and its outcome.
_OUTCOME_COLUMNS = ("StageId", "HeadEndSystem", "NicId", "SPId", "Outcome")


def _column(frame: pl.DataFrame, names: Sequence[str], path: Path) -> str:
    lowered = {c.lower().replace("_", ""): c for c in frame.columns}
    for name in names:
        if name.lower().replace("_", "") in lowered:
            return lowered[name.lower().replace("_", "")]
    raise InputFileError(f"{path.name}: missing column {names[0]}", columns=frame.columns)


def read_events(path: Path) -> list[Event]:
    """Events CSV: ``EventId, EventType, ProgramId, StartTime, EndTime`` (ISO with offset);
    ``EventType`` is optional (blank in the kWh avoided file without it)."""
    frame = pl.read_csv(path, infer_schema=False)
    if not any(c.lower().replace("_", "") == "eventtype" for c in frame.columns):
        frame = frame.with_columns(pl.lit(None, pl.Utf8).alias("EventType"))
    cols = {
        "id": _column(frame, ["EventId"], path),
        "type": _column(frame, ["EventType"], path),
        "program": _column(frame, ["ProgramId"], path),
        "start": _column(frame, ["StartTime", "ActualStartTime"], path),
        "end": _column(frame, ["EndTime", "ActualEndTime"], path),
    }
    events = []
    for number, row in enumerate(frame.iter_rows(named=True), start=2):
        try:
            events.append(
                Event(
                    event_id=row[cols["id"]],
                    program_id=row[cols["program"]] or "",
                    event_type=row[cols["type"]] or "",
                    start=parse_iso(row[cols["start"]]),
                    end=parse_iso(row[cols["end"]]),
                )
            )
        except (TypeError, ValueError) as exc:
            raise InputFileError(f"{path.name} row {number}: {exc}") from exc
    return events


class UnknownEvent(ValueError):
    """The event asked for is not in the events file."""


def find_event(events: Sequence[Event], event_id: str) -> Event:
    """The event ``event_id`` of an events file; ``UnknownEvent`` when it is not there."""
    for event in events:
        if event.event_id == event_id:
            return event
    raise UnknownEvent(f"event {event_id!r} is not in the events file")


def outcome_files(paths: Sequence[Path]) -> list[Path]:
    """The outcome files ``paths`` name (a folder: its ``OUTCOME_*.csv`` files), oldest first:
    those whose name has no seq in the order given, then the others by seq, so that a newer
    file's row of a device replaces an older one's."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob(f"{OUTCOME_PREFIX}*.csv"))
            if not found:
                raise InputFileError(f"{path}: no {OUTCOME_PREFIX}*.csv file in the folder")
            files.extend(found)
        else:
            files.append(path)
    return sorted(files, key=_age)


def _age(path: Path) -> tuple[bool, int]:
    seq = outcome_file_seq(path.name)
    return seq is not None, seq or 0


def read_outcomes(paths: Sequence[Path]) -> Participation:
    """Who took part in which event, from DERMS's outcome files (``StageId`` is the event):
    the service points with a row whose ``Outcome`` is not D1CN (D1ND, D1ER and D1IO devices
    were called: they took part), and every event the files have a row of. A device's row in a
    newer file (``outcome_files``' order) replaces its row in an older one."""
    frames = []
    for order, path in enumerate(outcome_files(paths)):
        frame = pl.read_csv(path, infer_schema=False)
        columns = {_column(frame, [name], path): name for name in _OUTCOME_COLUMNS}
        frame = frame.select(list(columns)).rename(columns).with_row_index("row", offset=2)
        blank = frame.filter(
            pl.any_horizontal(
                pl.col(c).fill_null("").str.strip_chars() == "" for c in _OUTCOME_COLUMNS
            )
        )
        if blank.height:
            raise InputFileError(
                f"{path.name} row {blank['row'][0]}: {', '.join(_OUTCOME_COLUMNS)} may not be blank"
            )
        unknown = frame.filter(~pl.col("Outcome").is_in(OUTCOMES))
        if unknown.height:
            raise InputFileError(
                f"{path.name} row {unknown['row'][0]}: Outcome is not one of {', '.join(OUTCOMES)}"
            )
        frames.append(frame.drop("row").with_columns(pl.lit(order).alias("order")))
    rows = (
        pl.concat(frames)
        .sort("order", maintain_order=True)
        .unique(["StageId", "HeadEndSystem", "NicId"], keep="last", maintain_order=True)
    )
    took_part = rows.filter(pl.col("Outcome") != CANCELLED).select(
        pl.col("StageId").alias("event_id"), pl.col("SPId").alias("sp_id")
    )
    return Participation(
        took_part.unique(maintain_order=True), frozenset(rows["StageId"].unique().to_list())
    )


def read_service_points(path: Path, default_time_zone: str | None = None) -> ServicePoints:
    """Service point CSV: ``SPId, TimeZone, ProgramId, StationId`` (last three optional)."""
    frame = pl.read_csv(path, infer_schema=False)
    renamed: dict[str, str] = {_column(frame, ["SPId", "sp_id"], path): "sp_id"}
    for wanted, names in {
        "time_zone": ["TimeZone", "time_zone"],
        "program_id": ["ProgramId", "program_id"],
        "station_id": ["StationId", "station_id"],
    }.items():
        try:
            renamed[_column(frame, names, path)] = wanted
        except InputFileError:
            continue
    return ServicePoints(frame.rename(renamed).select(list(renamed.values())), default_time_zone)


def program_method(path: Path, program_id: str, default: str) -> str:
    """The method named for ``program_id`` in a ``ProgramId, Method`` CSV, else ``default``."""
    table = pl.read_csv(path, infer_schema=False)
    match = table.filter(pl.col(table.columns[0]) == program_id)
    return str(match.row(0)[1]) if match.height else default


def read_kwh_avoided_totals(paths: Sequence[Path]) -> pl.DataFrame:
    """``SPId, TotalKwh, TotalKwhSavedForPeriod`` of past kWh avoided files (a forecast's
    history of responses); an empty frame of those columns when there are none."""
    frames = [pl.read_csv(p, infer_schema_length=0) for p in paths]
    if not frames:
        return pl.DataFrame(
            schema={
                "SPId": pl.Utf8,
                "TotalKwh": pl.Float64,
                "TotalKwhSavedForPeriod": pl.Float64,
            }
        )
    return pl.concat(
        [
            f.select(
                "SPId",
                pl.col("TotalKwh").cast(pl.Float64, strict=False),
                pl.col("TotalKwhSavedForPeriod").cast(pl.Float64, strict=False),
            )
            for f in frames
        ]
    )


def events_to_dicts(events: Sequence[Event]) -> list[dict[str, Any]]:
    """The rows of an events file (what ``read_events`` reads back)."""
    return [
        {
            "EventId": e.event_id,
            "EventType": e.event_type,
            "ProgramId": e.program_id,
            "StartTime": e.start.isoformat(),
            "EndTime": e.end.isoformat(),
        }
        for e in events
    ]
