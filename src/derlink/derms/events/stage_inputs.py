"""What stage generation plans from: the event, its strategy, and the candidates with their
forecasts, rules and busy periods (docs/stage-generation.md).

Per-device data is columnar (numpy arrays of one length, position ``i`` being candidate ``i``)
so that a million devices plan in seconds. Columnar times are UTC seconds since the epoch;
every datetime is timezone-aware. The values are frozen; the arrays are the caller's and are
not copied: do not change them while a plan is being made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, tzinfo
from enum import IntEnum
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from derlink.derms.events.program_terms import Grid
from derlink.derms.inputs.model import Forecast
from derlink.derms.masterdata.model import Rule

FloatArray: TypeAlias = npt.NDArray[np.float64]
IndexArray: TypeAlias = npt.NDArray[np.intp]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
#: A column of ids: fixed-width strings (``<U``), objects or integers.
Column: TypeAlias = npt.NDArray[Any]

KW_PER_MW = 1000.0


def epoch_s(moment: datetime) -> int:
    """A timezone-aware datetime as whole UTC seconds since the epoch."""
    _aware(moment)
    return int(moment.timestamp())


def _aware(*moments: datetime) -> None:
    if any(m.tzinfo is None or m.utcoffset() is None for m in moments):
        raise ValueError("stage generation needs timezone-aware datetimes")


@dataclass(frozen=True, slots=True)
class EventWindow:
    """The event to plan: [start, end) cut into planning intervals of ``step_s`` seconds."""

    start: datetime
    end: datetime
    step_s: int = 900

    def __post_init__(self) -> None:
        _aware(self.start, self.end)
        span = (self.end - self.start).total_seconds()
        if self.step_s <= 0 or span <= 0 or span % self.step_s:
            raise ValueError(
                f"the event's window ({span:.0f} s) must be a positive whole number of "
                f"planning steps ({self.step_s} s)"
            )

    @property
    def grid(self) -> Grid:
        return Grid(
            self.start, self.step_s, int((self.end - self.start).total_seconds()) // self.step_s
        )


@dataclass(frozen=True, slots=True)
class ManualWindow:
    """A stage window the operator gives for one program."""

    program: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _aware(self.start, self.end)
        if self.end <= self.start:
            raise ValueError(f"manual window of {self.program} ends before it starts")


@dataclass(frozen=True, slots=True)
class Manual:
    """The operator's stage windows. Without a target each window takes every eligible device
    (a program's devices rotate over its windows in about equal kW, a device taking one stage);
    with ``target_mw`` the devices are taken in key order until the target is met."""

    windows: tuple[ManualWindow, ...]
    target_mw: float | None = None


@dataclass(frozen=True, slots=True, eq=False)
class MaxDemandThreshold:
    """Keep the zone's load at or below ``max_demand_mw``: need(t) = max(0, L(t) − M)."""

    max_demand_mw: float
    #: The control zone's load forecast, MW per planning interval from the event's start. It
    #: may run past the event's end: the snap-back after the end is then checked against M too.
    zone_load_mw: FloatArray


@dataclass(frozen=True, slots=True)
class LoadReduction:
    """Reduce the load by ``mw`` in every interval; the net increase snap-back causes may not
    exceed ``max_increase_pct`` % of ``mw`` in any interval, during or after the event."""

    mw: float
    max_increase_pct: float

    def __post_init__(self) -> None:
        if not 0 <= self.max_increase_pct <= 100 or self.mw < 0:
            raise ValueError("a load reduction needs mw ≥ 0 and max_increase_pct within 0–100")


@dataclass(frozen=True, slots=True)
class MaximumReduction:
    """Every eligible device, split into about equal-kW rotations over each program's stages."""


Objective: TypeAlias = Manual | MaxDemandThreshold | LoadReduction | MaximumReduction


@dataclass(frozen=True, slots=True)
class Strategy:
    """The parts of the event's strategy that planning follows."""

    objective: Objective
    #: Program codes.
    programs: tuple[str, ...]
    #: Rules flagged ``overridable`` are not enforced.
    override_rules: bool = False
    #: Split the need over feeders in proportion to their eligible expected kW; fill each alone.
    per_feeder: bool = False
    #: Rank and fill by P10 instead of P50.
    firm: bool = False
    #: Fill to need × (1 + margin).
    margin: float = 0.0

    def __post_init__(self) -> None:
        if len(set(self.programs)) != len(self.programs):
            raise ValueError("a strategy lists a program twice")
        if self.margin < 0:
            raise ValueError("the margin must not be negative")


@dataclass(frozen=True, slots=True)
class Calendar:
    """Where the programs' windows and allowed days are read: the utility's zone and holidays."""

    tz: tzinfo
    holidays: frozenset[date] = frozenset()


def _same_length(name: str, columns: Mapping[str, npt.NDArray[Any]]) -> int:
    sizes = {key: value.shape for key, value in columns.items()}
    shapes = set(sizes.values())
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ValueError(f"{name}: every column must be 1-D and of one length ({sizes})")
    return int(next(iter(shapes))[0])


@dataclass(frozen=True, slots=True, eq=False)
class Candidates:
    """The devices the event could call, one row each (a device enrolled in two of the
    strategy's programs has two rows; it still takes at most one stage)."""

    device_id: Column
    head_end_system: Column
    nic_id: Column
    service_point: Column
    #: Program code.
    program: Column
    feeder: Column
    in_zone: BoolArray
    #: DERMS registration status D1RE.
    registered: BoolArray
    #: Events and overrides used in the program's current cycle.
    events_used: npt.NDArray[np.integer[Any]]
    overrides_used: npt.NDArray[np.integer[Any]]
    #: 0–100; NaN when the device has none (the request's default score is used and counted).
    score: FloatArray

    def __post_init__(self) -> None:
        _same_length("candidates", {f.name: getattr(self, f.name) for f in fields(self)})
        known = self.score[~np.isnan(self.score)]
        if known.size and (known.min() < 0 or known.max() > 100):
            raise ValueError("a device score is outside 0–100")

    @property
    def size(self) -> int:
        return int(self.device_id.shape[0])


@dataclass(frozen=True, slots=True, eq=False)
class Forecasts:
    """Reduction forecasts per service point, one row each: the window start and interval
    length, and p10/p50/p90 kW per interval (one 2-D array each, rows padded with NaN)."""

    service_point: Column
    window_start_s: npt.NDArray[np.int64]
    interval_s: npt.NDArray[np.int64]
    p10_kw: npt.NDArray[np.floating[Any]]
    p50_kw: npt.NDArray[np.floating[Any]]
    p90_kw: npt.NDArray[np.floating[Any]]

    def __post_init__(self) -> None:
        n = _same_length(
            "forecasts",
            {k: getattr(self, k) for k in ("service_point", "window_start_s", "interval_s")},
        )
        shapes = {q.shape for q in (self.p10_kw, self.p50_kw, self.p90_kw)}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2 or next(iter(shapes))[0] != n:
            raise ValueError("forecasts: p10/p50/p90 must be 2-D, one row per service point")
        if n and self.interval_s.min() <= 0:
            raise ValueError("forecasts: an interval length is not positive")

    @property
    def size(self) -> int:
        return int(self.service_point.shape[0])

    @classmethod
    def from_records(cls, records: Sequence[Forecast]) -> Forecasts:
        """The columns of DERMS's forecast records (one per service point)."""
        width = max((len(r.p50_kw) for r in records), default=0)

        def matrix(values: Iterable[Sequence[float]]) -> FloatArray:
            out = np.full((len(records), width), np.nan)
            for i, row in enumerate(values):
                out[i, : len(row)] = row
            return out

        return cls(
            service_point=np.array([r.sp_id for r in records], dtype=str),
            window_start_s=np.array([epoch_s(r.window_start) for r in records], np.int64),
            interval_s=np.array([r.interval_s for r in records], np.int64),
            p10_kw=matrix(r.p10_kw for r in records),
            p50_kw=matrix(r.p50_kw for r in records),
            p90_kw=matrix(r.p90_kw for r in records),
        )


class BusyKind(IntEnum):
    #: Reserved by another event: busy within the program's minimum rest on both sides.
    RESERVED = 1
    #: The customer said the device is unavailable: busy if it overlaps [start − rest, end).
    UNAVAILABLE = 2


@dataclass(frozen=True, slots=True, eq=False)
class Busy:
    """When candidates cannot be called: periods (candidate index, start, end, kind) and the
    candidates opted out of this event."""

    device: IndexArray
    start_s: npt.NDArray[np.int64]
    end_s: npt.NDArray[np.int64]
    #: BusyKind values.
    kind: npt.NDArray[np.int8]
    opted_out: IndexArray

    def __post_init__(self) -> None:
        _same_length("busy", {k: getattr(self, k) for k in ("device", "start_s", "end_s", "kind")})
        if not np.isin(self.kind, [int(k) for k in BusyKind]).all():
            raise ValueError("busy: a kind is not a BusyKind")

    @classmethod
    def none(cls) -> Busy:
        return cls.of(())

    @classmethod
    def of(
        cls,
        periods: Iterable[tuple[int, datetime, datetime, BusyKind]],
        opted_out: Iterable[int] = (),
    ) -> Busy:
        """Busy periods from rows of (candidate index, start, end, kind)."""
        rows = list(periods)
        return cls(
            device=np.array([r[0] for r in rows], np.intp),
            start_s=np.array([epoch_s(r[1]) for r in rows], np.int64),
            end_s=np.array([epoch_s(r[2]) for r in rows], np.int64),
            kind=np.array([int(r[3]) for r in rows], np.int8),
            opted_out=np.array(sorted(set(opted_out)), np.intp),
        )


@dataclass(frozen=True, slots=True)
class Costs:
    """What calling a device costs: a rate per kW per program, and a fatigue weight λ on the
    share of its cycle's events it has used."""

    rate_per_kw: Mapping[str, float] = field(default_factory=dict)
    default_rate: float = 1.0
    fatigue_weight: float = 1.0
    #: What calling one device costs beyond its kW, in the units of rate × kW: of two ways to
    #: meet a need, the one with fewer devices costs less.
    call_cost: float = 0.05

    def __post_init__(self) -> None:
        if min((self.default_rate, *self.rate_per_kw.values())) <= 0 or self.fatigue_weight < 0:
            raise ValueError("costs: rates must be positive and the fatigue weight not negative")
        if self.call_cost < 0:
            raise ValueError("costs: the call cost must not be negative")

    def rate(self, program: str) -> float:
        return self.rate_per_kw.get(program, self.default_rate)


@dataclass(frozen=True, slots=True)
class SnapBack:
    """After a device's stage, ``share`` of its kW comes back as added load for ``duration_s``."""

    share: float = 0.3
    duration_s: int = 3600


@dataclass(frozen=True, slots=True, eq=False)
class PlanRequest:
    """Everything a plan is made from; the same request always gives the same plan."""

    event: EventWindow
    strategy: Strategy
    candidates: Candidates
    forecasts: Forecasts
    #: Per program code, its rules in force for the event (``rules_in_force``).
    rules: Mapping[str, Sequence[Rule]]
    calendar: Calendar
    busy: Busy = field(default_factory=Busy.none)
    costs: Costs = field(default_factory=Costs)
    snapback: SnapBack = field(default_factory=SnapBack)
    #: The score of a device that has none.
    default_score: float = 50.0
