"""Priorities against the real stack: jobs are queued while no worker runs (a database of their own), then
one worker process starts; it must take every high job (a document's pages included) before any normal
one, and every normal before any low. With no worker live the open API's cap on tasks in flight is 1
(README, Fair sharing): one task is sent, the rest are held in priority order. Back-pressure counts every
job waiting, held or sent."""

from __future__ import annotations

import io

import pytest
import redis

from ocrq.api import create_app
from tests.support.documents import text_pdf
from tests.support.render import render_png
from tests.support.stack import WorkerProcess

ORDER = ["low", "normal", "high", "low", "normal", "high"]


@pytest.fixture
def paused(redis_server, settings):
    """An app on database 9, where no worker runs yet; emptied afterwards."""
    url = redis_server.url.rsplit("/", 1)[0] + "/9"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url, create_app(settings.model_copy(update={"redis_url": url, "max_queue_depth": 7}))
    client.flushdb()


def post(client, data: bytes, name: str, **fields):
    return client.post("/v1/jobs", data={"image": (io.BytesIO(data), name), "enhance": "off", **fields},
                       content_type="multipart/form-data")


def test_high_jobs_and_their_pages_run_before_normal_ones_and_normal_before_low(paused, tmp_path):
    url, app = paused
    client = app.test_client()
    document = post(client, text_pdf(["Page one", "Page two"], size=24), "two.pdf", priority="high")
    jobs = {document.get_json()["job_id"]: "high"}
    for n, priority in enumerate(ORDER):
        response = post(client, render_png([f"Job {n}"], size=24), "a.png", priority=priority, tag=f"job-{n}")
        assert response.status_code == 202
        jobs[response.get_json()["job_id"]] = priority
    queue = app.extensions["ocrq.queue"]
    assert queue.depths() == {"webhooks": 0, "ocr.high": 1, "ocr": 0, "ocr.low": 0} and queue.depth() == 7
    held = [jobs[job_id] for job_id in queue.dispatcher.shares.held("")]
    assert held == ["high"] * 2 + ["normal"] * 2 + ["low"] * 2
    full = post(client, render_png(["Too many"], size=24), "a.png")  # 7 waiting, in three queues: full
    assert full.status_code == 429 and full.get_json()["error"]["code"] == "queue_full"

    worker = WorkerProcess(url, tmp_path / "worker.log", concurrency=1).start()
    try:
        documents = {job_id: client.get(f"/v1/jobs/{job_id}?wait=60").get_json() for job_id in jobs}
    finally:
        worker.stop()
    assert all(doc["status"] == "succeeded" for doc in documents.values()), documents
    by_start = sorted(documents, key=lambda job_id: documents[job_id]["started_at"])
    assert [jobs[job_id] for job_id in by_start] == ["high"] * 3 + ["normal"] * 2 + ["low"] * 2
    pdf = documents[document.get_json()["job_id"]]
    first_normal = min(doc["started_at"] for job_id, doc in documents.items() if jobs[job_id] == "normal")
    assert pdf["finished_at"] < first_normal  # its pages went to the high queue, ahead of the normal jobs
    assert pdf["options"] == {"enhance": "off", "priority": "high"}
    tagged = [doc for doc in documents.values() if "tag" in doc["options"]]
    assert sorted(doc["options"]["tag"] for doc in tagged) == [f"job-{n}" for n in range(len(ORDER))]


def test_the_reconciler_re_sends_a_job_to_its_own_priority_queue(paused):
    _, app = paused
    client, queue = app.test_client(), app.extensions["ocrq.queue"]
    job_id = post(client, render_png(["Low"], size=24), "a.png", priority="low").get_json()["job_id"]
    queue.redis.delete("ocr.low")  # the message is lost
    queue.enqueue(job_id)  # what the reconciler calls: no priority given, read from the job
    assert queue.depths() == {"webhooks": 0, "ocr.high": 0, "ocr": 0, "ocr.low": 1}
