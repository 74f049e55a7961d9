"""The hub's pure domain: instance states, per-record outcomes, and the ack mappings.

No I/O here: flows call these functions to turn one party's message into another's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from derlink.common.clock import iso_z
from derlink.contracts.acks import RESPONSE_SUCCESS, AckType, HeadEndRegistration


class InstanceStatus(StrEnum):
    RECEIVED = "Received"
    HELD = "Held"  # accepted while its flow is paused; runs on resume
    RUNNING = "Running"
    COMPLETED = "Completed"
    COMPLETED_WITH_ERRORS = "Completed with errors"  # business errors on some records
    FAULTED = "Faulted"  # in the error hospital
    DISCARDED = "Discarded"


FINAL_STATUSES = frozenset(
    {InstanceStatus.COMPLETED, InstanceStatus.COMPLETED_WITH_ERRORS, InstanceStatus.DISCARDED}
)


def fault_guidance(category: str | None, source: str, target: str) -> str:
    """What an operator does about a faulted instance of a flow from ``source`` to ``target``,
    by its fault category; the e-mail and the console say the same."""
    if category == "business":
        return (
            f"Resubmitting will not help: {target} refused the data itself, and would refuse it "
            f"again. Correct the data at the source ({source}) and send it again, then discard "
            "this instance; or discard it if the data should not be delivered."
        )
    if category == "remote":
        return (
            f"A part did not answer ({target} or {source}). Resubmit once it answers again; "
            "nothing needs correcting."
        )
    return (
        "derlink could not process the message (its configuration or the data's shape). Fix "
        "the cause the error names, then resubmit."
    )


HEADEND_REGISTRATIONS = frozenset(r.value for r in HeadEndRegistration)


@dataclass(frozen=True)
class RecordError:
    """One record a target refused on business grounds."""

    key: str
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "code": self.code, "message": self.message}


@dataclass
class FlowOutcome:
    """What one run of a flow did, kept on the instance and shown by the console."""

    processed: int = 0
    succeeded: int = 0
    errors: list[RecordError] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> InstanceStatus:
        return InstanceStatus.COMPLETED_WITH_ERRORS if self.errors else InstanceStatus.COMPLETED

    def to_dict(self) -> dict[str, Any]:
        return {
            "processed": self.processed,
            "succeeded": self.succeeded,
            "failed": len(self.errors),
            "errors": [e.to_dict() for e in self.errors],
            **self.notes,
        }


def ack_type(failed: int) -> AckType:
    return AckType.ERROR if failed else AckType.SUCCESS


def msg_ack(
    kind: AckType, when: datetime, responses: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """The MsgAck envelope, timestamps as ``YYYY-MM-DDThh:mm:ss.000Z``."""
    stamp = iso_z(when)
    return {
        "ackType": kind.value,
        "whenISO": stamp,
        "responses": [
            {
                "id": r["id"],
                "value": r.get("value", ""),
                "responseCode": r.get("responseCode", RESPONSE_SUCCESS),
                "responseTimeISO": stamp,
                "dacsMessageId": r.get("dacsMessageId", r["id"]),
            }
            for r in responses
        ],
    }


def results_ack(
    results: Sequence[Mapping[str, Any]], when: datetime, *, answer: str, limit: int | None = None
) -> dict[str, Any]:
    """The MsgAck of a message's records from one result per record (``messageId``, ``ok``,
    and the record's ``answer`` field, or its ``code`` and ``message``): SUCCESS when every
    record went through, else ERROR; each response SUCCESS with the answer, or the code with
    the message (cut to ``limit`` characters when given)."""
    failed = sum(1 for r in results if not r["ok"])
    return msg_ack(
        ack_type(failed),
        when,
        [
            {
                "id": r["messageId"],
                "dacsMessageId": r["messageId"],
                "value": r[answer] if r["ok"] else str(r["message"])[:limit],
                "responseCode": RESPONSE_SUCCESS if r["ok"] else r["code"],
            }
            for r in results
        ],
    )


def correlation_id(ack: Mapping[str, Any]) -> str:
    """The dacsMessageId a MsgAck answers: at its top, or on its first response."""
    top = ack.get("dacsMessageId")
    if top:
        return str(top)
    responses = ack.get("responses") or []
    if not responses:
        raise ValueError("MsgAck names no dacsMessageId, at the top or in a response")
    return str(responses[0]["dacsMessageId"])


def acknowledgement_from_msgack(ack: Mapping[str, Any]) -> dict[str, Any]:
    """Turn DERMS's MsgAck for one EnrollSync into cpm's postAcknowledgement.

    Responses whose value is a head-end registration (D1RE/D1NR/D1DR) describe devices;
    responses with a code other than SUCCESS are the record's business errors.
    """
    responses: Sequence[Mapping[str, Any]] = ack.get("responses") or []
    sync_request_id = str(correlation_id(ack))
    devices = [
        {"deviceId": str(r["id"]), "headEndRegistration": r["value"], "message": ""}
        for r in responses
        if r.get("value") in HEADEND_REGISTRATIONS and r.get("responseCode") == RESPONSE_SUCCESS
    ]
    exceptions = [
        {
            "messageCategory": "DERMS",
            "messageNumber": str(r.get("responseCode")),
            "messageParameters": [str(r.get("id", ""))],
            "comments": str(r.get("value", "")),
        }
        for r in responses
        if r.get("responseCode") != RESPONSE_SUCCESS
    ]
    has_error = ack.get("ackType") != AckType.SUCCESS.value or bool(exceptions)
    return {
        "syncRequestId": sync_request_id,
        "hasError": has_error,
        "exceptionInfo": exceptions,
        "deviceHeadendStatus": devices,
    }


def asset_spec_key(make: str, model: str) -> str:
    """The AssetSpec lookup key: DERMS ``MAKE!MODEL``."""
    return f"{make.strip().upper()}!{model.strip().upper()}"


def fill_specifications(
    request: Mapping[str, Any], asset_spec: Mapping[str, str]
) -> tuple[dict[str, Any], RecordError | None]:
    """Map each asset's specification through the AssetSpec lookup.

    DERMS names a device's model as ``MAKE!MODEL``: sent as the ``specification``, or as a make
    and a model without one. Either is looked up (case and surrounding blanks aside) and
    replaced by cpm's specification; the make and model are filled from it where the asset
    left them blank. A specification without ``!`` is cpm's own and passes as sent. An asset
    whose ``MAKE!MODEL`` has no AssetSpec value is a mapping failure of that record: it is
    reported as a record error (code ``HUB-LOOKUP-ASSETSPEC``) and the other records go on.
    """
    mapped = dict(request)
    asset_info = dict(mapped.get("assetInfo") or {})
    assets = []
    for asset in asset_info.get("assetList") or []:
        asset = dict(asset)
        sent = str(asset.get("specification") or "")
        if sent and "!" not in sent:
            assets.append(asset)
            continue
        make, _, model = sent.partition("!")
        if not sent:
            make, model = str(asset.get("make", "")), str(asset.get("model", ""))
        key = asset_spec_key(make, model)
        spec = asset_spec.get(key)
        if spec is None:
            return mapped, RecordError(
                key=str(request.get("messageId", "")),
                code="HUB-LOOKUP-ASSETSPEC",
                message=f"no AssetSpec value for {key!r}",
            )
        make, _, model = key.partition("!")
        asset["specification"] = spec
        asset["make"] = asset.get("make") or make
        asset["model"] = asset.get("model") or model
        assets.append(asset)
    asset_info["assetList"] = assets
    mapped["assetInfo"] = asset_info
    return mapped, None


def lookup_error(key: str, lookup: str, value: str) -> RecordError:
    """A record whose value has no entry in a lookup: a business error of that record, naming
    the lookup and the value (code ``HUB-LOOKUP-<LOOKUP>``)."""
    return RecordError(
        key=key, code=f"HUB-LOOKUP-{lookup.upper()}", message=f"no {lookup} value for {value!r}"
    )


def map_rule_terms(
    record: Mapping[str, Any], allow_days: Mapping[str, str], cycles: Mapping[str, str]
) -> tuple[dict[str, Any], RecordError | None]:
    """A PROG-RULE record with each rule's day kinds mapped through AllowEventDays and its
    cycle through CycleFrequency (docs/contracts/master-data.md). A value a lookup does not
    hold fails that record, naming the lookup and the value."""
    key = str(record["program"]["code"])
    rules = []
    for rule in record["rules"]:
        days = []
        for day in rule["allowEventDays"]:
            if day not in allow_days:
                return dict(record), lookup_error(key, "AllowEventDays", day)
            days.append(allow_days[day])
        cycle = rule["cycleFrequency"]
        if cycle not in cycles:
            return dict(record), lookup_error(key, "CycleFrequency", cycle)
        rules.append({**rule, "allowEventDays": days, "cycleFrequency": cycles[cycle]})
    return {**record, "rules": rules}, None


def map_asset_types(
    request: Mapping[str, Any], asset_types: Mapping[str, str]
) -> tuple[dict[str, Any], RecordError | None]:
    """An enrollment request with each asset's ``assetType`` (DERMS's) mapped through the
    lookup AssetType to cpm's device type. An asset without a type passes as sent; a type the
    lookup does not hold fails that record, naming the lookup and the value."""
    asset_info = dict(request.get("assetInfo") or {})
    assets = []
    for asset in asset_info.get("assetList") or []:
        sent = str(asset.get("assetType") or "")
        if sent and sent not in asset_types:
            return dict(request), lookup_error(str(request.get("messageId", "")), "AssetType", sent)
        assets.append({**asset, "assetType": asset_types[sent]} if sent else dict(asset))
    asset_info["assetList"] = assets
    return {**request, "assetInfo": asset_info}, None
