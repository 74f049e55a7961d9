"""Lookups (value maps), editable at run time without a restart.

Reads come from an in-process cache that is refreshed from the database at most every
``ttl_s`` seconds, so a change made through another process shows up within that time and a
change made through this one at once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import sqlalchemy as sa

from derlink.common.clock import Clock
from derlink.common.errors import BusinessError
from derlink.hub.tables import lookup_audit, lookups, set_audited
from derlink.platform.database import Database

#: The value maps the hub knows, with the values a fresh installation starts with.
DEFAULT_LOOKUPS: Mapping[str, Mapping[str, str]] = {
    # DERMS MAKE!MODEL → cpm device specification.
    "AssetSpec": {
        "ECOBEE!SMARTTHERMOSTAT": "ECOBEE-ST",
        "NEST!LEARNING3": "NEST-LT3",
        "HONEYWELL!T6PRO": "HONEYWELL-T6",
        "ENPHASE!IQ8": "ENPHASE-IQ8",
        "TESLA!POWERWALL2": "TESLA-PW2",
        "CHARGEPOINT!HOMEFLEX": "CP-HOMEFLEX",
        "RHEEM!PROTERRA": "RHEEM-WH",
    },
    "AssetType": {
        "THERMOSTAT": "THERMOSTAT",
        "BATTERY": "BATTERY",
        "EV_CHARGER": "EV_CHARGER",
        "WATER_HEATER": "WATER_HEATER",
        "INVERTER": "INVERTER",
    },
    # DERMS event type → cpm program event category.
    "EventType": {
        "ECONOMIC": "X1EC",
        "EMERGENCY": "X1EM",
        "RELIABILITY": "X1RE",
        "DEVICE_TEST": "X1DT",
    },
    "EnrollmentStatus": {"ACTIVE": "Active", "INACTIVE": "Inactive", "PENDING": "Pending"},
    # cpm day-kind code → DERMS day kind (PROG-RULE, docs/contracts/master-data.md).
    "AllowEventDays": {"WEEKDAYS": "WEEKDAY", "WEEKENDS": "WEEKEND", "HOLIDAYS": "HOLIDAY"},
    # cpm cycle code → DERMS cycle (PROG-RULE).
    "CycleFrequency": {
        "DAY": "DAILY",
        "WEEK": "WEEKLY",
        "MONTH": "MONTHLY",
        "SEASON": "SEASON",
        "YEAR": "YEAR",
    },
    "Routing": {"derms-1": "cpm-1"},
}


#: The longest lookup key: its column's size.
KEY_MAX = 200


class LookupStore:
    def __init__(self, db: Database, clock: Clock, ttl_s: float = 2.0) -> None:
        self.db = db
        self.clock = clock
        self.ttl_s = ttl_s
        self._cache: dict[str, dict[str, str]] = {}
        self._loaded_at = 0.0

    def seed(self) -> None:
        """Write the default values that are not there yet (first start)."""
        now = self.clock.now().isoformat()
        with self.db.begin() as conn:
            present = {
                (r.name, r.key) for r in conn.execute(sa.select(lookups.c.name, lookups.c.key))
            }
            rows = [
                {
                    "name": name,
                    "key": key,
                    "value": value,
                    "updated_at": now,
                    "updated_by": "derlink",
                }
                for name, values in DEFAULT_LOOKUPS.items()
                for key, value in values.items()
                if (name, key) not in present
            ]
            if rows:
                conn.execute(lookups.insert(), rows)
        self._loaded_at = 0.0

    def _refresh(self) -> None:
        if time.monotonic() - self._loaded_at < self.ttl_s:
            return
        cache: dict[str, dict[str, str]] = {}
        with self.db.read() as conn:
            for row in conn.execute(sa.select(lookups.c.name, lookups.c.key, lookups.c.value)):
                cache.setdefault(str(row[0]), {})[str(row[1])] = str(row[2])
        self._cache = cache
        self._loaded_at = time.monotonic()

    def table(self, name: str) -> dict[str, str]:
        self._refresh()
        return dict(self._cache.get(name, {}))

    def all(self) -> dict[str, dict[str, str]]:
        self._refresh()
        return {name: dict(values) for name, values in self._cache.items()}

    def set(self, name: str, key: str, value: str | None, *, actor: str) -> None:
        """Set (or, with ``value=None``, remove) one entry; the change is audited."""
        if name not in DEFAULT_LOOKUPS:
            raise BusinessError(
                f"unknown lookup {name!r}; known: {', '.join(sorted(DEFAULT_LOOKUPS))}",
                code="HUB-LOOKUP-UNKNOWN",
            )
        if not key.strip():
            raise BusinessError("a lookup key must not be empty", code="HUB-LOOKUP-KEY")
        if len(key) > KEY_MAX:
            raise BusinessError(
                f"a lookup key has at most {KEY_MAX} characters, not {len(key)}",
                code="HUB-LOOKUP-KEY",
            )
        now = self.clock.now().isoformat()
        with self.db.begin() as conn:
            set_audited(
                conn, lookups, lookup_audit, {"name": name, "key": key}, value, actor=actor, at=now
            )
        self._loaded_at = 0.0
