"""What stage generation returns: a plan of stages, the need it was made for, what it falls
short of, and why each candidate left out was left out (docs/stage-generation.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Any

from derlink.derms.events.stage_inputs import FloatArray, IndexArray


class Exclusion(IntEnum):
    """The rules a candidate can fail, in the order they are checked. A candidate is counted
    once, under the first rule it fails; the last three are checked per stage window, and a
    candidate fails them when it fails one in every window of its program (counted under the
    first in this order it fails in any window)."""

    #: Its program is not one of the strategy's.
    NOT_IN_STRATEGY = 1
    #: Its DERMS registration status is not D1RE.
    NOT_REGISTERED = 2
    #: It is outside the strategy's control zone.
    OUTSIDE_ZONE = 3
    #: Its program has no rules in force.
    NO_RULES = 4
    #: No day of the event is a kind of day its program allows.
    DAY_NOT_ALLOWED = 5
    #: No stage of at least the minimum duration fits its program's window (for a manual
    #: event, the operator's windows) inside the event.
    OUTSIDE_WINDOW = 6
    #: Its events used in the cycle have reached the program's maximum per cycle.
    MAX_EVENTS = 7
    #: Its overrides used in the cycle have reached the program's maximum per cycle.
    MAX_OVERRIDES = 8
    #: It was opted out of this event.
    OPTED_OUT = 9
    #: The customer's unavailability overlaps [stage start − minimum rest, stage end).
    UNAVAILABLE = 10
    #: Another event's reservation comes within the minimum rest of the stage.
    RESERVED = 11
    #: No forecast of its service point covers the stage.
    NO_FORECAST = 12


@dataclass(frozen=True, slots=True)
class Note:
    """Something the plan's reader must know, as data: a dotted code and a sentence."""

    code: str
    detail: str


@dataclass(frozen=True, slots=True, eq=False)
class Stage:
    """A block of device activity: one program's devices over [start, end)."""

    seq: int
    program: str
    start: datetime
    end: datetime
    #: Candidate indices (positions in the request's candidates), ascending.
    devices: IndexArray
    #: Expected kW per planning interval of the stage: the sums of its devices' quantiles.
    p10_kw: FloatArray
    p50_kw: FloatArray
    p90_kw: FloatArray
    #: The load that comes back after the stage ends, for the snap-back's duration.
    snapback_kw: float

    @property
    def device_count(self) -> int:
        return int(self.devices.shape[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "program": self.program,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "device_count": self.device_count,
            "devices": self.devices.tolist(),
            "p10_kw": self.p10_kw.tolist(),
            "p50_kw": self.p50_kw.tolist(),
            "p90_kw": self.p90_kw.tolist(),
            "snapback_kw": self.snapback_kw,
        }


@dataclass(frozen=True, slots=True, eq=False)
class Plan:
    """Stages in time order (then by program code), with the curves per planning interval
    from the event's start. ``planned_kw`` is the quantile filled (P50, or P10 for a firm
    strategy); ``shortfall_kw`` is need − planned where positive, never hidden."""

    start: datetime
    step_s: int
    stages: tuple[Stage, ...]
    #: What the objective asks for, with the snap-back of the plan's stages added.
    need_kw: FloatArray
    planned_kw: FloatArray
    shortfall_kw: FloatArray
    #: The load coming back after stages, per interval; it runs past the event's end by the
    #: snap-back's duration.
    snapback_kw: FloatArray
    #: Per Exclusion name, in rule order, the candidates it left out.
    exclusions: Mapping[str, int]
    candidates: int
    #: Eligible for a stage, and not needed.
    eligible_unused: int
    #: Planned devices whose score was the request's default (they had none).
    default_score_devices: int
    #: The largest summed P50 reduction in any interval (for the balance-authority check).
    peak_planned_mw: float
    #: "greedy" or "optimiser".
    planner: str
    notes: tuple[Note, ...]

    @property
    def max_shortfall_kw(self) -> float:
        return float(self.shortfall_kw.max(initial=0.0))

    @property
    def planned_devices(self) -> int:
        return sum(stage.device_count for stage in self.stages)

    @property
    def excluded(self) -> int:
        return sum(self.exclusions.values())

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready values: the same request gives the same bytes."""
        return {
            "start": self.start.isoformat(),
            "step_s": self.step_s,
            "planner": self.planner,
            "stages": [stage.to_dict() for stage in self.stages],
            "need_kw": self.need_kw.tolist(),
            "planned_kw": self.planned_kw.tolist(),
            "shortfall_kw": self.shortfall_kw.tolist(),
            "snapback_kw": self.snapback_kw.tolist(),
            "max_shortfall_kw": self.max_shortfall_kw,
            "exclusions": dict(self.exclusions),
            "candidates": self.candidates,
            "eligible_unused": self.eligible_unused,
            "default_score_devices": self.default_score_devices,
            "peak_planned_mw": self.peak_planned_mw,
            "notes": [{"code": n.code, "detail": n.detail} for n in self.notes],
        }
