"""Errors of the analytics part.

    DerlinkError
    └── AnalyticsError               base of everything this part raises on purpose
        └── InputFileError           an input file cannot be used at all (missing column,
                                     unreadable format, naive timestamps, not sorted)

Problems *inside* the data (gaps, duplicates, outliers) never stop a run: they are reported as
sufficiency warnings (``sufficiency.py``), those that keep a service point out of the run as
error rows, and the run carries on with the others.
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
