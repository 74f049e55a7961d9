"""The wire schemas: what a 422 names, and how a sync maps into the domain."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from derlink.derms.registry.model import DeviceStatus, SubscriptionStatus, SyncType
from derlink.derms.registry.schemas import EnrollSync, OriginateRequest


def request(**asset: Any) -> dict[str, Any]:
    return {
        "messageId": "REQ-1",
        "customerInfo": {"cisAccountId": "A1", "name": "Ann Lee"},
        "programInfo": {"programCode": "BYOT-SUMMER"},
        "locationInfo": {"cisServicePointId": "SP1"},
        "assetInfo": {"assetList": [{"nicId": "NIC-1", "headEndSystem": "ECOBEE-HE", **asset}]},
    }


def locations(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[Any, ...]]:
    return [e["loc"] for e in exc.value.errors()]


@pytest.mark.parametrize("asset", [{"specification": "ECOBEE-ST"}, {"make": "E", "model": "M"}])
def test_an_asset_is_named_by_a_specification_or_by_make_and_model(asset: dict[str, str]) -> None:
    (taken,) = OriginateRequest.model_validate({"requests": [request(**asset)]}).requests

    # Passed on as it came: the naming fields sent, and no other, every other field kept.
    (sent,) = taken.payload()["assetInfo"]["assetList"]
    assert sent == {"nicId": "NIC-1", "headEndSystem": "ECOBEE-HE", **asset}
    assert taken.payload()["customerInfo"] == {"cisAccountId": "A1", "name": "Ann Lee"}


def test_an_asset_with_neither_a_specification_nor_make_and_model_is_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        OriginateRequest.model_validate({"requests": [request(make="ECOBEE")]})

    assert locations(exc) == [("requests", 0, "assetInfo", "assetList", 0)]
    assert "specification" in exc.value.errors()[0]["msg"]


@pytest.mark.parametrize(
    ("drop", "loc"),
    [
        (("messageId",), ("requests", 0, "messageId")),
        (("customerInfo", "cisAccountId"), ("requests", 0, "customerInfo", "cisAccountId")),
        (("programInfo", "programCode"), ("requests", 0, "programInfo", "programCode")),
        (
            ("locationInfo", "cisServicePointId"),
            ("requests", 0, "locationInfo", "cisServicePointId"),
        ),
    ],
)
def test_a_request_missing_a_required_field_is_refused_naming_it(
    drop: tuple[str, ...], loc: tuple[Any, ...]
) -> None:
    body = request(specification="ECOBEE-ST")
    target = body
    for part in drop[:-1]:
        target = target[part]
    del target[drop[-1]]

    with pytest.raises(ValidationError) as exc:
        OriginateRequest.model_validate({"requests": [body]})

    assert locations(exc) == [loc]


def test_an_originated_request_is_passed_on_with_every_field_it_was_sent_with() -> None:
    sent = request(specification="ECOBEE-ST", serialNo="SN1")

    parsed = OriginateRequest.model_validate({"requests": [sent]})

    assert parsed.requests[0].payload() == sent


def test_a_sync_maps_into_the_domain_with_missing_key_parts_left_empty() -> None:
    wire = EnrollSync.model_validate(
        {
            "dacsMessageId": "SR-1",
            "syncType": "DEVICE_REPLACEMENT",
            "subscriptionInfo": {
                "subscriptionId": "E-1",
                "status": "ACTIVE",
                "version": 3,
                "programCode": "BYOT-SUMMER",
            },
            "locationInfo": {
                "cisServicePointId": "SP1",
                "controllableDevices": [
                    {"deviceId": "D-1", "headEndSystem": "ECOBEE-HE", "status": "REMOVED"},
                ],
            },
        }
    )

    sync = wire.to_domain()

    assert (sync.sync_type, sync.status, sync.version) == (
        SyncType.DEVICE_REPLACEMENT,
        SubscriptionStatus.ACTIVE,
        3,
    )
    assert sync.program_code == "BYOT-SUMMER" and sync.cis_service_point_id == "SP1"
    assert sync.devices[0].key == ("ECOBEE-HE", "")
    assert sync.devices[0].status is DeviceStatus.REMOVED
