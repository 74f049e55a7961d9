"""Load-reduction forecast per service point for a coming event window, with a P10–P90 band.

For each service point and each interval of the window (method in docs/analytics.md):

1. predicted load ``L`` (kW), the baseline method's ``expected_load``: for an X-of-Y rule the
   mean of the most recent like days in the window's local slots (without day-of adjustment:
   there is no day-of data yet), for the CalTRACK hourly regression its prediction with the
   forecast temperature;
2. response ratio ``r``: the share of its baseline the service point saved in past events
   (``TotalKwhSavedForPeriod / (TotalKwh + TotalKwhSavedForPeriod)`` of the kWh avoided
   files), shrunk toward the program's mean by empirical Bayes: with ``n`` past events,
   within-service-point variance σ² and between-service-point variance τ²,
   ``r̂ = (n r̄ + k r̄_program) / (n + k)`` with ``k = σ² / τ²``; a newcomer gets the program mean;
3. expected reduction ``E = r̂ × L``; its spread combines the response's predictive variance
   ``σ² + 1 / (n / σ² + 1 / τ²)`` and the load's spread over the like days:
   ``sd = sqrt((L sd_r)² + (r̂ sd_L)²)``; P10 and P90 are ``E ∓ 1.2816 sd`` (normal quantiles).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from derlink.analytics.kernels import sufficiency
from derlink.analytics.kernels.baselines.methods import BaselineMethod
from derlink.analytics.kernels.baselines.rules import CAISO_10_IN_10
from derlink.analytics.kernels.baselines.xofy import XofYMethod
from derlink.analytics.kernels.events import Event
from derlink.analytics.kernels.groups import Population, split_batch
from derlink.analytics.kernels.intervals import IntervalBatch
from derlink.analytics.kernels.localtime import from_us
from derlink.analytics.kernels.sufficiency import WarningLog

FloatArray = npt.NDArray[np.float64]
#: The load prediction when none is chosen: CAISO's like days (without their adjustment).
DEFAULT_METHOD = XofYMethod(CAISO_10_IN_10)
Z90 = 1.2815515655446004  # standard normal quantile of 0.90
FORECAST_HEAD = [
    "ProgramId",
    "SPId",
    "WindowStartTime",
    "WindowEndTime",
    "IntervalSize(Seconds)",
    "PastEvents",
    "ResponseRatio",
    "MeanExpectedKw",
]


@dataclass(frozen=True)
class ResponseStats:
    """Per service point response ratios, and the program-level prior they shrink toward."""

    per_sp: dict[str, tuple[int, float]]  # sp_id → (events, mean ratio)
    program_mean: float
    within_var: float
    between_var: float

    @classmethod
    def from_history(cls, history: pl.DataFrame, default_ratio: float = 0.1) -> ResponseStats:
        """From kWh-avoided rows (``SPId, TotalKwh, TotalKwhSavedForPeriod``)."""
        if history.height == 0:
            return cls({}, default_ratio, 0.01, 0.01)
        ratios = (
            history.select(
                pl.col("SPId").alias("sp_id"),
                (
                    pl.col("TotalKwhSavedForPeriod")
                    / (pl.col("TotalKwh") + pl.col("TotalKwhSavedForPeriod"))
                ).alias("r"),
            )
            .filter(pl.col("r").is_finite())
            .with_columns(pl.col("r").clip(-1.0, 1.0))
        )
        per = ratios.group_by("sp_id").agg(
            pl.len().alias("n"), pl.col("r").mean().alias("mean"), pl.col("r").var().alias("var")
        )
        program_mean = float(ratios["r"].mean() or default_ratio)  # type: ignore[arg-type]
        within = per.filter(pl.col("n") > 1)
        within_var = float(
            (within["var"] * (within["n"] - 1)).sum() / max(int((within["n"] - 1).sum()), 1)
        )
        within_var = max(within_var, 1e-4)
        between = per["mean"].var() if per.height > 1 else None
        mean_n = float(per["n"].mean() or 1.0)  # type: ignore[arg-type]
        between_var = max(float(between or 0.0) - within_var / mean_n, 1e-4)  # type: ignore[arg-type]
        table = dict(
            zip(
                per["sp_id"].to_list(),
                zip(per["n"].to_list(), per["mean"].to_list(), strict=True),
                strict=True,
            )
        )
        return cls(table, program_mean, within_var, between_var)

    def shrunk(self, sp_ids: npt.NDArray[np.object_]) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(events, shrunk ratio, predictive sd of the ratio) per service point."""
        found = [self.per_sp.get(s, (0, self.program_mean)) for s in sp_ids.tolist()]
        n = np.asarray([f[0] for f in found], dtype=np.float64)
        mean = np.asarray([f[1] for f in found], dtype=np.float64)
        k = self.within_var / self.between_var
        ratio = (n * mean + k * self.program_mean) / (n + k)
        posterior = 1.0 / (n / self.within_var + 1.0 / self.between_var)
        sd = np.sqrt(self.within_var + posterior)
        return n, ratio, sd


@dataclass(frozen=True)
class ForecastGroup:
    sp_ids: npt.NDArray[np.object_]
    program_ids: npt.NDArray[np.object_]
    time_zone: str
    interval_s: int
    interval_starts_us: npt.NDArray[np.int64]
    events: FloatArray  # (N,)
    ratio: FloatArray  # (N,)
    expected_kw: FloatArray  # (N, K)
    p10_kw: FloatArray
    p90_kw: FloatArray


@dataclass(frozen=True)
class ForecastRun:
    window: Event
    groups: list[ForecastGroup] = field(default_factory=list)
    warnings: WarningLog = field(default_factory=WarningLog)
    #: The program's service points: those of the measurements, and those the service point
    #: file lists but the measurements never mention.
    service_points: set[str] = field(default_factory=set)

    def frame(self) -> pl.DataFrame:
        return forecast_frame(self.window, self.groups)


def forecast_window(
    batches: Iterable[IntervalBatch],
    *,
    window: Event,
    responses: ResponseStats,
    population: Population,
    method: BaselineMethod = DEFAULT_METHOD,
    progress: Callable[[int], None] | None = None,
) -> ForecastRun:
    """Expected kW reduction per interval of ``window`` for every service point of the program;
    one the service point file lists without a reading in the measurements gets a warning row
    (``NO_MEASUREMENTS``)."""
    run = ForecastRun(window)
    for batch in batches:
        _, programs, _ = population.service_points.lookup(batch.sp_ids)
        unknown = np.asarray([p is None for p in programs.tolist()], dtype=bool)
        keep = np.asarray(unknown | (programs == window.program_id), dtype=bool)
        run.service_points.update(batch.sp_ids[keep].tolist())
        for group in split_batch(batch, population.service_points, run.warnings, keep):
            load = method.expected_load(group, window, population, run.warnings)
            if load is None:
                continue
            load_kw, load_sd = load.mean_kw, load.sd_kw
            events, ratio, ratio_sd = responses.shrunk(group.sp_ids)
            expected = load_kw * ratio[:, None]
            spread = np.sqrt((load_kw * ratio_sd[:, None]) ** 2 + (ratio[:, None] * load_sd) ** 2)
            run.groups.append(
                ForecastGroup(
                    sp_ids=group.sp_ids,
                    program_ids=group.programs,
                    time_zone=group.time_zone,
                    interval_s=load.interval_s,
                    interval_starts_us=load.interval_starts_us,
                    events=events,
                    ratio=ratio,
                    expected_kw=expected,
                    p10_kw=expected - Z90 * spread,
                    p90_kw=expected + Z90 * spread,
                )
            )
        if progress is not None:
            progress(batch.size)
    listed = population.service_points.of_program(window.program_id)
    unmeasured = sorted(listed - run.service_points)
    run.warnings.add(
        sufficiency.NO_MEASUREMENTS,
        f"a service point of program {window.program_id} without any reading in the measurements",
        unmeasured,
    )
    run.service_points.update(unmeasured)
    return run


def forecast_frame(window: Event, groups: Sequence[ForecastGroup]) -> pl.DataFrame:
    """The load-reduction forecast file's rows (docs/contracts/analytics-files.md)."""
    parts = []
    for g in groups:
        keep = ~np.isnan(g.expected_kw).all(axis=1)
        if not keep.any():
            continue
        step = timedelta(seconds=g.interval_s)
        start = from_us(int(g.interval_starts_us[0]), g.time_zone)
        end = from_us(int(g.interval_starts_us[-1]), g.time_zone) + step
        k = g.expected_kw.shape[1]
        data: dict[str, object] = {
            "ProgramId": [p or window.program_id for p in g.program_ids[keep].tolist()],
            "SPId": g.sp_ids[keep].tolist(),
            "WindowStartTime": start.isoformat(),
            "WindowEndTime": end.isoformat(),
            "IntervalSize(Seconds)": g.interval_s,
            "PastEvents": g.events[keep].astype(np.int64),
            "ResponseRatio": g.ratio[keep],
            "MeanExpectedKw": np.nanmean(g.expected_kw[keep], axis=1),
        }
        for name, values in (
            ("ExpectedKw", g.expected_kw),
            ("P10Kw", g.p10_kw),
            ("P90Kw", g.p90_kw),
        ):
            for i in range(k):
                data[f"{name}{i + 1}"] = values[keep, i]
        parts.append(pl.DataFrame(data).with_columns(pl.col(pl.Float64).fill_nan(None).round(4)))
    if not parts:
        return pl.DataFrame(schema=dict.fromkeys(FORECAST_HEAD, pl.Utf8))
    frame = pl.concat(parts, how="diagonal_relaxed")
    tail = [c for c in frame.columns if c not in FORECAST_HEAD]

    def order(column: str) -> tuple[int, int]:
        for rank, prefix in enumerate(("ExpectedKw", "P10Kw", "P90Kw")):
            if column.startswith(prefix):
                return rank, int(column[len(prefix) :])
        return 9, 0

    return frame.select([*FORECAST_HEAD, *sorted(tail, key=order)]).sort("SPId")
