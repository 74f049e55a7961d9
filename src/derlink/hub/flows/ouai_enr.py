"""OUAI-ENR — Enrollment sync to analytics: cpm → analytics object storage.

Copies cpm's enrollment extract files (prefix ``ENROLL_SYNC``) from cpm's content server to
analytics' object storage, part by part (``files.py``). Analytics takes each file and writes an
acknowledgement file per input file, which OUAI-ENR-ACK (``ouai_enr_ack.py``) brings back to
cpm. The layouts are in docs/contracts/enrollment-files.md.
"""

from __future__ import annotations

from typing import ClassVar

from derlink.hub.catalog import FLOWS, FlowSpec
from derlink.hub.flows.files import CopyFileFlow


class EnrollmentSyncToAnalytics(CopyFileFlow):
    spec: ClassVar[FlowSpec] = FLOWS["OUAI-ENR"]
