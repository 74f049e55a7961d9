"""A cpm part on a real database (SQLite file or PostgreSQL), driven over HTTP by the tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import sqlalchemy as sa
from fastapi.testclient import TestClient

from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.cpm.app import CpmPart, create_part
from derlink.cpm.db import metadata, outbox
from derlink.cpm.enrollment.tables import sync_request_history, sync_requests
from derlink.platform.auth import CredentialStore
from derlink.platform.http import HttpClient
from derlink.platform.settings import Settings

if TYPE_CHECKING:
    # What starlette's test client answers.
    from httpx2 import Response

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
API = "/api/v1"


class StillClock:
    """A clock that stands still until a test moves it, and goes back to T0 between tests."""

    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


def asset(nic: str = "NIC-1", spec: str = "ECOBEE-ST", **more: Any) -> dict[str, Any]:
    return {
        "sequence": 1, "assetId": f"T-{nic}", "specification": spec, "make": "ECOBEE",
        "model": "SMARTTHERMOSTAT", "assetType": "THERMOSTAT", "badgeNo": "",
        "serialNo": f"SN-{nic}", "nicId": nic, "headEndSystem": "ECOBEE-HE", **more,
    }  # fmt: skip


def enrollment_request(
    message_id: str = "REQ-1",
    *,
    account: str = "A1",
    service_point: str = "SP1",
    program: str = "BYOT",
    assets: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The contract's EnrollmentRequest example, with the parts a test varies."""
    return {
        "messageId": message_id,
        "customerInfo": {"cisPersonId": "P1", "cisAccountId": account, "name": "Ann Lee",
                         "homePhone": "", "businessPhone": "", "email": "ann@example.org"},
        "programInfo": {"cisServiceAgreementId": "SA1", "programCode": program,
                        "startDateTimeISO": "2026-06-01T00:00:00-07:00"},
        "locationInfo": {"locationId": "L1", "division": "CA", "cisPremiseId": "PR1",
                         "cisServicePointId": service_point, "timeZone": "America/Los_Angeles",
                         "address1": "1 Main St", "city": "Fresno", "country": "US",
                         "county": "Fresno", "state": "CA", "postal": "93701"},
        "assetInfo": {"installationMethod": "SELF", "assetOwnership": "CUSTOMER",
                      "assetList": [asset()] if assets is None else assets},
    }  # fmt: skip


@dataclass
class Cpm:
    """A cpm part with its credentials, a clock that stands still, and an HTTP client."""

    part: CpmPart
    http: TestClient
    credentials: CredentialStore
    clock: StillClock

    request = staticmethod(enrollment_request)
    asset = staticmethod(asset)

    def empty(self) -> None:
        """Back to an empty database and T0, for the next test."""
        with self.part.db.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
        self.clock.at = T0

    def close(self) -> None:
        self.http.__exit__(None, None, None)
        self.part.db.dispose()

    def headers(self, client: str = "operator") -> dict[str, str]:
        return self.credentials.client(client).header()

    def post(self, path: str, body: Any = None, *, client: str = "operator") -> Response:
        return self.http.post(API + path, json=body, headers=self.headers(client))

    def patch(self, path: str, body: Any = None, *, client: str = "operator") -> Response:
        return self.http.patch(API + path, json=body, headers=self.headers(client))

    def get(self, path: str, *, client: str = "operator", **params: Any) -> Response:
        return self.http.get(API + path, params=params, headers=self.headers(client))

    def seed(self) -> None:
        """Programs BYOT (Active) and OLD (Inactive); customers A1 at SP1 and A2 at SP2."""
        for code, status in (("BYOT", "Active"), ("OLD", "Inactive")):
            answer = self.post("/programs", {"programCode": code, "name": code, "status": status,
                                             "programType": "DR",
                                             "eligibleSpecifications": ["ECOBEE-ST"]})  # fmt: skip
            assert answer.status_code == 201, answer.text
        answer = self.post("/master-data", {
            "persons": [{"cisPersonId": "P1", "name": "Ann Lee"}, {"cisPersonId": "P2"}],
            "accounts": [{"cisAccountId": "A1", "cisPersonId": "P1"},
                         {"cisAccountId": "A2", "cisPersonId": "P2"}],
            "premises": [{"cisPremiseId": "PR1", "cisAccountId": "A1", "division": "CA",
                          "city": "Fresno"},
                         {"cisPremiseId": "PR2", "cisAccountId": "A2", "division": "CA"}],
            "servicePoints": [{"cisServicePointId": "SP1", "cisPremiseId": "PR1"},
                              {"cisServicePointId": "SP2", "cisPremiseId": "PR2"}],
        })  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert answer.json()["rejected"] == []

    def enroll(self, message_id: str = "REQ-1", **changes: Any) -> dict[str, Any]:
        answer = self.post("/enrollments", enrollment_request(message_id, **changes))
        assert answer.status_code == 201, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def ack(self, sync_request_id: str, **fields: Any) -> dict[str, Any]:
        answer = self.post("/sync-requests/acknowledgements",
                           {"acknowledgements": [{"syncRequestId": sync_request_id, **fields}]},
                           client="hub")  # fmt: skip
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()["results"][0]
        return result

    def active_enrollment(self, message_id: str = "REQ-1", **changes: Any) -> dict[str, Any]:
        created = self.enroll(message_id, **changes)
        assert self.ack(created["syncRequestId"])["outcome"] == "Synchronized"
        return created

    def enrollment(self, enrollment_id: str) -> dict[str, Any]:
        answer = self.get(f"/enrollments/{enrollment_id}")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def outbox_messages(self, flow: str = "ENR-SYNC") -> list[dict[str, Any]]:
        with self.part.db.read() as conn:
            payloads: list[str] = list(
                conn.execute(
                    sa.select(outbox.c.payload).where(outbox.c.flow == flow).order_by(outbox.c.id)
                ).scalars()
            )
        return [orjson.loads(p) for p in payloads]

    def sync_state(self, sync_request_id: str) -> str:
        with self.part.db.read() as conn:
            return str(
                conn.execute(
                    sa.select(sync_requests.c.state).where(sync_requests.c.id == sync_request_id)
                ).scalar_one()
            )

    def cli_home(self, tmp_path: Path) -> Path:
        """A data directory holding this part's credentials, for ``derlink`` commands run as
        its operator (``DERLINK_HOME``)."""
        home = tmp_path / "home"
        home.mkdir()
        (home / "credentials.json").write_text(self.credentials.to_json())
        (home / "credentials.json").chmod(0o600)
        return home

    def history(self, sync_request_id: str) -> list[tuple[str | None, str, str]]:
        h = sync_request_history
        with self.part.db.read() as conn:
            rows = conn.execute(
                sa.select(h.c.from_state, h.c.to_state, h.c.actor)
                .where(h.c.sync_request_id == sync_request_id)
                .order_by(h.c.id)
            ).all()
        return [(r.from_state, r.to_state, r.actor) for r in rows]


def build_part(
    database_url: str, home: Path, hub: HttpClient | None = None, time_zone: str = "UTC"
) -> Cpm:
    """A cpm part on ``database_url``, publishing to ``hub`` (if any), in the utility's zone
    ``time_zone``."""
    credentials = CredentialStore.generate(DEFAULT_CLIENTS)
    clock = StillClock()
    settings = Settings(home=home, part_database_urls={"cpm": database_url}, time_zone=time_zone)
    part = create_part(settings=settings, credentials=credentials, clock=clock, hub=hub)
    http = TestClient(part.app)
    # Inside its context the client keeps one event loop thread for every call it makes;
    # outside it, each call would start and stop its own.
    http.__enter__()
    return Cpm(part, http, credentials, clock)
