"""The logs of the running service: the API under gunicorn (its own and its access lines too) and a Celery
worker (Celery's and billiard's lines too) write one JSON object per line; the lines written while a job
is handled carry its ``job_id`` (and ``task_id`` in the worker); no API key and no image bytes appear."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from tests.reliability.harness import ApiServer
from tests.support.render import render_png

KEY = "log-test-Kq83nZp1Vx"
WRONG_KEY = "not-a-key-Yt52LmR9"


@pytest.fixture(scope="module")
def keyed_api(redis_server, worker, tmp_path_factory):
    server = ApiServer(redis_server.url, tmp_path_factory.mktemp("gunicorn-logs") / "api.log",
                       OCRQ_API_KEYS=KEY, OCRQ_API_WORKERS="1").start()
    yield server
    server.stop()


def json_lines(text: str, source: str) -> list[dict]:
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            entry = json.loads(line)
        except ValueError:
            pytest.fail(f"{source} line {number} is not JSON: {line[:300]!r}")
        assert isinstance(entry, dict) and {"ts", "level", "logger", "message"} <= set(entry), line
        entries.append(entry)
    return entries


def test_every_line_is_json_with_the_job_bound_and_nothing_secret(keyed_api, worker):
    image = render_png(["日志 Logs 42"], size=32)
    headers = {"Authorization": f"Bearer {KEY}"}
    refused = requests.post(f"{keyed_api.url}/v1/jobs", files={"image": ("a.png", image)},
                            headers={"X-API-Key": WRONG_KEY}, timeout=30)
    assert refused.status_code == 401
    posted = requests.post(f"{keyed_api.url}/v1/jobs", files={"image": ("a.png", image)},
                           headers={**headers, "X-Request-Id": "req-logs-7f3a"}, timeout=30)
    assert posted.status_code == 202, posted.text
    assert posted.headers["X-Request-Id"] == "req-logs-7f3a"
    job_id = posted.json()["job_id"]
    done = requests.get(f"{keyed_api.url}/v1/jobs/{job_id}?wait=30", headers=headers, timeout=60).json()
    assert done["status"] == "succeeded"
    keyed_api.stop()  # its last lines (shutdown) are written too

    api = json_lines(keyed_api.log(), "API")
    work = json_lines(worker.log(), "worker")

    submitted = [e for e in api if e["logger"] == "ocrq.api" and e.get("job_id") == job_id]
    assert submitted and submitted[0]["message"] == f"job {job_id} submitted"
    assert submitted[0]["request_id"] == "req-logs-7f3a"  # the client's id, in the API's line...
    posted_line = [e for e in api if e["logger"] == "gunicorn.access" and e["status"] == "202"]
    assert [e["request_id"] for e in posted_line] == ["req-logs-7f3a"]  # ...and its access line
    access = [(e["method"], e["path"], e["status"]) for e in api if e["logger"] == "gunicorn.access"]
    assert ("POST", "/v1/jobs", "401") in access and ("POST", "/v1/jobs", "202") in access
    assert ("GET", f"/v1/jobs/{job_id}", "200") in access
    assert any(e["logger"] == "gunicorn.error" and "Booting worker" in e["message"] for e in api)

    mine = [e for e in work if e.get("job_id") == job_id]
    assert {e["logger"] for e in mine} >= {"ocrq.worker", "celery.app.trace"}  # ours and Celery's own
    assert all(e["task_id"] == job_id and e["task"] == "ocrq.ocr" for e in mine)
    assert any(e["message"].startswith(f"job {job_id} succeeded") for e in mine)
    assert {e.get("request_id") for e in mine if e["logger"] == "ocrq.worker"} == {"req-logs-7f3a"}
    received = [e for e in work if e["logger"] == "celery.worker.strategy" and e.get("task_id") == job_id]
    assert received and job_id in received[0]["message"]  # logged by the main process, before the task

    everything = keyed_api.log() + worker.log()
    for secret in (KEY, WRONG_KEY, "Bearer", "IHDR", base64.b64encode(image[:48]).decode(),
                   image[:48].decode("latin-1")):
        assert secret not in everything, secret
