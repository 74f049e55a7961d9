"""analytics' database schema: the one ``MetaData`` every table of the part belongs to, and the
claims of the files its intakes take.

Each feature package declares its tables on ``metadata`` (``enrollments/tables.py``,
``outcomes/tables.py``), and ``migrations.py`` creates them, so that the part's database is one
schema with one migration history whatever feature a table serves.
"""

from __future__ import annotations

import sqlalchemy as sa

from derlink.platform.intake.claims import claims_table

metadata = sa.MetaData()

#: The files analytics' intakes took, by content (platform/intake/claims.py), each under its
#: source (``OUAI-ENR`` the enrollment extracts, ``EVT-OUTCOME-OUAI`` the outcome files): of two
#: runs (or processes) that meet one content, one takes it; a re-delivered content has no second
#: effect.
file_claims = claims_table(metadata)
