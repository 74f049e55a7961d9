from datetime import UTC, datetime, timedelta, timezone

import pytest

from derlink.contracts.acks import AckType
from derlink.hub.model import (
    acknowledgement_from_msgack,
    asset_spec_key,
    correlation_id,
    fill_specifications,
    msg_ack,
)

WHEN = datetime(2026, 7, 1, 21, 5, 9, 123456, tzinfo=timezone(timedelta(hours=-7)))


def test_msg_ack_stamps_utc_milliseconds_with_z():
    ack = msg_ack(AckType.SUCCESS, WHEN, [{"id": "R1", "value": "E1"}])
    assert ack["whenISO"] == "2026-07-02T04:05:09.123Z"
    assert ack["responses"] == [
        {
            "id": "R1",
            "value": "E1",
            "responseCode": "SUCCESS",
            "responseTimeISO": "2026-07-02T04:05:09.123Z",
            "dacsMessageId": "R1",
        }
    ]


def test_a_derms_ack_becomes_a_cpm_acknowledgement_with_device_registrations():
    ack = {
        "ackType": "SUCCESS",
        "whenISO": "x",
        "responses": [
            {"id": "D1", "value": "D1RE", "responseCode": "SUCCESS", "dacsMessageId": "SR1"},
            {"id": "D2", "value": "D1NR", "responseCode": "SUCCESS", "dacsMessageId": "SR1"},
        ],
    }
    assert acknowledgement_from_msgack(ack) == {
        "syncRequestId": "SR1",
        "hasError": False,
        "exceptionInfo": [],
        "deviceHeadendStatus": [
            {"deviceId": "D1", "headEndRegistration": "D1RE", "message": ""},
            {"deviceId": "D2", "headEndRegistration": "D1NR", "message": ""},
        ],
    }


def test_an_error_ack_carries_its_code_as_exception_info():
    ack = {
        "ackType": "ERROR",
        "whenISO": "x",
        "responses": [
            {
                "id": "E1",
                "value": "device taken",
                "responseCode": "DERMS-DEVICE-CONFLICT",
                "dacsMessageId": "SR2",
            }
        ],
    }
    result = acknowledgement_from_msgack(ack)
    assert result["hasError"] is True
    assert result["exceptionInfo"] == [
        {
            "messageCategory": "DERMS",
            "messageNumber": "DERMS-DEVICE-CONFLICT",
            "messageParameters": ["E1"],
            "comments": "device taken",
        }
    ]
    assert result["deviceHeadendStatus"] == []


def test_a_failure_ack_is_an_error_even_without_error_responses():
    ack = {"ackType": "FAILURE", "whenISO": "x", "dacsMessageId": "SR3", "responses": []}
    assert acknowledgement_from_msgack(ack)["hasError"] is True
    assert correlation_id(ack) == "SR3"


def test_an_ack_that_names_no_sync_request_cannot_be_correlated():
    with pytest.raises(ValueError, match="names no dacsMessageId"):
        correlation_id({"ackType": "SUCCESS", "responses": []})


def test_asset_spec_keys_are_upper_case_make_bang_model():
    assert asset_spec_key(" ecobee", "SmartThermostat ") == "ECOBEE!SMARTTHERMOSTAT"


def _request(spec: str = "", make: str = "ECOBEE", model: str = "SMARTTHERMOSTAT") -> dict:
    return {
        "messageId": "M1",
        "assetInfo": {
            "assetList": [
                {
                    "nicId": "N1",
                    "headEndSystem": "H",
                    "specification": spec,
                    "make": make,
                    "model": model,
                }
            ]
        },
    }


def test_a_missing_specification_is_filled_from_the_asset_spec_lookup():
    mapped, error = fill_specifications(_request(), {"ECOBEE!SMARTTHERMOSTAT": "ECOBEE-ST"})
    assert error is None
    assert mapped["assetInfo"]["assetList"][0]["specification"] == "ECOBEE-ST"


def test_a_given_specification_is_kept():
    mapped, error = fill_specifications(
        _request(spec="OWN"), {"ECOBEE!SMARTTHERMOSTAT": "ECOBEE-ST"}
    )
    assert error is None
    assert mapped["assetInfo"]["assetList"][0]["specification"] == "OWN"


def test_an_unmapped_make_and_model_is_a_record_error_not_a_crash():
    _, error = fill_specifications(_request(make="ACME", model="X1"), {})
    assert error is not None
    assert (error.key, error.code) == ("M1", "HUB-LOOKUP-ASSETSPEC")
    assert "ACME!X1" in error.message


@pytest.mark.parametrize("sent", ["ACME!X1", " acme ! x1 "])
def test_a_specification_sent_as_make_model_is_mapped_and_names_the_make_and_model(sent: str):
    mapped, error = fill_specifications(_request(spec=sent, make="", model=""), {"ACME!X1": "AX"})
    assert error is None
    asset = mapped["assetInfo"]["assetList"][0]
    assert (asset["specification"], asset["make"], asset["model"]) == ("AX", "ACME", "X1")


def test_a_make_and_model_the_asset_named_are_kept_when_its_specification_is_mapped():
    mapped, _ = fill_specifications(_request(spec="ACME!X1", make="Acme Inc."), {"ACME!X1": "AX"})
    assert mapped["assetInfo"]["assetList"][0]["make"] == "Acme Inc."


def test_an_unmapped_make_model_specification_is_a_record_error():
    _, error = fill_specifications(_request(spec="NOPE!Z9"), {"ACME!X1": "AX"})
    assert error is not None
    assert (error.code, error.message) == (
        "HUB-LOOKUP-ASSETSPEC",
        "no AssetSpec value for 'NOPE!Z9'",
    )


def test_utc_is_required_for_acks():
    with pytest.raises(ValueError):
        msg_ack(AckType.SUCCESS, datetime(2026, 1, 1), [])
    assert msg_ack(AckType.ERROR, datetime(2026, 1, 1, tzinfo=UTC), [])["ackType"] == "ERROR"


def test_rule_terms_are_mapped_through_their_lookups_and_an_unknown_value_is_named():
    from derlink.hub.model import map_rule_terms

    days = {"WEEKDAYS": "WEEKDAY", "HOLIDAYS": "HOLIDAY"}
    cycles = {"SEASON": "SEASON", "MONTH": "MONTHLY"}
    record = {
        "program": {"code": "BYOT"},
        "version": 2,
        "rules": [
            {"ruleId": "R1", "allowEventDays": ["WEEKDAYS", "HOLIDAYS"], "cycleFrequency": "MONTH"}
        ],
    }
    mapped, error = map_rule_terms(record, days, cycles)
    assert error is None
    assert mapped["rules"] == [
        {"ruleId": "R1", "allowEventDays": ["WEEKDAY", "HOLIDAY"], "cycleFrequency": "MONTHLY"}
    ]
    assert record["rules"][0]["cycleFrequency"] == "MONTH"  # the record itself is untouched
    fridays = {**record, "rules": [{**record["rules"][0], "allowEventDays": ["FRIDAYS"]}]}
    _, error = map_rule_terms(fridays, days, cycles)
    assert error is not None
    assert (error.key, error.code, error.message) == (
        "BYOT", "HUB-LOOKUP-ALLOWEVENTDAYS", "no AllowEventDays value for 'FRIDAYS'")  # fmt: skip
    fortnight = {**record, "rules": [{**record["rules"][0], "cycleFrequency": "FORTNIGHT"}]}
    _, error = map_rule_terms(fortnight, days, cycles)
    assert error is not None and error.code == "HUB-LOOKUP-CYCLEFREQUENCY"
    assert map_rule_terms({**record, "rules": []}, {}, {}) == ({**record, "rules": []}, None)


def test_asset_types_are_mapped_and_an_asset_without_one_passes():
    from derlink.hub.model import map_asset_types

    request = {"messageId": "M1", "assetInfo": {"assetList": [
        {"nicId": "N1", "assetType": "TSTAT"}, {"nicId": "N2"}]}}  # fmt: skip
    mapped, error = map_asset_types(request, {"TSTAT": "THERMOSTAT"})
    assert error is None
    assert [a.get("assetType") for a in mapped["assetInfo"]["assetList"]] == ["THERMOSTAT", None]
    _, error = map_asset_types(request, {})
    assert error is not None
    assert (error.key, error.code, error.message) == (
        "M1", "HUB-LOOKUP-ASSETTYPE", "no AssetType value for 'TSTAT'")  # fmt: skip
