"""A sample utility: programs, head-end systems and N customers, each with an account, a
premise and a metered service point. Deterministic for a given seed, loaded over the APIs
the way a CIS extract would be."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from derlink.common.errors import BusinessFault
from derlink.platform.http import HttpClient

PROGRAMS: list[dict[str, Any]] = [
    {
        "programCode": "BYOT-SUMMER",
        "name": "Bring Your Own Thermostat — Summer Saver",
        "programType": "DR",
        "status": "Active",
        "eligibleSpecifications": ["ECOBEE-ST", "NEST-LT3", "HONEYWELL-T6"],
        "settlementMethod": "KWH_AVOIDED",
    },
    {
        "programCode": "EV-SMART",
        "name": "Smart EV Charging",
        "programType": "DR",
        "status": "Active",
        "eligibleSpecifications": ["CP-HOMEFLEX"],
        "settlementMethod": "KWH_AVOIDED",
    },
    {
        "programCode": "BATTERY-RES",
        "name": "Residential Battery Reserve",
        "programType": "DER",
        "status": "Active",
        "eligibleSpecifications": ["TESLA-PW2", "ENPHASE-IQ8"],
        "settlementMethod": "KW_DROP",
    },
    {
        "programCode": "LEGACY-AC",
        "name": "Legacy AC Cycling (closed)",
        "programType": "DR",
        "status": "Inactive",
        "eligibleSpecifications": ["RHEEM-WH"],
        "settlementMethod": "KWH_AVOIDED",
    },
]

#: The rules of each sample program (docs/contracts/master-data.md): summer afternoons on
#: weekdays for thermostats, evenings every day for EVs, any day and hour for batteries (which
#: answer within seconds: events of two minutes and more).
RULES: dict[str, list[dict[str, Any]]] = {
    "BYOT-SUMMER": [
        {"effectiveFrom": "2026-06-01", "effectiveTo": "2026-10-01",
         "allowEventDays": ["WEEKDAYS"], "windowStart": "12:00", "windowEnd": "20:00",
         "minEventDurationMin": 60, "maxEventDurationMin": 240, "maxEventsPerCycle": 15,
         "cycleFrequency": "SEASON", "maxOverridesPerCycle": 3, "optOutCutoffMin": 60,
         "minRestMin": 1080, "overridable": False},
    ],
    "EV-SMART": [
        {"effectiveFrom": "2026-01-01", "effectiveTo": None,
         "allowEventDays": ["WEEKDAYS", "WEEKENDS"], "windowStart": "16:00",
         "windowEnd": "22:00", "minEventDurationMin": 30, "maxEventDurationMin": 180,
         "maxEventsPerCycle": 8, "cycleFrequency": "MONTH", "maxOverridesPerCycle": 2,
         "optOutCutoffMin": 30, "minRestMin": 720, "overridable": True},
    ],
    "BATTERY-RES": [
        {"effectiveFrom": "2026-01-01", "effectiveTo": None,
         "allowEventDays": ["WEEKDAYS", "WEEKENDS", "HOLIDAYS"], "windowStart": "00:00",
         "windowEnd": "23:59", "minEventDurationMin": 2, "maxEventDurationMin": 240,
         "maxEventsPerCycle": 60, "cycleFrequency": "YEAR", "maxOverridesPerCycle": 0,
         "optOutCutoffMin": 0, "minRestMin": 60, "overridable": False},
    ],
}  # fmt: skip

#: The sample utility's aggregators.
AGGREGATORS: list[dict[str, Any]] = [
    {"code": "VALLEY-VPP", "name": "Valley Virtual Power Plant", "startDate": "2026-01-01",
     "contact": {"name": "Dispatch desk", "email": "dispatch@valley-vpp.example"},
     "externalSystem": "TESLA-HE", "programs": ["BATTERY-RES"]},
    {"code": "THERMO-AGG", "name": "Thermostat Aggregation Co.", "startDate": "2026-03-01",
     "contact": {"name": "Operations", "email": "ops@thermo-agg.example"},
     "externalSystem": "ECOBEE-HE", "programs": ["BYOT-SUMMER"]},
]  # fmt: skip

#: (make, model, specification, device type, head-end system, program)
DEVICE_MODELS = [
    ("ECOBEE", "SMARTTHERMOSTAT", "ECOBEE-ST", "THERMOSTAT", "ECOBEE-HE", "BYOT-SUMMER"),
    ("NEST", "LEARNING3", "NEST-LT3", "THERMOSTAT", "NEST-HE", "BYOT-SUMMER"),
    ("HONEYWELL", "T6PRO", "HONEYWELL-T6", "THERMOSTAT", "RESIDEO-HE", "BYOT-SUMMER"),
    ("CHARGEPOINT", "HOMEFLEX", "CP-HOMEFLEX", "EV_CHARGER", "CHARGEPOINT-HE", "EV-SMART"),
    ("TESLA", "POWERWALL2", "TESLA-PW2", "BATTERY", "TESLA-HE", "BATTERY-RES"),
    ("ENPHASE", "IQ8", "ENPHASE-IQ8", "BATTERY", "ENPHASE-HE", "BATTERY-RES"),
]
HEAD_ENDS = sorted({m[4] for m in DEVICE_MODELS})

FIRST = ["Ann", "Ben", "Carla", "Dev", "Eva", "Femi", "Gus", "Hana", "Ivan", "Jia", "Kofi", "Lena"]
LAST = ["Lee", "Ortiz", "Nguyen", "Smith", "Okafor", "Kumar", "Rossi", "Haddad", "Kim", "Silva"]
CITIES = [
    ("Fresno", "Fresno", "93701"),
    ("Visalia", "Tulare", "93277"),
    ("Merced", "Merced", "95340"),
]


@dataclass(frozen=True)
class Customer:
    n: int

    @property
    def person(self) -> str:
        return f"P{self.n:08d}"

    @property
    def account(self) -> str:
        return f"A{self.n:08d}"

    @property
    def premise(self) -> str:
        return f"PR{self.n:08d}"

    @property
    def service_point(self) -> str:
        return f"SP{self.n:08d}"


def customers(count: int) -> Iterator[Customer]:
    return (Customer(n) for n in range(1, count + 1))


def master_data(batch: list[Customer], seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """The CIS extract of a batch of customers, in cpm's master-data shape."""
    rng = random.Random(seed + batch[0].n)  # noqa: S311 -- sample names, not secrets
    persons, accounts, premises, points = [], [], [], []
    for c in batch:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        city, county, postal = CITIES[c.n % len(CITIES)]
        persons.append(
            {
                "cisPersonId": c.person,
                "name": name,
                "email": f"{name.lower().replace(' ', '.')}.{c.n}@customer.example",
                "homePhone": f"559-555-{c.n % 10000:04d}",
                "businessPhone": "",
            }
        )
        accounts.append({"cisAccountId": c.account, "cisPersonId": c.person})
        premises.append(
            {
                "cisPremiseId": c.premise,
                "cisAccountId": c.account,
                "address1": f"{100 + c.n % 9000} Orchard Ave",
                "city": city,
                "state": "CA",
                "postal": postal,
                "country": "US",
                "county": county,
                "division": "CA",
                "timeZone": "America/Los_Angeles",
            }
        )
        points.append(
            {"cisServicePointId": c.service_point, "cisPremiseId": c.premise, "division": "CA"}
        )
    return {"persons": persons, "accounts": accounts, "premises": premises, "servicePoints": points}


def enrollment_request(
    c: Customer,
    *,
    message_id: str,
    model_index: int,
    nic_suffix: str = "",
    program: str | None = None,
    send_specification: bool = True,
) -> dict[str, Any]:
    """An Oracle-shaped enrollment request for customer ``c`` with one device."""
    make, model, spec, dtype, head_end, default_program = DEVICE_MODELS[
        model_index % len(DEVICE_MODELS)
    ]
    city, county, postal = CITIES[c.n % len(CITIES)]
    return {
        "messageId": message_id,
        "customerInfo": {
            "cisPersonId": c.person,
            "cisAccountId": c.account,
            "name": "",
            "homePhone": "",
            "businessPhone": "",
            "email": "",
        },
        "programInfo": {
            "cisServiceAgreementId": f"SA{c.n:08d}",
            "programCode": program or default_program,
            "startDateTimeISO": "2026-06-01T00:00:00-07:00",
        },
        "locationInfo": {
            "locationId": f"L{c.n:08d}",
            "division": "CA",
            "cisPremiseId": c.premise,
            "cisServicePointId": c.service_point,
            "timeZone": "America/Los_Angeles",
            "address1": f"{100 + c.n % 9000} Orchard Ave",
            "city": city,
            "country": "US",
            "county": county,
            "state": "CA",
            "postal": postal,
        },
        "assetInfo": {
            "installationMethod": "SELF",
            "assetOwnership": "CUSTOMER",
            "assetList": [
                {
                    "sequence": 1,
                    "assetId": f"AS{c.n:08d}{nic_suffix}",
                    "specification": spec if send_specification else "",
                    "make": make,
                    "model": model,
                    "assetType": dtype,
                    "badgeNo": "",
                    "serialNo": f"SN{c.n:08d}{nic_suffix}",
                    "nicId": f"NIC-{c.n:08d}{nic_suffix}",
                    "headEndSystem": head_end,
                }
            ],
        },
    }


async def load(
    api: HttpClient, count: int, *, batch: int = 2000, progress: Callable[[int], None] | None = None
) -> None:
    """Load programs with their rules, aggregators, head-end systems and ``count`` customers
    through the parts' APIs. What is there already (a second start) is left as it is."""
    for program in PROGRAMS:
        code = program["programCode"]
        if await _created(api, "/cpm/api/v1/programs", program):
            for rule in RULES.get(code, []):
                await api.post(f"/cpm/api/v1/programs/{code}/rules", rule)
    for aggregator in AGGREGATORS:
        await _created(api, "/cpm/api/v1/aggregators", aggregator)
    await api.post("/derms/api/v1/head-end-systems", {"codes": HEAD_ENDS})
    pending = list(customers(count))
    for start in range(0, len(pending), batch):
        chunk = pending[start : start + batch]
        await api.post("/cpm/api/v1/master-data", master_data(chunk))
        if progress:
            progress(len(chunk))


async def _created(api: HttpClient, path: str, body: dict[str, Any]) -> bool:
    """Create it; False when it exists already (409)."""
    try:
        await api.post(path, body)
    except BusinessFault as exc:
        if exc.status != 409:
            raise
        return False
    return True
