"""A target that is down: retries, then the hospital and an e-mail, nothing lost; once the
target is back, resubmitting from the hospital completes the work exactly once.

The platform runs split in two processes — the hub with cpm, and DERMS on its own — so that
DERMS can really go away.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from derlink.cli import sample

from .support import client, split_platform, wait_for


@pytest.mark.slow
def test_derms_down_lands_the_sync_in_the_hospital_and_resubmit_completes_it(tmp_path: Path):
    home = tmp_path / "home"
    main, derms = split_platform(home)
    main.start()
    derms.start()
    api = client(main)
    derms_api = client(derms)
    try:
        for program in sample.PROGRAMS:
            api.post("/cpm/api/v1/programs", json=program).raise_for_status()
        people = list(sample.customers(3))
        api.post("/cpm/api/v1/master-data", json=sample.master_data(people)).raise_for_status()
        derms_api.post(
            "/derms/api/v1/head-end-systems", json={"codes": sample.HEAD_ENDS}
        ).raise_for_status()
        # The programs reach DERMS (PROG-RULE) while it is up.
        wait_for(
            lambda: all(
                p["dermsSync"]["state"] == "Synchronized"
                for p in api.get("/cpm/api/v1/programs").json()
                if p["status"] == "Active"
            ),
            what="the Active programs synchronized to DERMS",
        )

        derms.kill()  # DERMS goes down
        for c in people:
            body = sample.enrollment_request(c, message_id=f"REQ-{c.n}", model_index=0)
            assert api.post("/cpm/api/v1/enrollments", json=body).status_code == 201

        def all_three_in_the_hospital() -> list | None:
            # The outbox may carry the three syncs in one batch or several: wait for all.
            faulted = api.get("/hub/api/v1/hospital").json()
            return faulted if sum(i["records"] for i in faulted) == 3 else None

        faulted = wait_for(all_three_in_the_hospital, what="the three syncs in the hospital")
        assert {i["flow"] for i in faulted} == {"ENR-SYNC"}
        assert {i["fault_category"] for i in faulted} == {"remote"}
        detail = api.get(f"/hub/api/v1/instances/{faulted[0]['id']}").json()
        attempts = [e for e in detail["timeline"] if e["outcome"] == "failed:remote"]  # one run
        assert len(attempts) == 3  # the whole retry policy ran before giving up

        def the_fault_mail() -> bool:
            # The executor marks the instance faulted in one step and e-mails in the next.
            return any("faulted (remote)" in m.read_text() for m in (home / "outbox").glob("*.eml"))

        wait_for(the_fault_mail, what="the e-mail of the fault")
        counts = api.get("/cpm/api/v1/sync-requests/counts").json()
        assert counts["Synchronized"] == 0
        assert counts["Pending"] + counts["Awaiting Acknowledgement"] == 3  # nothing lost

        derms.start()  # DERMS is back
        response = api.post(
            "/hub/api/v1/hospital/resubmit", json={"all": True, "note": "DERMS back"}
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert sorted(result["resubmitted"]) == sorted(i["id"] for i in faulted)

        wait_for(
            lambda: api.get("/cpm/api/v1/sync-requests/counts").json()["Synchronized"] == 3,
            what="three synchronized enrollments",
        )
        assert api.get("/hub/api/v1/hospital").json() == []
        registry = derms_api.get("/derms/api/v1/registry", params={"limit": "100"}).json()
        assert len(registry["items"]) == 3  # exactly once in DERMS
        assert api.get("/hub/api/v1/reconciliation").json()["differences"] == 0
        actions = api.get(f"/hub/api/v1/instances/{faulted[0]['id']}").json()["actions"]
        assert actions[0]["action"] == "resubmit" and actions[0]["actor"] == "operator"
    finally:
        api.close()
        derms_api.close()
        derms.stop()
        main.stop()
