"""Payload builders and the fake hub of derms's integration tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request

from derlink.derms.app import DermsPart
from derlink.derms.db import outbox

Headers = dict[str, str]


def enroll_sync(
    message: str,
    subscription: str,
    *devices: dict[str, Any],
    version: int = 1,
    status: str = "ACTIVE",
    sync_type: str = "ENROLL",
) -> dict[str, Any]:
    """A DERMS Enroll record, as cpm sends it (docs/contracts/enrollment.md)."""
    return {
        "dacsMessageId": message,
        "syncType": sync_type,
        "contactInfo": {"contactId": "C-1", "cisPersonId": "P1"},
        "subscriptionInfo": {
            "subscriptionId": subscription,
            "cisAccountId": "A1",
            "subscriptionType": "DR",
            "status": status,
            "programId": "PG-1",
            "programCode": "BYOT-SUMMER",
            "startDateTimeISO": "2026-06-01T00:00:00-07:00",
            "endDateTimeISO": None,
            "version": version,
        },
        "locationInfo": {
            "division": "CA",
            "servicePointId": "SPX-1",
            "cisPremiseId": "PR1",
            "cisServicePointId": f"SP-{subscription}",
            "controllableDevices": list(devices),
        },
    }


def thermostat(nic: str, *, he: str = "ECOBEE-HE", status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "deviceId": f"D-{nic}",
        "deviceType": "THERMOSTAT",
        "specification": "ECOBEE-ST",
        "make": "ECOBEE",
        "model": "SMARTTHERMOSTAT",
        "headEndSystem": he,
        "nicId": nic,
        "serialNo": f"SN-{nic}",
        "badgeNo": "",
        "status": status,
    }


def enrollment_request(message: str, *, nic: str = "NIC-1") -> dict[str, Any]:
    """Oracle's enrollment-request shape, as a head-end hands it to derms."""
    return {
        "messageId": message,
        "customerInfo": {
            "cisPersonId": "P1",
            "cisAccountId": "A1",
            "name": "Ann Lee",
            "homePhone": "",
            "businessPhone": "",
            "email": "ann@example.org",
        },
        "programInfo": {
            "cisServiceAgreementId": "SA1",
            "programCode": "BYOT-SUMMER",
            "startDateTimeISO": "2026-06-01T00:00:00-07:00",
        },
        "locationInfo": {
            "locationId": "L1",
            "division": "CA",
            "cisPremiseId": "PR1",
            "cisServicePointId": "SP1",
            "timeZone": "America/Los_Angeles",
        },
        "assetInfo": {
            "installationMethod": "SELF",
            "assetOwnership": "CUSTOMER",
            "assetList": [
                {
                    "sequence": 1,
                    "assetId": "T-1",
                    "specification": "",
                    "make": "ECOBEE",
                    "model": "SMARTTHERMOSTAT",
                    "assetType": "THERMOSTAT",
                    "serialNo": "SN1",
                    "nicId": nic,
                    "headEndSystem": "ECOBEE-HE",
                }
            ],
        },
    }


def outbox_messages(part: DermsPart, flow: str) -> list[tuple[str, str]]:
    """(message key, payload) of every outbox row of ``flow``, oldest first."""
    with part.db.read() as conn:
        rows = conn.execute(
            sa.select(outbox.c.message_key, outbox.c.payload)
            .where(outbox.c.flow == flow)
            .order_by(outbox.c.id)
        ).all()
    return [(r.message_key, r.payload) for r in rows]


@dataclass
class FakeHub:
    """The hub's intake, recording each batch it is given and answering 202."""

    received: list[tuple[str, dict[str, Any], Headers]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base_url: str = ""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hub/api/v1/flows/{code}/messages", status_code=202)
        async def intake(code: str, request: Request) -> dict[str, Any]:
            body = await request.json()
            with self.lock:
                self.received.append((code, body, dict(request.headers)))
            return {"batchId": body["batchId"]}

        return app

    def batches(self, code: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for c, body, _ in self.received if c == code]


def status_check(message: str, nic: str, *, he: str = "ECOBEE-HE") -> dict[str, Any]:
    """A device status check (DEV-STATUS), as cpm sends it."""
    return {
        "dacsMessageId": message,
        "deviceInfo": {
            "division": "CA",
            "deviceType": "THERMOSTAT",
            "specification": "ECOBEE-ST",
            "headEndSystem": he,
            "nicId": nic,
        },
    }
