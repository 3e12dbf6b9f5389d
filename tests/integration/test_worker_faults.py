"""Workers that die: a killed task is redelivered and completes; a job that always kills gives up."""

from __future__ import annotations

import io

from tests.support.render import render_png
from tests.support.stack import wait_for


def submit(client, **fields) -> str:
    data = {"image": (io.BytesIO(render_png(["重试 Retry 7"], size=32)), "a.png"), **fields}
    response = client.post("/v1/jobs", data=data, content_type="multipart/form-data")
    assert response.status_code == 202
    return response.get_json()["job_id"]


def test_job_survives_its_worker_process_being_killed(client, worker):
    job_id = submit(client, fault="sleep:2")
    wait_for(lambda: client.get(f"/v1/jobs/{job_id}").get_json()["status"] == "running", timeout=30)
    killed = worker.kill_child()
    doc = client.get(f"/v1/jobs/{job_id}?wait=30").get_json()
    if doc["status"] != "succeeded":
        doc = client.get(f"/v1/jobs/{job_id}?wait=30").get_json()
    assert doc["status"] == "succeeded", doc
    assert doc["attempts"] == 2
    assert doc["result"]["text"].replace(" ", "") == "重试Retry7"
    assert killed not in worker.children()  # the pool replaced the dead process


def test_poison_job_fails_after_max_attempts_and_the_queue_flows(client, worker):
    poison = submit(client, fault="crash")
    after = submit(client)
    doc = wait_for(lambda: (d := client.get(f"/v1/jobs/{poison}?wait=5").get_json())["status"] == "failed"
                   and d, timeout=90)
    assert doc["error"]["code"] == "worker_lost"
    assert doc["attempts"] == 4  # 3 deliveries that killed the worker, the 4th gives the job up
    assert client.get(f"/v1/jobs/{after}?wait=30").get_json()["status"] == "succeeded"
