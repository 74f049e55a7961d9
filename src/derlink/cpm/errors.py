"""cpm's errors: a business rule that said no, and a request that collides with a record's state.

    DerlinkError
    ├── BusinessError
    │   └── CpmBusinessError   422; ``code`` is one of the documented cpm codes
    └── Conflict
        └── CpmConflict        409

The codes are each feature's (``catalog/model.py``, ``enrollment/model.py``,
``events/model.py``), documented in docs/contracts/enrollment.md ("cpm business codes"),
docs/contracts/cpm-data.md and docs/contracts/program-events.md.
"""

from __future__ import annotations

from derlink.common.errors import BusinessError, Conflict


class CpmBusinessError(BusinessError):
    """A cpm business rule said no (422); ``code`` is one of the documented cpm codes."""


class CpmConflict(Conflict):
    """The request collides with the record's current state (409)."""
