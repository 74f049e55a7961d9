"""The files of DERMS's inputs, as every side reads and writes them (DEV-SCORE, LRF;
docs/contracts/analytics-files.md): cpm writes the device-score file, analytics the
load-reduction forecast file, the hub reads both and delivers their rows to DERMS."""

from __future__ import annotations

#: The device-score file: ``SDCSE_<YYYYMMDDThhmmssZ>.csv``, one row per device.
SCORE_PREFIX = "SDCSE_"
SCORE_HEADER = (
    "DeviceId",
    "HeadEndSystem",
    "NicId",
    "Score",
    "Events",
    "Reliability",
    "Performance",
    "LastEventDateTime",
    "ScoreDateTime",
)

#: The load-reduction forecast file: ``LRF_<YYYYMMDDThhmmssZ>.csv``, one row per service point.
FORECAST_PREFIX = "LRF_"
FORECAST_HEADER = (
    "ForecastDateTime",
    "ProgramId",
    "SPId",
    "WindowStartTime",
    "WindowEndTime",
    "IntervalSize(Seconds)",
    "PastEvents",
    "ResponseRatio",
    "MeanExpectedKw",
    "P10Kw",
    "P50Kw",
    "P90Kw",
)
#: Between the values of the intervals in ``P10Kw``, ``P50Kw`` and ``P90Kw``.
INTERVAL_SEPARATOR = ";"


def stamped_name(prefix: str, stamp: str) -> str:
    """``<prefix><YYYYMMDDThhmmssZ>.csv``: a file name the flow of ``prefix`` lists."""
    return f"{prefix}{stamp}.csv"
