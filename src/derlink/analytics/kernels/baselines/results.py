"""What a baseline method computes for a group of service points (``methods.BaselineMethod``).

- ``EventSavings``: for a past event, each service point's baseline beside its actual load,
  interval by interval: what kWh avoided and kW drop are made of (``kernels/kwh_avoided.py``);
- ``ExpectedLoad``: for a coming window, each service point's expected load and its spread,
  in kW: what a forecast scales by the expected response (``kernels/forecast.py``).

Both hold service points that share a time zone and an interval length (a ``groups.Group``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from derlink.analytics.kernels.localtime import US_PER_SECOND, from_us

FloatArray = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]
ObjectArray = npt.NDArray[np.object_]


@dataclass(frozen=True)
class EventSavings:
    """Baseline and actual kWh of N service points over one event's K intervals.

    One instance holds service points that share a time zone and an interval length.
    """

    sp_ids: ObjectArray  # (N,)
    time_zone: str
    interval_s: int
    interval_starts_us: Int64Array  # (K,)
    baseline: FloatArray  # (N, K)
    actual: FloatArray  # (N, K)

    @property
    def kwh_saved(self) -> FloatArray:
        return self.baseline - self.actual

    @property
    def kw_drop(self) -> FloatArray:
        return self.kwh_saved / (self.interval_s / 3600.0)

    def with_baseline(self) -> npt.NDArray[np.bool_]:
        """Service points with a baseline (the ones that get a row)."""
        return np.asarray(~np.isnan(self.baseline).all(axis=1), dtype=bool)

    def window_text(self) -> tuple[str, str]:
        """ActualStartTime and ActualEndTime as ISO text with the local offset."""
        step = self.interval_s * US_PER_SECOND
        start = from_us(int(self.interval_starts_us[0]), self.time_zone)
        end = from_us(int(self.interval_starts_us[-1]) + step, self.time_zone)
        return start.isoformat(), end.isoformat()


@dataclass(frozen=True)
class ExpectedLoad:
    """Expected load of N service points over a coming window's K intervals, in kW.

    ``sd_kw`` is the spread of that expectation (zero when the method gives none).
    """

    mean_kw: FloatArray  # (N, K)
    sd_kw: FloatArray  # (N, K)
    interval_starts_us: Int64Array  # (K,)
    interval_s: int
