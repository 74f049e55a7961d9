"""The flow catalog: one row per flow, the intake field read from the schema, and every flow
module pointing at its own row."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import BaseModel

from derlink.hub.catalog import CATALOG, FLOWS, publishing_refusal
from derlink.hub.flows.aggregator import AggregatorFlow
from derlink.hub.flows.dev_score import DeviceScoreFlow
from derlink.hub.flows.dev_status import DeviceStatusCheck
from derlink.hub.flows.dev_status_ack import DeviceStatusAcknowledgement
from derlink.hub.flows.enr_ack import EnrollmentAcknowledgement
from derlink.hub.flows.enr_req import EnrollmentRequestFlow
from derlink.hub.flows.enr_sync import EnrollmentSync
from derlink.hub.flows.evt_outcome import EventOutcomeFlow
from derlink.hub.flows.evt_reserve import EventReservationFlow
from derlink.hub.flows.evt_status import EventStatusFlow
from derlink.hub.flows.lrf import LoadReductionForecastFlow
from derlink.hub.flows.net_loc import NetworkLocationToCpm
from derlink.hub.flows.opt_out import OptOutFlow
from derlink.hub.flows.ouai_enr import EnrollmentSyncToAnalytics
from derlink.hub.flows.ouai_enr_ack import AnalyticsEnrollmentAcknowledgement
from derlink.hub.flows.prog_rule import ProgramRulesFlow
from derlink.hub.flows.reconcile import EnrollmentReconciliation
from derlink.hub.flows.unavail import UnavailabilityFlow
from derlink.hub.scopes import PUBLISHERS


def test_each_flow_code_has_one_row_and_one_module_pointing_at_it():
    flows = [
        EnrollmentRequestFlow,
        EnrollmentSync,
        EnrollmentAcknowledgement,
        DeviceStatusCheck,
        DeviceStatusAcknowledgement,
        ProgramRulesFlow,
        AggregatorFlow,
        EventStatusFlow,
        EventReservationFlow,
        OptOutFlow,
        UnavailabilityFlow,
        EventOutcomeFlow,
        EnrollmentReconciliation,
        EnrollmentSyncToAnalytics,
        AnalyticsEnrollmentAcknowledgement,
        NetworkLocationToCpm,
        DeviceScoreFlow,
        LoadReductionForecastFlow,
    ]
    assert [f.spec for f in flows] == list(CATALOG)
    assert list(FLOWS) == [s.code for s in CATALOG]
    for flow in flows:
        module = flow.__module__.rsplit(".", 1)[1]
        assert module == flow.spec.code.lower().replace("-", "_")


def test_the_records_field_is_the_one_list_of_the_batch_schema():
    fields = {s.code: s.field for s in CATALOG}
    assert fields == {
        "ENR-REQ": "requests",
        "ENR-SYNC": "messages",
        "ENR-ACK": "acks",
        "DEV-STATUS": "messages",
        "DEV-STATUS-ACK": "responses",
        "PROG-RULE": "programs",
        "AGGREGATOR": "aggregators",
        "EVT-STATUS": "statuses",
        "EVT-RESERVE": "reservations",
        "OPT-OUT": "optOuts",
        "UNAVAIL": "unavailabilities",
        "EVT-OUTCOME": "outcomes",
        "RECONCILE": "runs",
        "OUAI-ENR": "files",
        "OUAI-ENR-ACK": "files",
        "NET-LOC": "files",
        "DEV-SCORE": "files",
        "LRF": "files",
    }


def test_scheduled_flows_name_their_schedule_and_file_flows_their_stores():
    for spec in CATALOG:
        assert (spec.trigger == "schedule") == (spec.schedule is not None)
        # A file flow lists its store on the files schedule, or takes the file a message names.
        assert (spec.schedule == "files") <= (spec.files is not None)
    named = [s.code for s in CATALOG if s.files is not None and s.trigger == "message"]
    assert named == ["EVT-RESERVE", "EVT-OUTCOME"]
    assert FLOWS["OUAI-ENR"].files is not None
    assert FLOWS["OUAI-ENR"].files.target_store == "analytics-storage"
    assert FLOWS["NET-LOC"].files is not None
    assert FLOWS["NET-LOC"].files.target_store == "cpm-storage"


class TwoLists(BaseModel):
    batchId: str
    first: list[str]
    second: list[str]


def test_a_batch_schema_without_exactly_one_list_of_records_is_refused():
    with pytest.raises(ValueError, match="one list of records"):
        dataclasses.replace(FLOWS["ENR-SYNC"], batch=TwoLists)


def test_a_message_flow_with_a_schedule_is_refused():
    with pytest.raises(ValueError, match="scheduled flow"):
        dataclasses.replace(FLOWS["ENR-SYNC"], schedule="reconcile")


def test_every_message_flow_has_a_publisher_and_only_its_source_publishes_into_it():
    for spec in CATALOG:
        allowed = [c for c in PUBLISHERS if publishing_refusal(spec, c) is None]
        if spec.trigger == "message":
            assert allowed == [spec.source]
        else:
            assert allowed == []


def test_a_client_that_speaks_for_no_part_publishes_into_no_flow():
    # An operator whose credentials file still grants hub:publish (written before it was
    # taken away) is refused all the same.
    assert publishing_refusal(FLOWS["ENR-SYNC"], "operator") == (
        "client 'operator' publishes for no part; ENR-SYNC (Enrollment Synchronization) takes "
        "messages from cpm only"
    )
