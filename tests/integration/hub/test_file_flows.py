"""The file-flow mechanism and the enrollment exchange flows (OUAI-ENR, OUAI-ENR-ACK) on a real
hub database and real local-folder stores, with the in-memory runtime and an in-memory cpm."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from derlink.bootstrap import DEFAULT_CLIENTS
from derlink.common.clock import FixedClock
from derlink.common.errors import RemoteFault
from derlink.hub.app import HubPart, create_part
from derlink.hub.connections import Targets
from derlink.hub.flows.files import FileOptions
from derlink.hub.model import InstanceStatus
from derlink.hub.runtime.memory import MemoryRuntime
from derlink.hub.runtime.port import RetryPolicy
from derlink.hub.tables import flow_properties
from derlink.platform.auth import CredentialStore
from derlink.platform.files import CHUNK, FileStore, LocalFolder
from derlink.platform.mail import MemoryMailer
from tests.integration.hub.test_hub_flows import FakeTarget

ACK_HEADER = "rowNumber,syncRequestId,subscriptionId,result,reasonCode,reason\n"


class FileHarness:
    def __init__(
        self,
        tmp_path: Path,
        *,
        max_bytes: int = 1 << 30,
        cpm_mode: str = "collection",
        database_url: str | None = None,
    ) -> None:
        self.cpm = FakeTarget(self.cpm_answer)
        self.cpm_down = False
        self.known: dict[str, str] = {}  # sync request id → state
        self.stores: dict[str, FileStore] = {
            name: LocalFolder(tmp_path / name)
            for name in (
                "cpm-content",
                "analytics-storage",
                "analytics-content",
                "derms-content",
                "cpm-storage",
            )
        }
        self.mailer = MemoryMailer()
        self.runtime = MemoryRuntime(RetryPolicy(max_attempts=2, interval_s=0.001))
        self.part: HubPart = create_part(
            database_url=database_url or f"sqlite:///{tmp_path}/hub.sqlite",
            credentials=CredentialStore.generate(DEFAULT_CLIENTS),
            clock=FixedClock(datetime(2026, 11, 30, 23, 0, tzinfo=UTC)),
            targets=Targets(
                cpm=self.cpm,
                derms=FakeTarget(),
                cpm_mode=cpm_mode,  # type: ignore[arg-type]
                stores=self.stores,
            ),
            runtime=self.runtime,
            mailer=self.mailer,
            max_body_bytes=1024 * 1024,
            max_file_bytes=max_bytes,
        )
        self.hub = self.part.hub

    async def cpm_answer(self, path: str, body: Any) -> Any:
        if self.cpm_down:
            raise RemoteFault("cpm is down")
        if path == "/api/v1/health":
            return {"status": "UP"}
        acks = body["acknowledgements"] if path.endswith("/acknowledgements") else [body]
        results = []
        for ack in acks:
            sync_id = ack["syncRequestId"]
            state = self.known.get(sync_id)
            if state is None:
                results.append(
                    {"syncRequestId": sync_id, "outcome": "Rejected", "code": "CPM-UNKNOWN-SYNC",
                     "detail": "no such sync request"}
                )  # fmt: skip
            elif state != "Awaiting Acknowledgement":
                results.append({"syncRequestId": sync_id, "outcome": "Duplicate"})
            else:
                self.known[sync_id] = "Error" if ack.get("hasError") else "Synchronized"
                results.append({"syncRequestId": sync_id, "outcome": "Acknowledged"})
        return {"results": results} if path.endswith("/acknowledgements") else results[0]

    async def run(self, code: str) -> list[str]:
        started = await self.hub.run_now(code, "operator")
        await self.runtime.drain()
        return [r.instance_id for r in started]

    def detail(self, instance_id: str) -> dict[str, Any]:
        return self.hub.store.detail(instance_id)

    def names(self, store: str) -> list[str]:
        folder = Path(self.stores[store].location[7:])
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


@pytest.fixture
def files(tmp_path: Path, database_url: str) -> FileHarness:
    return FileHarness(tmp_path, database_url=database_url)


def put(harness: FileHarness, store: str, name: str, data: bytes) -> None:
    (Path(harness.stores[store].location[7:]) / name).write_bytes(data)


# -- OUAI-ENR: the copy ------------------------------------------------------------------------


async def test_a_large_extract_is_copied_in_parts_and_the_source_renamed_sent(files: FileHarness):
    data = os.urandom(2 * CHUNK + 12345)
    put(files, "cpm-content", "ENROLL_SYNC_INITIAL_1.csv", data)
    put(files, "cpm-content", "OTHER_FILE.csv", b"not for this flow")
    (instance,) = await files.run("OUAI-ENR")
    detail = files.detail(instance)
    assert detail["status"] == InstanceStatus.COMPLETED.value
    copied = Path(files.stores["analytics-storage"].location[7:]) / "ENROLL_SYNC_INITIAL_1.csv"
    assert copied.read_bytes() == data
    assert files.names("cpm-content") == ["OTHER_FILE.csv", "Sent-ENROLL_SYNC_INITIAL_1.csv"]
    steps = [e["step"] for e in detail["timeline"]]
    assert {"part-1", "part-2", "part-3", "complete-upload", "rename-sent"} <= set(steps)
    # Found by file name and by checksum.
    digest = hashlib.sha256(data).hexdigest()
    assert [i["id"] for i in files.hub.store.search(key="ENROLL_SYNC_INITIAL_1.csv")] == [instance]
    assert [i["id"] for i in files.hub.store.search(key=digest)] == [instance]


async def test_a_redelivered_file_has_no_second_effect(files: FileHarness):
    put(files, "cpm-content", "ENROLL_SYNC_A.csv", b"same content\n")
    await files.run("OUAI-ENR")
    (Path(files.stores["analytics-storage"].location[7:]) / "ENROLL_SYNC_A.csv").unlink()
    # The same content again, under its name and under another one.
    put(files, "cpm-content", "ENROLL_SYNC_A.csv", b"same content\n")
    put(files, "cpm-content", "ENROLL_SYNC_B.csv", b"same content\n")
    started = await files.run("OUAI-ENR")
    assert len(started) == 2
    outcomes = [files.detail(i)["outcome"] for i in started]
    assert all(o.get("duplicateOf") for o in outcomes)
    assert files.names("analytics-storage") == []
    assert files.names("cpm-content") == [
        "Sent-ENROLL_SYNC_A.csv",
        "Sent-ENROLL_SYNC_A.csv.2",
        "Sent-ENROLL_SYNC_B.csv",
    ]


async def test_two_listings_at_once_start_each_file_once(files: FileHarness):
    put(files, "cpm-content", "ENROLL_SYNC_C.csv", b"abc\n")
    first = await files.hub.run_now("OUAI-ENR", "operator")
    second = await files.hub.run_now("OUAI-ENR", "operator")
    await files.runtime.drain()
    assert [r.duplicate for r in first + second] == [False, True]
    assert len(files.hub.store.search(flow="OUAI-ENR")) == 1


async def test_no_file_sends_the_no_file_mail_when_asked(files: FileHarness):
    assert await files.run("OUAI-ENR") == []
    assert files.mailer.sent == []
    with files.part.db.begin() as conn:
        conn.execute(
            flow_properties.insert().values(
                flow="OUAI-ENR", key="notify.noFile", value="true", updated_at="x", updated_by="t"
            )
        )
    assert await files.run("OUAI-ENR") == []
    assert "no file found" in str(files.mailer.sent[-1]["subject"])


async def test_the_process_complete_mail_lists_what_was_and_was_not_transferred(
    files: FileHarness,
):
    with files.part.db.begin() as conn:
        conn.execute(
            flow_properties.insert().values(
                flow="*", key="notify.complete", value="true", updated_at="x", updated_by="t"
            )
        )
    files.known["SR1"] = "Awaiting Acknowledgement"
    put(files, "analytics-content", "ENROLL_ACK_M.csv", ack_file("2,SR1,S1,ACCEPTED,,", "3,,S2"))
    (instance,) = await files.run("OUAI-ENR-ACK")
    mail = next(m for m in files.mailer.sent if "processed" in str(m["subject"]))
    assert "ENROLL_ACK_M.csv processed" in str(mail["subject"])
    assert mail["to"] == ["program-ops@utility.example"]
    body = str(mail["body"])
    assert f"Instance: {instance}" in body
    assert "processed: 2" in body and "succeeded: 1" in body
    assert "row 3: HUB-FILE-COLUMNS" in body


async def test_a_file_over_the_size_limit_is_refused_whole(tmp_path: Path, database_url: str):
    files = FileHarness(tmp_path, max_bytes=10, database_url=database_url)
    put(files, "cpm-content", "ENROLL_SYNC_BIG.csv", b"x" * 11)
    (instance,) = await files.run("OUAI-ENR")
    detail = files.detail(instance)
    assert detail["status"] == InstanceStatus.FAULTED.value
    assert "over the limit of 10" in detail["fault_message"]
    assert files.names("cpm-content") == ["Error-ENROLL_SYNC_BIG.csv"]
    assert files.names("analytics-storage") == []
    assert "faulted" in str(files.mailer.sent[-1]["subject"])


class VanishingFolder(LocalFolder):
    """Someone renames the file while it is being read."""

    async def read_range(self, name: str, offset: int, length: int) -> bytes:
        data = await super().read_range(name, offset, length)
        if (self.root / name).exists():
            (self.root / name).rename(self.root / f"moved-{name}")
        return data


async def test_a_file_renamed_mid_transfer_lands_in_the_hospital_and_nothing_is_lost(
    files: FileHarness,
):
    source = VanishingFolder(Path(files.stores["cpm-content"].location[7:]))
    files.hub.flows["OUAI-ENR"].store = source  # type: ignore[attr-defined]
    put(files, "cpm-content", "ENROLL_SYNC_D.csv", os.urandom(CHUNK + 10))
    (instance,) = await files.run("OUAI-ENR")
    detail = files.detail(instance)
    assert detail["status"] == InstanceStatus.FAULTED.value
    assert "ENROLL_SYNC_D.csv is not in" in detail["fault_message"]
    assert files.names("cpm-content") == ["moved-ENROLL_SYNC_D.csv"]
    assert [n for n in files.names("analytics-storage") if not n.startswith(".")] == []


# -- OUAI-ENR-ACK: the records -----------------------------------------------------------------


def ack_file(*rows: str) -> bytes:
    return (ACK_HEADER + "".join(r + "\n" for r in rows)).encode()


async def test_acks_become_update_and_transition_with_per_row_rejects(files: FileHarness):
    files.known.update({f"SR{i}": "Awaiting Acknowledgement" for i in range(1, 5)})
    files.known["SR5"] = "Synchronized"  # acknowledged before: a duplicate
    put(
        files,
        "analytics-content",
        "ENROLL_ACK_ENROLL_SYNC_X.csv",
        ack_file(
            "2,SR1,S1,ACCEPTED,,",
            "3,SR2,S2,REJECTED,AN-DATE,\"startDateTimeISO '2026-13-01' is not a date, see row\"",
            "4,SR3,S3,ACCEPTED",  # too few columns
            "5,,S4,REJECTED,AN-MISSING,syncRequestId is blank",
            "6,SR4,S4,MAYBE,,",
            "7,SR5,S5,ACCEPTED,,",
            "8,SR9,S9,ACCEPTED,,",  # cpm does not know it
        ),
    )
    (instance,) = await files.run("OUAI-ENR-ACK")
    detail = files.detail(instance)
    assert detail["status"] == InstanceStatus.COMPLETED_WITH_ERRORS.value
    assert files.known["SR1"] == "Synchronized"
    assert files.known["SR2"] == "Error"
    assert files.known["SR4"] == "Awaiting Acknowledgement"
    outcome = detail["outcome"]
    assert outcome["processed"] == 7
    assert outcome["duplicates"] == 1
    assert outcome["ackedPositive"] == 3 and outcome["ackedNegative"] == 1
    errors = {e["key"]: e["code"] for e in outcome["errors"]}
    assert errors == {
        "row 4": "HUB-FILE-COLUMNS",
        "row 5": "HUB-ACK-NO-SYNC-REQUEST",
        "row 6": "HUB-ACK-RESULT",
        "row 8": "CPM-UNKNOWN-SYNC",
    }
    assert files.names("analytics-content") == ["Sent-ENROLL_ACK_ENROLL_SYNC_X.csv"]
    assert "4 record(s) rejected" in str(files.mailer.sent[-1]["subject"])


async def test_a_stray_quote_in_an_ack_file_costs_its_row_and_the_next_rows_are_applied(
    files: FileHarness,
):
    files.known.update({f"SR{i}": "Awaiting Acknowledgement" for i in range(1, 9)})
    put(
        files,
        "analytics-content",
        "ENROLL_ACK_STRAY.csv",
        ack_file(
            "2,SR1,S1,ACCEPTED,,",
            '3,SR2,S2,REJECTED,AN-DATE,"a reason that never closes',
            *[f"{n + 1},SR{n},S{n},ACCEPTED,," for n in range(3, 8)],
            '9,SR8,S8,REJECTED,AN-VALUE,"a quoted, closed reason"',
        ),
    )
    (instance,) = await files.run("OUAI-ENR-ACK")
    outcome = files.detail(instance)["outcome"]
    assert outcome["processed"] == 8
    assert [(e["key"], e["code"]) for e in outcome["errors"]] == [("row 3", "HUB-FILE-COLUMNS")]
    assert "column 6 does not close" in outcome["errors"][0]["message"]
    assert "never closes" not in str(outcome)
    assert files.known["SR2"] == "Awaiting Acknowledgement"
    assert [files.known[f"SR{n}"] for n in range(3, 8)] == ["Synchronized"] * 5
    assert files.known["SR8"] == "Error"


async def test_acks_go_one_record_at_a_time_to_a_single_record_target(
    tmp_path: Path, database_url: str
):
    files = FileHarness(tmp_path, cpm_mode="single", database_url=database_url)
    files.known.update({"SR1": "Awaiting Acknowledgement", "SR2": "Awaiting Acknowledgement"})
    put(
        files,
        "analytics-content",
        "ENROLL_ACK_1.csv",
        ack_file("2,SR1,S1,ACCEPTED,,", "3,SR2,S2,ACCEPTED,,"),
    )
    (instance,) = await files.run("OUAI-ENR-ACK")
    assert files.detail(instance)["status"] == InstanceStatus.COMPLETED.value
    paths = [p for p, _ in files.cpm.calls if "update-and-transition" in p]
    assert sorted(paths) == [
        "/api/v1/sync-requests/SR1/update-and-transition",
        "/api/v1/sync-requests/SR2/update-and-transition",
    ]


async def test_many_rows_are_read_in_windows_and_every_row_counted(
    tmp_path: Path, database_url: str
):
    files = FileHarness(tmp_path, database_url=database_url)
    files.part.hub.flows["OUAI-ENR-ACK"].window = 4096  # type: ignore[attr-defined]
    rows = [f'{n + 2},SR{n},S{n},ACCEPTED,,"quoted, with a comma"' for n in range(3000)]
    files.known.update({f"SR{n}": "Awaiting Acknowledgement" for n in range(3000)})
    put(files, "analytics-content", "ENROLL_ACK_MANY.csv", ack_file(*rows))
    (instance,) = await files.run("OUAI-ENR-ACK")
    outcome = files.detail(instance)["outcome"]
    assert outcome["processed"] == 3000 and outcome["succeeded"] == 3000
    assert outcome["batches"] > 10
    assert set(files.known.values()) == {"Synchronized"}


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "is empty"),
        (b"row,sync,result\n2,SR1,ACCEPTED\n", "wrong header"),
    ],
)
async def test_an_empty_file_or_a_wrong_header_is_refused_whole(
    files: FileHarness, content: bytes, code: str
):
    put(files, "analytics-content", "ENROLL_ACK_BAD.csv", content)
    (instance,) = await files.run("OUAI-ENR-ACK")
    detail = files.detail(instance)
    assert detail["status"] == InstanceStatus.FAULTED.value
    assert detail["fault_category"] == "business"
    assert code in detail["fault_message"]
    assert files.names("analytics-content") == ["Error-ENROLL_ACK_BAD.csv"]


async def test_cpm_down_stops_mails_and_the_file_waits_for_the_next_run(files: FileHarness):
    files.known["SR1"] = "Awaiting Acknowledgement"
    put(files, "analytics-content", "ENROLL_ACK_2.csv", ack_file("2,SR1,S1,ACCEPTED,,"))
    files.cpm_down = True
    (instance,) = await files.run("OUAI-ENR-ACK")
    detail = files.detail(instance)
    assert detail["status"] == InstanceStatus.FAULTED.value
    assert detail["fault_category"] == "remote"
    assert detail["fault_step"] == "health-cpm"
    assert files.names("analytics-content") == ["ENROLL_ACK_2.csv"]
    assert "faulted (remote)" in str(files.mailer.sent[-1]["subject"])
    # Still down: the next listing leaves the instance in the hospital, with no second e-mail.
    mails = len(files.mailer.sent)
    assert await files.run("OUAI-ENR-ACK") == [instance]
    assert files.detail(instance)["runs"] == 1
    assert len(files.mailer.sent) == mails
    # cpm is back: the next run takes the same file up again.
    files.cpm_down = False
    assert await files.run("OUAI-ENR-ACK") == [instance]
    assert files.detail(instance)["status"] == InstanceStatus.COMPLETED.value
    assert files.known["SR1"] == "Synchronized"
    assert files.names("analytics-content") == ["Sent-ENROLL_ACK_2.csv"]


async def test_a_refused_file_resubmitted_from_the_hospital_is_taken_back(
    tmp_path: Path, database_url: str
):
    files = FileHarness(tmp_path, max_bytes=30, database_url=database_url)
    files.known["SR1"] = "Awaiting Acknowledgement"
    put(files, "analytics-content", "ENROLL_ACK_3.csv", ack_file("2,SR1,S1,ACCEPTED,,"))
    (instance,) = await files.run("OUAI-ENR-ACK")
    assert files.names("analytics-content") == ["Error-ENROLL_ACK_3.csv"]
    # The operator raises the limit and resubmits.
    files.hub.flows["OUAI-ENR-ACK"].options = FileOptions(max_bytes=1 << 20)  # type: ignore[attr-defined]
    await files.hub.resubmit([instance], "operator")
    await files.runtime.drain()
    assert files.detail(instance)["status"] == InstanceStatus.COMPLETED.value
    assert files.names("analytics-content") == ["Sent-ENROLL_ACK_3.csv"]


async def test_a_discarded_file_gives_its_content_back(files: FileHarness):
    source = files.hub.flows["OUAI-ENR"].store  # type: ignore[attr-defined]
    files.hub.flows["OUAI-ENR"].store = VanishingFolder(  # type: ignore[attr-defined]
        Path(source.location[7:])
    )
    data = os.urandom(CHUNK + 1)
    put(files, "cpm-content", "ENROLL_SYNC_E.csv", data)
    (instance,) = await files.run("OUAI-ENR")
    assert files.detail(instance)["status"] == InstanceStatus.FAULTED.value
    await files.hub.discard([instance], "operator", "moved by hand")
    # Delivered again: not a duplicate of the discarded instance.
    files.hub.flows["OUAI-ENR"].store = source  # type: ignore[attr-defined]
    (Path(source.location[7:]) / "moved-ENROLL_SYNC_E.csv").rename(
        Path(source.location[7:]) / "ENROLL_SYNC_E2.csv"
    )
    (again,) = await files.run("OUAI-ENR")
    assert files.detail(again)["status"] == InstanceStatus.COMPLETED.value
    assert "duplicateOf" not in files.detail(again)["outcome"]


# -- entries that are not files, names that cannot be taken -----------------------------------

SECRETS = b'{"clients": {"hub": {"secret": "hub-s3cr3t"}, "operator": {"secret": "op-s3cr3t"}}}'


def everything_the_hub_said(files: FileHarness, instances: list[str]) -> str:
    """What could quote a file: instances (faults, outcomes, timelines) and e-mails."""
    said = [str(files.detail(i)) for i in instances]
    said += [str(m) for m in files.mailer.sent]
    return "\n".join(said)


async def test_a_link_to_the_credentials_in_cpm_content_is_never_copied_and_reported_once(
    files: FileHarness, tmp_path: Path
):
    secret = tmp_path / "credentials.json"
    secret.write_bytes(SECRETS)
    folder = Path(files.stores["cpm-content"].location[7:])
    (folder / "ENROLL_SYNC_INITIAL_LINK.csv").symlink_to(secret)
    put(files, "cpm-content", "ENROLL_SYNC_INITIAL_OK.csv", b"a real extract\n")

    started = await files.run("OUAI-ENR")
    again = await files.run("OUAI-ENR")

    assert len(started) == 1 and again == []
    assert files.names("analytics-storage") == ["ENROLL_SYNC_INITIAL_OK.csv"]
    assert (folder / "Error-ENROLL_SYNC_INITIAL_LINK.csv").is_symlink()
    assert "ENROLL_SYNC_INITIAL_LINK.csv" not in files.names("cpm-content")
    (mail,) = [m for m in files.mailer.sent if "set aside" in str(m["subject"])]
    assert mail["to"] == ["integration-ops@utility.example"]
    body = str(mail["body"])
    assert "ENROLL_SYNC_INITIAL_LINK.csv" in body and "a symbolic link, not a file" in body
    assert "Error-ENROLL_SYNC_INITIAL_LINK.csv" in body
    assert "s3cr3t" not in everything_the_hub_said(files, started)
    assert secret.read_bytes() == SECRETS


async def test_a_link_to_the_console_key_in_analytics_content_is_never_read_nor_quoted(
    files: FileHarness, tmp_path: Path
):
    key = tmp_path / "console.key"
    key.write_bytes(b"console-signing-key-0123456789abcdef\n")
    folder = Path(files.stores["analytics-content"].location[7:])
    (folder / "ENROLL_ACK_ENROLL_SYNC_K.csv").symlink_to(key)
    # A regular file that is no ack file at all: refused by its header, never quoted.
    put(files, "analytics-content", "ENROLL_ACK_ENROLL_SYNC_P.csv", b"pem-secret-material,x\n")

    started = await files.run("OUAI-ENR-ACK")

    (instance,) = started
    detail = files.detail(instance)
    assert detail["status"] == InstanceStatus.FAULTED.value
    assert "the first row has 2 columns, not 6" in detail["fault_message"]
    said = everything_the_hub_said(files, started)
    assert "console-signing-key" not in said and "pem-secret" not in said
    assert sorted(files.names("analytics-content")) == [
        "Error-ENROLL_ACK_ENROLL_SYNC_K.csv",
        "Error-ENROLL_ACK_ENROLL_SYNC_P.csv",
    ]


async def test_a_file_whose_name_cannot_be_taken_is_set_aside_once_and_reported_once(
    files: FileHarness,
):
    long = "ENROLL_SYNC_" + "L" * 184 + ".csv"  # 200 characters: no room for Sent- or Error-
    put(files, "cpm-content", long, b"x\n")
    folder = Path(files.stores["cpm-content"].location[7:])
    (folder / "ENROLL_SYNC_ spaced name.csv").write_bytes(b"y\n")

    for _ in range(3):
        assert await files.run("OUAI-ENR") == []

    assert files.names("analytics-storage") == []
    assert sorted(files.names("cpm-content")) == [
        "Error-ENROLL_SYNC_" + "L" * 168,
        "Error-ENROLL_SYNC__spaced_name.csv",
    ]
    mails = [m for m in files.mailer.sent if "set aside" in str(m["subject"])]
    assert len(mails) == 2
    assert any("characters" in str(m["body"]) for m in mails)


# -- the same flows over a real SFTP server and a real S3 server on loopback -----------------


async def test_the_exchange_runs_over_sftp_and_s3(
    tmp_path: Path, database_url: str, sftp_server, s3_server
):
    from derlink.platform.files import iterate, open_store

    fresh = os.urandom(4).hex()
    files = FileHarness(tmp_path, database_url=database_url)
    stores = {
        "cpm-content": open_store(sftp_server.url(f"/cpm-{fresh}")),
        "analytics-storage": open_store(s3_server.url(f"storage-{fresh}")),
        "analytics-content": open_store(sftp_server.url(f"/analytics-{fresh}")),
    }
    copy, acks = files.hub.flows["OUAI-ENR"], files.hub.flows["OUAI-ENR-ACK"]
    copy.store, copy.target_store = stores["cpm-content"], stores["analytics-storage"]  # type: ignore[attr-defined]
    acks.store = stores["analytics-content"]  # type: ignore[attr-defined]
    try:
        data = os.urandom(CHUNK + 4096)  # two parts: an S3 multipart upload
        await stores["cpm-content"].write("ENROLL_SYNC_SFTP.csv", iterate(data))
        (instance,) = await files.run("OUAI-ENR")
        assert files.detail(instance)["status"] == InstanceStatus.COMPLETED.value
        assert (
            await stores["analytics-storage"].read_range("ENROLL_SYNC_SFTP.csv", 0, len(data) + 1)
            == data
        )
        listed = [f.name for f in await stores["cpm-content"].list_files()]
        assert listed == ["Sent-ENROLL_SYNC_SFTP.csv"]

        files.known.update({"SR1": "Awaiting Acknowledgement", "SR2": "Awaiting Acknowledgement"})
        body = ack_file("2,SR1,S1,ACCEPTED,,", "3,SR2,S2,REJECTED,AN-VALUE,bad status")
        await stores["analytics-content"].write("ENROLL_ACK_SFTP.csv", iterate(body))
        (instance,) = await files.run("OUAI-ENR-ACK")
        assert files.detail(instance)["status"] == InstanceStatus.COMPLETED.value
        assert files.known == {"SR1": "Synchronized", "SR2": "Error"}
        listed = [f.name for f in await stores["analytics-content"].list_files()]
        assert listed == ["Sent-ENROLL_ACK_SFTP.csv"]
    finally:
        for store in stores.values():
            await store.close()
