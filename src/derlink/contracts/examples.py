"""Example records of the wire shapes more than one part speaks (docs/contracts/enrollment.md),
as the parts' OpenAPI documents show them. Every part checks each example against its own
schema when its routes are defined (``platform.openapi.body_example``)."""

from __future__ import annotations

from typing import Any, Final

#: An Oracle enrollment request (ENR-REQ record; cpm's enroll input).
ENROLLMENT_REQUEST: Final[dict[str, Any]] = {
    "messageId": "REQ-000123",
    "customerInfo": {"cisPersonId": "P1", "cisAccountId": "A1", "name": "Ann Lee"},
    "programInfo": {
        "programCode": "BYOT-SUMMER",
        "startDateTimeISO": "2026-06-01T00:00:00-07:00",
        "endDateTimeISO": "2026-10-01T00:00:00-07:00",
    },
    "locationInfo": {"cisPremiseId": "PR1", "cisServicePointId": "SP1", "division": "CA"},
    "assetInfo": {
        "installationMethod": "SELF",
        "assetOwnership": "CUSTOMER",
        "assetList": [
            {
                "sequence": 1,
                "make": "ECOBEE",
                "model": "SMARTTHERMOSTAT",
                "assetType": "THERMOSTAT",
                "serialNo": "SN1",
                "nicId": "NIC-1",
                "headEndSystem": "ECOBEE-HE",
            }
        ],
    },
}

#: A DERMS Enroll record (ENR-SYNC): the subscription's whole state, stamped with its version.
ENROLL_SYNC: Final[dict[str, Any]] = {
    "dacsMessageId": "SR-01a2410e1d806020fdb13c8b16",
    "syncType": "ENROLL",
    "contactInfo": {"contactId": "C-01a2410e1d7a3e52d3b6c3a2f1", "cisPersonId": "P1"},
    "subscriptionInfo": {
        "subscriptionId": "E-01a2410e1d7c89c57ddc9d54e0",
        "cisAccountId": "A1",
        "subscriptionType": "DR",
        "status": "ACTIVE",
        "programId": "PG-01a2410e1d4a070bfccdadc212",
        "programCode": "BYOT-SUMMER",
        "startDateTimeISO": "2026-06-01T07:00:00.000Z",
        "endDateTimeISO": None,
        "version": 1,
    },
    "locationInfo": {
        "division": "CA",
        "servicePointId": "SPX-01a2410e1d79d64b4ff06ea7c3",
        "cisPremiseId": "PR1",
        "cisServicePointId": "SP1",
        "controllableDevices": [
            {
                "deviceId": "D-01a2410e1d7bb8cf21dda5017e",
                "deviceType": "THERMOSTAT",
                "specification": "ECOBEE-ST",
                "make": "ECOBEE",
                "model": "SMARTTHERMOSTAT",
                "headEndSystem": "ECOBEE-HE",
                "nicId": "NIC-1",
                "serialNo": "SN1",
                "badgeNo": "",
                "status": "ACTIVE",
            }
        ],
    },
}

#: DERMS's acknowledgement of an EnrollSync (ENR-ACK record): one response per device.
ENROLL_ACK: Final[dict[str, Any]] = {
    "ackType": "SUCCESS",
    "whenISO": "2026-06-01T18:00:05.000Z",
    "dacsMessageId": "SR-01a2410e1d806020fdb13c8b16",
    "responses": [
        {
            "id": "D-01a2410e1d7bb8cf21dda5017e",
            "value": "D1RE",
            "responseCode": "SUCCESS",
            "responseTimeISO": "2026-06-01T18:00:05.000Z",
            "dacsMessageId": "SR-01a2410e1d806020fdb13c8b16",
        }
    ],
}

#: The hub's collection acknowledgement of an ENR-REQ batch to DERMS: one response per request.
REQUEST_ACK: Final[dict[str, Any]] = {
    "ackType": "SUCCESS",
    "whenISO": "2026-06-01T18:00:02.000Z",
    "responses": [
        {
            "id": "REQ-000123",
            "value": "E-01a2410e1d7c89c57ddc9d54e0",
            "responseCode": "SUCCESS",
            "responseTimeISO": "2026-06-01T18:00:02.000Z",
            "dacsMessageId": "REQ-000123",
        }
    ],
}

#: A device status check (DEV-STATUS record).
STATUS_CHECK: Final[dict[str, Any]] = {
    "dacsMessageId": "DS-01a2410e518617e3fbb3e36f67",
    "deviceInfo": {"headEndSystem": "ECOBEE-HE", "nicId": "NIC-1", "deviceType": "THERMOSTAT"},
}

#: The head-end's answer to a status check (DEV-STATUS-ACK record).
STATUS_ANSWER: Final[dict[str, Any]] = {
    "transactionId": "DS-01a2410e518617e3fbb3e36f67",
    "status": "SUCCESS",
    "message": "device online",
}

#: cpm's acknowledgement input (postAcknowledgement), for the sync request of ENROLL_SYNC.
ACKNOWLEDGEMENT: Final[dict[str, Any]] = {
    "syncRequestId": "SR-01a2410e1d806020fdb13c8b16",
    "hasError": False,
    "exceptionInfo": [],
    "deviceHeadendStatus": [
        {"deviceId": "D-01a2410e1d7bb8cf21dda5017e", "headEndRegistration": "D1RE", "message": ""}
    ],
}

#: An enrollment extract's file name (cpm's OUAI-ENR output; docs/contracts/enrollment-files.md).
EXTRACT_FILE: Final = "ENROLL_SYNC_INITIAL_20260601T190000Z_EX-01a2410e3dd32fc5421de0607e.csv"

#: A PROG-RULE record (docs/contracts/master-data.md): an Active program's every linked rule,
#: stamped with its rule version; the day kinds and the cycle are cpm codes.
PROGRAM_RULES: Final[dict[str, Any]] = {
    "dacsMessageId": "PRM-01a2410e1d806020fdb13c8b20",
    "program": {"code": "BYOT-SUMMER", "externalId": "BYOT-2026", "type": "DR", "status": "Active"},
    "version": 3,
    "rules": [
        {
            "ruleId": "PR-01a2410e1d4a070bfccdadc299",
            "effectiveFrom": "2026-06-01",
            "effectiveTo": "2026-10-01",
            "allowEventDays": ["WEEKDAYS"],
            "windowStart": "12:00",
            "windowEnd": "20:00",
            "minEventDurationMin": 30,
            "maxEventDurationMin": 240,
            "maxEventsPerCycle": 15,
            "cycleFrequency": "SEASON",
            "maxOverridesPerCycle": 3,
            "optOutCutoffMin": 60,
            "minRestMin": 720,
            "overridable": False,
        }
    ],
}

#: An AGGREGATOR record (docs/contracts/master-data.md): the aggregator's whole state.
AGGREGATOR: Final[dict[str, Any]] = {
    "dacsMessageId": "AGM-01a2410e1d806020fdb13c8b21",
    "code": "AGG-1",
    "name": "Valley Aggregation",
    "status": "Active",
    "startDate": "2026-01-01",
    "endDate": None,
    "contact": {"name": "Dispatch desk", "email": "desk@valley.example", "phone": ""},
    "externalReferenceId": "VA-77",
    "externalSystem": "VALLEY-HES",
    "programs": ["BYOT-SUMMER"],
    "version": 2,
}

#: An OPT-OUT record (docs/contracts/opt-outs.md): a participation's opt-out, as cpm sends it to
#: DERMS, stamped with its version.
OPT_OUT: Final[dict[str, Any]] = {
    "dacsMessageId": "OOM-01a2410e1d806020fdb13c8b60",
    "participationId": "EP-01a2410e1d806020fdb13c8b50",
    "programEventId": "PE-01a2410e1d806020fdb13c8b40",
    "eventExternalIdentifier": "EV-01a2410e1d806020fdb13c8b30",
    "externalIdentifier": "SG-01a2410e1d806020fdb13c8b31",
    "programCode": "BYOT-SUMMER",
    "headEndSystem": "ECOBEE-HE",
    "nicId": "NIC-1",
    "deviceId": "D-01a2410e1d806020fdb13c8b21",
    "optOutDateTime": "2026-07-17T19:12:40.118Z",
    "channel": "CSR",
    "version": 1,
}

#: An UNAVAIL record (docs/contracts/unavailability.md): one version of a device's unavailability
#: period, as cpm sends it to DERMS.
UNAVAILABILITY: Final[dict[str, Any]] = {
    "dacsMessageId": "UAM-01a2410e1d806020fdb13c8b72",
    "unavailabilityId": "CU-01a2410e1d806020fdb13c8b70",
    "headEndSystem": "ECOBEE-HE",
    "nicId": "NIC-1",
    "start": "2026-07-17T19:00:00.000Z",
    "end": "2026-07-18T03:00:00.000Z",
    "status": "ACTIVE",
    "reason": "away on vacation",
    "version": 1,
}

#: An EVT-STATUS create (docs/contracts/program-events.md): a DERMS stage, scheduled, that cpm
#: keeps as a program event; the program is named by its external id (else its code).
PROGRAM_EVENT_CREATE: Final[dict[str, Any]] = {
    "startDateTime": "2026-07-17T15:00:00-07:00",
    "endDateTime": "2026-07-17T17:00:00-07:00",
    "eventExternalIdentifier": "EV-01a2410e1d806020fdb13c8b30",
    "externalIdentifier": "SG-01a2410e1d806020fdb13c8b31",
    "programExternalIdentifier": "BYOT-2026",
    "programEventCategory": "X1EM",
}

#: An EVT-STATUS lifecycle action (docs/contracts/program-events.md) on a stage's program event.
PROGRAM_EVENT_LIFECYCLE: Final[dict[str, Any]] = {
    "action": "F1CN",
    "cancelReason": "heat wave passed; the operator canceled the event",
    "eventExternalIdentifier": "EV-01a2410e1d806020fdb13c8b30",
    "externalIdentifier": "SG-01a2410e1d806020fdb13c8b31",
}

#: A stage's transition for cpm (EVT-STATUS record, docs/contracts/event-status.md).
EVENT_STATUS: Final[dict[str, Any]] = {
    "messageId": "SG-019a2b3c4d5e6f708192a3b4c6.SCHEDULED",
    "eventId": "EV-019a2b3c4d5e6f708192a3b4c7",
    "stageId": "SG-019a2b3c4d5e6f708192a3b4c6",
    "stageSeq": 1,
    "programCode": "BYOT",
    "programExternalId": "BYOT-2026",
    "eventType": "EMERGENCY",
    "status": "Scheduled",
    "previousStatus": "Planned",
    "statusDateTime": "2026-07-17T15:02:11+00:00",
    "startDateTime": "2026-07-17T22:00:00+00:00",
    "endDateTime": "2026-07-18T00:00:00+00:00",
    "cancelReason": "",
}

#: A stage's reservation file (EVT-RESERVE record, docs/contracts/event-reservations.md).
#: EVT-OUTCOME: an outcome file DERMS wrote, one message a file.
OUTCOME_FILE: Final[dict[str, Any]] = {
    "messageId": "OUTCOME.000012",
    "seq": 12,
    "fileName": "OUTCOME_20260718T010500Z_000012.csv",
    "rows": 31250,
    "size": 4218750,
    "stageIds": ["SG-019a2b3c4d5e6f708192a3b4c6"],
    "eventIds": ["EV-019a2b3c4d5e6f708192a3b4c7"],
}
RESERVATION: Final[dict[str, Any]] = {
    "messageId": "SG-019a2b3c4d5e6f708192a3b4c6.R000",
    "eventId": "EV-019a2b3c4d5e6f708192a3b4c7",
    "stageId": "SG-019a2b3c4d5e6f708192a3b4c6",
    "seq": 0,
    "programCode": "BYOT",
    "programExternalId": "BYOT-2026",
    "eventType": "EMERGENCY",
    "eventStartDateTime": "2026-07-17T22:00:00+00:00",
    "eventEndDateTime": "2026-07-18T00:00:00+00:00",
    "fileName": "RESERVE_EV-019a2b3c4d5e6f708192a3b4c7_SG-019a2b3c4d5e6f708192a3b4c6_000.csv",
    "rows": 31250,
    "size": 3093750,
}
