"""``/metrics`` of the API and of a worker, scraped before and after real jobs: the counters and histograms
moved by exactly what the jobs did, across processes (gunicorn's workers, Celery's prefork children)."""

from __future__ import annotations

import io
import json
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from ocrq.store.keys import PENDING
from tests.reliability.harness import ApiServer
from tests.support.render import render_png
from tests.support.stack import wait_for


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(scrape: dict, name: str, **labels: str) -> float:
    return scrape.get((name, frozenset(labels.items())), 0.0)


def submit(client, data: bytes, **fields) -> str:
    response = client.post("/v1/jobs", data={"image": (io.BytesIO(data), "m.png"), **fields},
                           content_type="multipart/form-data")
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["job_id"]


def test_jobs_move_the_api_and_worker_metrics(client, worker, redis_client):
    wait_for(lambda: redis_client.zcard(PENDING) == 0, timeout=60)  # earlier tests' jobs are done
    api = lambda: samples(client.get("/metrics").get_data(as_text=True))  # noqa: E731
    work = lambda: samples(requests.get(worker.metrics_url, timeout=10).text)  # noqa: E731
    api_before, worker_before = api(), work()

    slow = submit(client, render_png(["Metrics 指标"], size=32), fault="sleep:1")
    canceled = submit(client, render_png(["never run"], size=32))
    assert client.delete(f"/v1/jobs/{canceled}").get_json()["status"] == "canceled"
    good = submit(client, render_png(["Metrics 指标"], size=32))
    bad = submit(client, render_png(["cut"], size=32)[:-40])  # the header passes, the pixels do not
    statuses = [client.get(f"/v1/jobs/{job}?wait=30").get_json()["status"] for job in (slow, good, bad)]
    assert statuses == ["succeeded", "succeeded", "failed"]
    api_after = api()
    wait_for(lambda: value(work(), "ocrq_jobs_finished_total", status="failed", code="undecodable_image")
             > value(worker_before, "ocrq_jobs_finished_total", status="failed", code="undecodable_image"))
    worker_after = work()

    def moved(before, after, name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved(api_before, api_after, "ocrq_jobs_submitted_total", endpoint="jobs") == 4
    assert moved(api_before, api_after, "ocrq_http_requests_total",
                 method="POST", route="/v1/jobs", status="202") == 4
    assert moved(api_before, api_after, "ocrq_http_requests_total",
                 method="GET", route="/v1/jobs/<job_id>", status="200") == 3
    assert moved(api_before, api_after, "ocrq_http_request_duration_seconds_count",
                 method="DELETE", route="/v1/jobs/<job_id>") == 1
    assert moved(api_before, api_after, "ocrq_jobs_finished_total", status="canceled", code="") == 1
    assert value(api_after, "ocrq_redis_up") == 1 and value(api_after, "ocrq_workers") >= 1
    assert ("ocrq_queue_depth", frozenset({("queue", "ocr")})) in api_after

    assert moved(worker_before, worker_after, "ocrq_jobs_finished_total", status="succeeded", code="") == 2
    assert moved(worker_before, worker_after, "ocrq_jobs_finished_total",
                 status="failed", code="undecodable_image") == 1
    assert moved(worker_before, worker_after, "ocrq_job_latency_seconds_count", status="succeeded") == 2
    # the job that slept 1 s before the engine ran took at least that long from submission to its end
    assert moved(worker_before, worker_after, "ocrq_job_latency_seconds_bucket", status="succeeded",
                 le="1.0") <= 1
    for stage in ("decode", "det", "rec", "total"):
        assert moved(worker_before, worker_after, "ocrq_engine_stage_seconds_count", stage=stage) == 2, stage
    assert value(worker_after, "ocrq_worker_model_load_seconds_count", model="ppocrv6") >= 1


@pytest.fixture(scope="module")
def gunicorn_api(redis_server, tmp_path_factory):
    server = ApiServer(redis_server.url, tmp_path_factory.mktemp("gunicorn") / "api.log",
                       OCRQ_API_WORKERS="2").start()
    yield server
    server.stop()


def test_gunicorn_workers_are_added_up(gunicorn_api):
    """Each gunicorn worker counts its own requests; any one of them answers a scrape with the sum."""
    base = gunicorn_api.url

    def served_healthz() -> float:
        return value(samples(requests.get(f"{base}/metrics", timeout=10).text), "ocrq_http_requests_total",
                     method="GET", route="/healthz", status="200")

    before, sent = served_healthz(), 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # new connections until both workers have answered some
        for _ in range(10):
            assert requests.get(f"{base}/healthz", timeout=10, headers={"Connection": "close"}).ok
            sent += 1
        access = [json.loads(line) for line in gunicorn_api.log().splitlines() if '"gunicorn.access"' in line]
        pids = {entry["pid"] for entry in access if entry["path"] == "/healthz"}
        if len(pids) >= 2:
            break
    assert len(pids) == 2, pids
    assert {served_healthz() - before for _ in range(6)} == {sent}  # whichever worker answers the scrape
