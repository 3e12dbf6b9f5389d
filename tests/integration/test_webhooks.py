"""Webhooks end to end: a job with a ``callback_url`` POSTs its signed document to a receiver on loopback
(a real worker process, real Redis); failures are retried with backoff, then given up; what may not be
called is refused at submission. The test stack allows 127.0.0.1, backs off 0.25 s and gives up 3 s after
the job's end (tests/support/stack.py WEBHOOK_ENV)."""

from __future__ import annotations

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
import requests

from ocrq.api import create_app
from ocrq.store.keys import WEBHOOKS_DUE
from ocrq.webhooks import ATTEMPT_HEADER, JOB_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from tests.support.render import render_png
from tests.support.stack import WEBHOOK_SECRET, WorkerProcess, wait_for

IMAGE = render_png(["Hook 42"], size=28)


class Receiver:
    """An HTTP server on loopback that records every POST and answers each path's scripted statuses in
    turn (then 200)."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.scripts: dict[str, list[int]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                       "at": time.monotonic()})
                script = receiver.scripts.get(self.path, [])
                self.send_response(script.pop(0) if script else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def to(self, path: str) -> list[dict]:
        return [call for call in self.calls if call["path"] == path]


@pytest.fixture(scope="module")
def receiver():
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def submit(client, **fields):
    response = client.post("/v1/jobs", data={"image": (io.BytesIO(IMAGE), "hook.png"), **fields},
                           content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    return response.get_json()["job_id"]


def test_a_finished_job_posts_its_signed_document(client, receiver, redis_client):
    job_id = submit(client, callback_url=f"{receiver.url}/ok?ref=1", tag="invoice 7")
    document = client.get(f"/v1/jobs/{job_id}?wait=30").get_json()
    assert document["status"] == "succeeded"
    [call] = wait_for(lambda: receiver.to("/ok?ref=1"), timeout=15)
    headers = call["headers"]
    assert json.loads(call["body"]) == document  # the job document, as GET answers it
    assert document["options"] == {"enhance": "auto", "priority": "normal", "tag": "invoice 7",
                                   "callback_url": f"{receiver.url}/ok?ref=1"}
    assert verify(WEBHOOK_SECRET, headers[TIMESTAMP_HEADER], call["body"], headers[SIGNATURE_HEADER])
    assert not verify("another secret", headers[TIMESTAMP_HEADER], call["body"], headers[SIGNATURE_HEADER])
    assert headers[JOB_HEADER] == job_id and headers[ATTEMPT_HEADER] == "1"
    assert headers["Content-Type"] == "application/json"
    wait_for(lambda: redis_client.zscore(WEBHOOKS_DUE, job_id) is None, timeout=5)


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(client, receiver, redis_client, worker):
    receiver.scripts["/flaky"] = [500, 500, 200]
    job_id = submit(client, callback_url=f"{receiver.url}/flaky", enhance="off")
    calls = wait_for(lambda: len(receiver.to("/flaky")) >= 3 and receiver.to("/flaky"), timeout=30)
    wait_for(lambda: redis_client.zscore(WEBHOOKS_DUE, job_id) is None, timeout=5)
    time.sleep(0.6)  # had the 200 not counted, a 4th attempt would come after 1 s
    assert len(receiver.to("/flaky")) == 3
    assert [call["headers"][ATTEMPT_HEADER] for call in calls] == ["1", "2", "3"]
    gaps = [later["at"] - earlier["at"] for earlier, later in zip(calls, calls[1:], strict=False)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.45, gaps  # 0.25 s, then doubled
    assert len({call["body"] for call in calls}) == 1  # the same document each time
    metrics = requests.get(worker.metrics_url, timeout=10).text
    assert 'ocrq_webhook_deliveries_total{outcome="retry"}' in metrics
    assert 'ocrq_webhook_deliveries_total{outcome="delivered"}' in metrics


def test_a_receiver_that_keeps_failing_is_given_up_after_the_retry_window(client, receiver, redis_client,
                                                                            worker):
    receiver.scripts["/down"] = [503] * 100
    job_id = submit(client, callback_url=f"{receiver.url}/down", enhance="off")
    assert client.get(f"/v1/jobs/{job_id}?wait=30").get_json()["status"] == "succeeded"
    wait_for(lambda: redis_client.zscore(WEBHOOKS_DUE, job_id) is None, timeout=20)
    calls = receiver.to("/down")
    time.sleep(1.0)
    assert len(receiver.to("/down")) == len(calls)  # nothing after giving up
    # 0, 0.25, 0.75, 1.75 s, then the last one at the 3 s window's end (give or take the worker's pace)
    assert 4 <= len(calls) <= 6, len(calls)
    assert 2.0 <= calls[-1]["at"] - calls[0]["at"] <= 4.5
    wait_for(lambda: f"job {job_id} webhook given up after {len(calls)} attempt(s): HTTP 503" in worker.log(),
             timeout=5)


def test_a_canceled_job_posts_its_document_too(client, receiver):
    job_id = submit(client, callback_url=f"{receiver.url}/canceled", fault="sleep:1")
    assert client.delete(f"/v1/jobs/{job_id}").get_json()["status"] == "canceled"
    [call] = wait_for(lambda: receiver.to("/canceled"), timeout=15)
    assert json.loads(call["body"])["status"] == "canceled"
    assert json.loads(call["body"])["job_id"] == job_id


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://127.0.0.1/hook", "only http and https"),
    ("http://10.0.0.1/hook", "not in OCRQ_WEBHOOK_ALLOWED_HOSTS"),
    ("http://169.254.169.254/latest/meta-data", "not in OCRQ_WEBHOOK_ALLOWED_HOSTS"),
    ("http://localhost.invalid/hook", "does not resolve"),
    ("http://user:pw@127.0.0.1/hook", "user:password"),
    ("not a url", "only http and https"),
])
def test_a_callback_that_may_not_be_called_is_refused(client, url, why):
    response = client.post("/v1/jobs", data={"image": (io.BytesIO(IMAGE), "a.png"), "callback_url": url},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_option" and error["message"].startswith("callback_url:")
    assert why in error["message"]


def test_without_a_secret_there_are_no_webhooks(app, settings, receiver):
    from ocrq.api import create_app

    unsigned = create_app(settings.model_copy(update={"webhook_secret": ""})).test_client()
    response = unsigned.post(f"/v1/jobs?callback_url={receiver.url}/ok", data=IMAGE, content_type="image/png")
    assert response.status_code == 400 and "OCRQ_WEBHOOK_SECRET" in response.get_json()["error"]["message"]


def test_predict_takes_no_job_only_options(client, receiver):
    for field, value in (("callback_url", f"{receiver.url}/ok"), ("priority", "high"), ("tag", "x")):
        response = client.post("/ocr/predict", data={"image": (io.BytesIO(IMAGE), "a.png"), field: value},
                               content_type="multipart/form-data")
        assert response.status_code == 400 and response.get_json()["error"]["message"].startswith(field)


def rss_mb(pid: int) -> float:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    status = dict(line.split(":", 1) for line in lines if ":" in line)
    return int(status["VmRSS"].split()[0]) / 1024


def test_webhooks_can_have_worker_processes_of_their_own(redis_server, settings, receiver, tmp_path):
    """OCRQ_WORKER_QUEUES splits the work: an `ocr` node never takes a webhook, a `webhooks` node loads
    no model and delivers them (so a slow receiver cannot hold up OCR)."""
    url = redis_server.url.rsplit("/", 1)[0] + "/8"  # a database of its own: the session worker is elsewhere
    redis.Redis.from_url(url).flushdb()
    ocr_node = WorkerProcess(url, tmp_path / "ocr.log", OCRQ_WORKER_QUEUES="ocr").start()
    hook_node = WorkerProcess(url, tmp_path / "hooks.log", OCRQ_WORKER_QUEUES="webhooks").start()
    try:
        client = create_app(settings.model_copy(update={"redis_url": url})).test_client()
        job_id = submit(client, callback_url=f"{receiver.url}/split")
        assert client.get(f"/v1/jobs/{job_id}?wait=30").get_json()["status"] == "succeeded"
        [call] = wait_for(lambda: receiver.to("/split"), timeout=15)
        assert call["headers"][JOB_HEADER] == job_id
        wait_for(lambda: "ocrq.webhook[" in hook_node.log(), timeout=10)
        assert "ocrq.webhook[" not in ocr_node.log() and "ocrq.ocr[" in ocr_node.log()
        assert "loaded in" not in hook_node.log() and "ocrq.ocr[" not in hook_node.log()
        assert all(rss_mb(pid) < 400 for pid in hook_node.children())  # no model in memory
    finally:
        hook_node.stop()
        ocr_node.stop()
        redis.Redis.from_url(url).flushdb()
