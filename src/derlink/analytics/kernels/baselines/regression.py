"""The CalTRACK hourly regression baseline, fitted for many service points at once.

The model is the CalTRACK hourly method (CalTRACK 2.0 §3.x "hourly methods"), in the
single-segment form that eemeter's CalTRACK DR model uses (``eemeter.drmeter``:
``HourlyModel`` with ``segment_type="single"``):

1. Occupancy: fit ``kWh ~ 1 + CDD65 + HDD50`` (hourly degree values); an hour of the week is
   *occupied* when more than 65 % of its residuals are positive.
2. Temperature bins: start from the endpoints 30, 45, 55, 65, 75, 90 °F and, separately for the
   occupied and the unoccupied hours, drop endpoints whose bins hold fewer than 20 hours,
   working from the outside in (eemeter ``fit_temperature_bins``).
3. Fit ``kWh ~ hour-of-week (168 indicators) + temperature bin terms``, one set of bin terms for
   occupied hours and one for unoccupied hours.

eemeter fits one meter at a time with statsmodels. Here the same least-squares problem is solved
for a whole batch with numpy: the hour-of-week indicators are partialled out by demeaning within
each hour of the week (Frisch–Waugh–Lovell), which leaves two 7×7 normal-equation systems per
service point (occupied and unoccupied hours never share an hour of the week), solved with a
batched pseudo-inverse. Like eemeter, a zero reading of electricity is treated as missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from derlink.analytics.kernels import sufficiency
from derlink.analytics.kernels.baselines.results import EventSavings, ExpectedLoad
from derlink.analytics.kernels.grid import column_calendar
from derlink.analytics.kernels.groups import event_day
from derlink.analytics.kernels.localtime import (
    US_PER_SECOND,
    local_midnight_us,
    offset_table,
    weekday,
)

if TYPE_CHECKING:
    from derlink.analytics.kernels.events import Event
    from derlink.analytics.kernels.groups import Group, Population
    from derlink.analytics.kernels.sufficiency import WarningLog

FloatArray = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
ObjectArray = npt.NDArray[np.object_]

HOURS_OF_WEEK = 168
DEFAULT_BIN_ENDPOINTS = (30.0, 45.0, 55.0, 65.0, 75.0, 90.0)


@dataclass(frozen=True)
class RegressionMethod:
    """The CalTRACK-hourly baseline as a baseline method (``methods.BaselineMethod``), with its
    settings (defaults as eemeter's)."""

    name: str = "caltrack-hourly"
    lookback_days: int = 45
    occupancy_threshold: float = 0.65
    bin_endpoints: tuple[float, ...] = DEFAULT_BIN_ENDPOINTS
    min_bin_hours: int = 20
    zero_is_missing: bool = True
    min_training_hours: int = 24 * 7
    # service points × hours handled at once: small enough for the temporaries to stay in cache
    # (1,000 meter-years fit in 2.7 s at 120,000, 8.7 s at 4,000,000 on the bench machine)
    chunk_cells: int = 150_000

    def event_baseline(
        self, group: Group, event: Event, population: Population, warnings: WarningLog
    ) -> EventSavings | None:
        """The group's hourly baselines over a past event (``regression_event_baseline``)."""
        return regression_event_baseline(group, event, self, population, warnings)

    def expected_load(
        self, group: Group, window: Event, population: Population, warnings: WarningLog
    ) -> ExpectedLoad | None:
        """The load predicted for each hour of a coming window with its forecast temperature.

        An hourly prediction in kWh is the hour's mean kW; the regression gives no spread.
        """
        savings = regression_event_baseline(group, window, self, population, warnings)
        if savings is None:
            return None
        mean = savings.baseline
        return ExpectedLoad(mean, np.zeros_like(mean), savings.interval_starts_us, 3600)


@dataclass(frozen=True)
class HourlyModels:
    """Fitted models of N service points (``fit`` → ``predict`` → ``to_dict``/``from_dict``)."""

    sp_ids: ObjectArray
    bin_endpoints: tuple[float, ...]
    hour_of_week: FloatArray  # (N, 168) intercept per hour of week; NaN = never observed
    occupied: BoolArray  # (N, 168)
    occupied_keep: BoolArray  # (N, E) endpoints kept for occupied hours
    unoccupied_keep: BoolArray  # (N, E)
    occupied_coef: FloatArray  # (N, E + 1) bin coefficients
    unoccupied_coef: FloatArray  # (N, E + 1)
    training_hours: Int64Array  # (N,)

    def predict(self, temperature_f: FloatArray, hour_of_week: Int64Array) -> FloatArray:
        """(N, H) predicted kWh for hours with the given temperatures and hours of the week."""
        return predict_hourly(self, temperature_f, hour_of_week)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "caltrack-hourly",
            "bin_endpoints": list(self.bin_endpoints),
            "models": [
                {
                    "sp_id": str(self.sp_ids[i]),
                    "hour_of_week": [
                        None if np.isnan(v) else float(v) for v in self.hour_of_week[i]
                    ],
                    "occupied": self.occupied[i].astype(int).tolist(),
                    "occupied_keep": self.occupied_keep[i].astype(int).tolist(),
                    "unoccupied_keep": self.unoccupied_keep[i].astype(int).tolist(),
                    "occupied_coef": self.occupied_coef[i].tolist(),
                    "unoccupied_coef": self.unoccupied_coef[i].tolist(),
                    "training_hours": int(self.training_hours[i]),
                }
                for i in range(len(self.sp_ids))
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HourlyModels:
        models = data["models"]

        def stack(key: str, dtype: Any) -> npt.NDArray[Any]:
            return np.asarray([m[key] for m in models], dtype=dtype)

        endpoints = tuple(float(e) for e in data["bin_endpoints"])
        width = len(endpoints)
        how = np.asarray(
            [[np.nan if v is None else v for v in m["hour_of_week"]] for m in models],
            dtype=np.float64,
        ).reshape(len(models), HOURS_OF_WEEK)
        return cls(
            sp_ids=np.asarray([m["sp_id"] for m in models], dtype=object),
            bin_endpoints=endpoints,
            hour_of_week=how,
            occupied=stack("occupied", bool).reshape(len(models), HOURS_OF_WEEK),
            occupied_keep=stack("occupied_keep", bool).reshape(len(models), width),
            unoccupied_keep=stack("unoccupied_keep", bool).reshape(len(models), width),
            occupied_coef=stack("occupied_coef", np.float64).reshape(len(models), width + 1),
            unoccupied_coef=stack("unoccupied_coef", np.float64).reshape(len(models), width + 1),
            training_hours=stack("training_hours", np.int64).reshape(len(models)),
        )


def hours_of_week(column_starts_us: Int64Array, time_zone: str) -> Int64Array:
    """Local hour of the week (0 = Monday 00:00–01:00) of each hourly column."""
    if column_starts_us.size == 0:
        return column_starts_us
    table = offset_table(time_zone, int(column_starts_us[0]), int(column_starts_us[-1]))
    days, seconds = table.days_and_seconds(column_starts_us)
    result: Int64Array = weekday(days) * 24 + seconds // 3600
    return result


def _group_sums(values: FloatArray, hour_of_week: Int64Array) -> FloatArray:
    """(N, H[, F]) → (N, 168[, F]) sums over the columns of each hour of the week."""
    order = np.argsort(hour_of_week, kind="stable")
    ordered = hour_of_week[order]
    starts = np.searchsorted(ordered, np.arange(HOURS_OF_WEEK), side="left")
    ends = np.searchsorted(ordered, np.arange(HOURS_OF_WEEK), side="right")
    present = ends > starts
    out = np.zeros((values.shape[0], HOURS_OF_WEEK, *values.shape[2:]))
    if present.any():
        sums = np.add.reduceat(values[:, order], starts[present], axis=1)
        out[:, present] = sums
    return out


def _bin_features(temperature: FloatArray, kept_endpoints: FloatArray) -> FloatArray:
    """(N, H, E + 1) CalTRACK bin features for each service point's kept endpoints.

    ``kept_endpoints`` is (N, E) sorted with +inf for dropped endpoints; bin 0 is
    ``min(T, e1)``, bin i is ``clip(T − e_i, 0, e_{i+1} − e_i)``, the last ``max(T − e_m, 0)``.
    """
    n, hours = temperature.shape
    width = kept_endpoints.shape[1]
    features = np.zeros((n, hours, width + 1))
    t = temperature
    features[:, :, 0] = np.minimum(t, kept_endpoints[:, 0:1])
    for i in range(1, width + 1):
        left = kept_endpoints[:, i - 1 : i]
        right = kept_endpoints[:, i : i + 1] if i < width else np.full((n, 1), np.inf)
        exists = np.isfinite(left)
        safe_left = np.where(exists, left, 0.0)
        span = np.where(exists & np.isfinite(right), right - safe_left, np.inf)
        value = np.clip(t - safe_left, 0.0, span)
        features[:, :, i] = np.where(exists, value, 0.0)
    features[np.isnan(temperature)] = np.nan
    return features


def _fit_bins(
    temperature: FloatArray, mask: BoolArray, endpoints: tuple[float, ...], min_hours: int
) -> BoolArray:
    """Which endpoints to keep, per service point (eemeter ``_fit_temperature_bins``)."""
    edges = np.asarray(endpoints)
    width = len(edges)
    n = temperature.shape[0]
    element = np.searchsorted(edges, np.where(mask, temperature, np.nan), side="left")
    counts = np.stack([((element == k) & mask).sum(axis=1) for k in range(width + 1)], axis=1)
    keep = np.ones((n, width), dtype=bool)
    rows = np.arange(n)
    while True:
        # Merged bins: elementary interval k belongs to bin (number of kept endpoints below k).
        bin_of = np.concatenate((np.zeros((n, 1), dtype=np.int64), np.cumsum(keep, axis=1)), 1)
        merged = np.zeros((n, width + 1), dtype=np.int64)
        np.add.at(merged, (rows[:, None], bin_of), counts)
        bins = keep.sum(axis=1) + 1
        invalid = merged < min_hours
        rank = np.cumsum(keep, axis=1) - 1  # bin left of endpoint j is bin rank[j]
        first_bad = (bins > 1) & invalid[:, 0]
        last_bad = (bins > 1) & invalid[rows, bins - 1]
        remove = keep & first_bad[:, None] & (rank == 0)
        remove |= keep & last_bad[:, None] & (rank == (bins - 2)[:, None])
        middle = (bins > 2) & ~first_bad & ~last_bad
        bad_middle = np.take_along_axis(invalid, np.clip(rank, 0, width), axis=1)
        remove |= keep & middle[:, None] & (rank >= 1) & (rank <= (bins - 2)[:, None]) & bad_middle
        if not remove.any():
            return keep
        keep &= ~remove


def _solve(gram: FloatArray, moment: FloatArray) -> FloatArray:
    """Batched minimum-norm least squares (statsmodels uses a pseudo-inverse too)."""
    inverse = np.linalg.pinv(gram, rcond=1e-10, hermitian=True)
    solution: FloatArray = np.einsum("nij,nj->ni", inverse, moment)
    return solution


def fit_hourly(
    sp_ids: ObjectArray,
    kwh: FloatArray,
    temperature_f: FloatArray,
    hour_of_week: Int64Array,
    method: RegressionMethod | None = None,
    training: BoolArray | None = None,
) -> HourlyModels:
    """Fit CalTRACK-hourly models for N service points over H hourly columns.

    ``kwh`` and ``temperature_f`` are (N, H); ``hour_of_week`` (H,) is shared (one time zone);
    ``training`` (N, H) restricts the hours used (e.g. without event days).
    """
    settings = method or RegressionMethod()
    n, hours = kwh.shape
    chunk = max(1, settings.chunk_cells // max(hours, 1))
    parts = [
        _fit_chunk(
            sp_ids[i : i + chunk],
            kwh[i : i + chunk],
            temperature_f[i : i + chunk],
            hour_of_week,
            settings,
            None if training is None else training[i : i + chunk],
        )
        for i in range(0, max(n, 1), chunk)
    ]
    return _concat(parts) if len(parts) > 1 else parts[0]


def _fit_chunk(
    sp_ids: ObjectArray,
    kwh: FloatArray,
    temperature: FloatArray,
    hour_of_week: Int64Array,
    settings: RegressionMethod,
    training: BoolArray | None,
) -> HourlyModels:
    y = kwh.copy()
    if settings.zero_is_missing:
        y[y == 0] = np.nan  # eemeter HourlyBaselineData: zero electricity readings are missing
    valid = ~np.isnan(y) & ~np.isnan(temperature)
    if training is not None:
        valid &= training
    y0 = np.where(valid, y, 0.0)
    t0 = np.where(valid, temperature, 0.0)

    # 1. occupancy from kWh ~ 1 + CDD65 + HDD50 (eemeter estimate_hour_of_week_occupancy)
    design = np.stack(
        [valid.astype(np.float64), np.maximum(t0 - 65.0, 0.0), np.maximum(50.0 - t0, 0.0)],
        axis=2,
    )
    design[~valid] = 0.0
    across = design.transpose(0, 2, 1)  # (N, 3, H): batched BLAS products below
    beta = _solve(across @ design, (across @ y0[:, :, None])[:, :, 0])
    residual = y0 - (design @ beta[:, :, None])[:, :, 0]
    positive = _group_sums((valid & (residual > 0)).astype(np.float64), hour_of_week)
    observed = _group_sums(valid.astype(np.float64), hour_of_week)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = positive / observed
    # An hour of the week never observed counts as occupied (eemeter: NaN → bool True).
    occupied = np.where(observed > 0, share > settings.occupancy_threshold, True)
    occupied_col = occupied[:, hour_of_week]  # (N, H)

    # 2. temperature bins per occupancy mode
    occupied_keep = _fit_bins(
        temperature, valid & occupied_col, settings.bin_endpoints, settings.min_bin_hours
    )
    unoccupied_keep = _fit_bins(
        temperature, valid & ~occupied_col, settings.bin_endpoints, settings.min_bin_hours
    )
    edges = np.asarray(settings.bin_endpoints, dtype=np.float64)

    def kept(keep: BoolArray) -> FloatArray:
        return np.sort(np.where(keep, edges[None, :], np.inf), axis=1)

    features = np.where(
        occupied_col[:, :, None],
        _bin_features(t0, kept(occupied_keep)),
        _bin_features(t0, kept(unoccupied_keep)),
    )
    features[~valid] = 0.0

    # 3. hour-of-week indicators partialled out (Frisch–Waugh–Lovell). The within-hour-of-week
    # cross products are the raw ones minus the between-group part, per occupancy mode (an
    # hour of the week is wholly occupied or not), so nothing of size (N, H, F) is demeaned.
    counts = observed  # (N, 168)
    safe = np.maximum(counts, 1.0)
    sum_y = _group_sums(y0, hour_of_week)
    sum_f = _group_sums(features, hour_of_week)  # (N, 168, F)
    mean_y, mean_f = sum_y / safe, sum_f / safe[:, :, None]
    across = features.transpose(0, 2, 1)  # (N, F, H)
    raw_all = across @ features
    raw_fy_all = (across @ y0[:, :, None])[:, :, 0]
    occupied_features = features * occupied_col[:, :, None]
    across_occ = occupied_features.transpose(0, 2, 1)
    raw_occ = across_occ @ features
    raw_fy_occ = (across_occ @ y0[:, :, None])[:, :, 0]
    coefficients = []
    for how_mask, raw, raw_fy in (
        (occupied, raw_occ, raw_fy_occ),
        (~occupied, raw_all - raw_occ, raw_fy_all - raw_fy_occ),
    ):
        weight = np.where(how_mask, 1.0, 0.0)[:, :, None]
        between = (mean_f * weight).transpose(0, 2, 1) @ sum_f
        between_fy = ((mean_f * weight).transpose(0, 2, 1) @ sum_y[:, :, None])[:, :, 0]
        coefficients.append(_solve(raw - between, raw_fy - between_fy))
    occupied_coef, unoccupied_coef = coefficients
    bin_mean = np.where(
        occupied,
        (mean_f @ occupied_coef[:, :, None])[:, :, 0],
        (mean_f @ unoccupied_coef[:, :, None])[:, :, 0],
    )
    intercept = np.where(counts > 0, mean_y - bin_mean, np.nan)
    trained = valid.sum(axis=1)
    too_little = trained < settings.min_training_hours
    intercept[too_little] = np.nan
    return HourlyModels(
        sp_ids=sp_ids,
        bin_endpoints=tuple(float(e) for e in edges),
        hour_of_week=intercept,
        occupied=occupied,
        occupied_keep=occupied_keep,
        unoccupied_keep=unoccupied_keep,
        occupied_coef=occupied_coef,
        unoccupied_coef=unoccupied_coef,
        training_hours=trained.astype(np.int64),
    )


def _concat(parts: list[HourlyModels]) -> HourlyModels:
    return HourlyModels(
        sp_ids=np.concatenate([p.sp_ids for p in parts]),
        bin_endpoints=parts[0].bin_endpoints,
        hour_of_week=np.concatenate([p.hour_of_week for p in parts]),
        occupied=np.concatenate([p.occupied for p in parts]),
        occupied_keep=np.concatenate([p.occupied_keep for p in parts]),
        unoccupied_keep=np.concatenate([p.unoccupied_keep for p in parts]),
        occupied_coef=np.concatenate([p.occupied_coef for p in parts]),
        unoccupied_coef=np.concatenate([p.unoccupied_coef for p in parts]),
        training_hours=np.concatenate([p.training_hours for p in parts]),
    )


def predict_hourly(
    models: HourlyModels, temperature_f: FloatArray, hour_of_week: Int64Array
) -> FloatArray:
    edges = np.asarray(models.bin_endpoints, dtype=np.float64)
    kept_occ = np.sort(np.where(models.occupied_keep, edges[None, :], np.inf), axis=1)
    kept_un = np.sort(np.where(models.unoccupied_keep, edges[None, :], np.inf), axis=1)
    occupied_col = models.occupied[:, hour_of_week]
    term_occ = np.einsum("nhi,ni->nh", _bin_features(temperature_f, kept_occ), models.occupied_coef)
    term_un = np.einsum("nhi,ni->nh", _bin_features(temperature_f, kept_un), models.unoccupied_coef)
    result: FloatArray = models.hour_of_week[:, hour_of_week] + np.where(
        occupied_col, term_occ, term_un
    )
    return result


def hourly_from_grid(kwh: FloatArray, interval_s: int) -> FloatArray:
    """Sum sub-hourly columns into hours (an hour with any interval missing is missing)."""
    per_hour = 3600 // interval_s
    if per_hour == 1:
        return kwh
    n, columns = kwh.shape
    usable = columns // per_hour * per_hour
    hourly: FloatArray = kwh[:, :usable].reshape(n, usable // per_hour, per_hour).sum(axis=2)
    return hourly


def regression_event_baseline(
    group: Group,
    event: Event,
    method: RegressionMethod,
    population: Population,
    warnings: WarningLog,
) -> EventSavings | None:
    """Fit on the days before the event (without event days), predict the event's hours."""
    ids = group.sp_ids
    if 3600 % group.interval_s:
        warnings.add(
            sufficiency.REGRESSION_INSUFFICIENT,
            "the hourly regression needs intervals that divide an hour",
            ids,
        )
        return None
    if population.weather is None:
        warnings.add(sufficiency.NO_STATION, "no weather data given for the regression", ids)
        return None
    zone = group.time_zone
    day = event_day(event, zone)
    start = local_midnight_us(zone, day - method.lookback_days)
    hour_us = 3600 * US_PER_SECOND
    end = event.end_us + (-(event.end_us - start)) % hour_us
    grid = group.grid(start, end, population.bounds, warnings)
    start = grid.start_us  # the grid starts at the first reading when that is later
    kwh = hourly_from_grid(grid.dense(), group.interval_s)
    columns = kwh.shape[1]
    starts = start + np.arange(columns, dtype=np.int64) * hour_us
    how = hours_of_week(starts, zone)
    temperature = population.weather.for_stations(group.stations, starts)
    no_station = population.weather.station_index(group.stations) < 0
    warnings.add(
        sufficiency.NO_STATION, "no weather station for the service point", ids[no_station]
    )
    days, _ = column_calendar(start, columns, 3600, zone)
    prior = day - np.arange(method.lookback_days, 0, -1, dtype=np.int64)  # oldest first
    excluded = population.history.excluded_days(
        ids, group.programs, zone, prior, skip_event_id=event.event_id
    )
    position = days - (day - method.lookback_days)
    in_prior = (position >= 0) & (position < method.lookback_days)
    training = np.zeros(kwh.shape, dtype=bool)
    training[:, in_prior] = ~excluded[:, position[in_prior]]
    models = fit_hourly(ids, kwh, temperature, how, method, training)
    event_cols = np.flatnonzero((starts >= event.start_us) & (starts < event.end_us))
    baseline = predict_hourly(models, temperature[:, event_cols], how[event_cols])
    without = np.isnan(temperature[:, event_cols]) & ~no_station[:, None]
    warnings.add(
        sufficiency.TEMPERATURE_MISSING,
        "event hours without a temperature",
        ids,
        without.sum(axis=1),
        sufficiency.first_instants(without, starts[event_cols]),
    )
    poor = models.training_hours < method.min_training_hours
    warnings.add(
        sufficiency.REGRESSION_INSUFFICIENT,
        f"fewer than {method.min_training_hours} usable training hours",
        ids[poor],
    )
    return EventSavings(ids, zone, 3600, starts[event_cols], baseline, kwh[:, event_cols])


__all__ = [
    "HourlyModels",
    "RegressionMethod",
    "fit_hourly",
    "hourly_from_grid",
    "hours_of_week",
    "predict_hourly",
    "regression_event_baseline",
]
