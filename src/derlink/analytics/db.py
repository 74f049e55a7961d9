"""analytics' database schema: the one ``MetaData`` every table of the part belongs to.

Each feature package declares its tables on ``metadata`` (``enrollments/tables.py``), and
``migrations.py`` creates them, so that the part's database is one schema with one migration
history whatever feature a table serves.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
