"""How wide an enrollment field may be: one figure for the record checks and the columns.

``model`` rejects a field wider than ``FIELD_MAX`` (AN-VALUE) and ``tables`` makes its columns
that wide, so that every accepted value fits its column. Both read it here, so that neither
imports the other (the enrollments layers contract in pyproject.toml).
"""

from __future__ import annotations

#: The longest field analytics keeps (the database columns' width).
FIELD_MAX = 200
