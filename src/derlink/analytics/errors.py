"""Errors of the analytics part.

    DerlinkError
    └── AnalyticsError               base of everything this part raises on purpose
        └── InputFileError           an input file cannot be used at all (missing column,
                                     unreadable format, naive timestamps, not sorted)

Problems *inside* the data (gaps, duplicates, out-of-range values) are never errors: they are
reported as sufficiency warnings (``sufficiency.py``) and the run carries on.
"""

from __future__ import annotations

from derlink.common.errors import DerlinkError


class AnalyticsError(DerlinkError):
    code = "DL-ANALYTICS"


class InputFileError(AnalyticsError):
    code = "DL-ANALYTICS-INPUT"


class UnsortedMeasurements(InputFileError):
    """A streamed measurement file is not grouped by service point (see the Parquet layout)."""

    code = "DL-ANALYTICS-UNSORTED"
