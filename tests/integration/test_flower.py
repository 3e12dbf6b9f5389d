"""Flower, started as the README says (``celery -A ocrq.worker.celery_app flower``), watches the real worker:
it lists it, turns its task events on, and shows a job's task as it runs (JSON events only), in the state
the job ended in: ``SUCCESS`` for a job that succeeded, ``FAILURE`` for one that failed."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
import requests
from celery import Celery

from ocrq.embedded_redis import free_port
from ocrq.tasks import celery_config
from tests.support.render import render_png
from tests.support.stack import ROOT, stack_env, wait_for


@pytest.fixture
def flower(redis_server, worker, settings, tmp_path):
    port = free_port()
    log = (tmp_path / "flower.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ocrq.worker.celery_app", "flower", "--address=127.0.0.1",
         f"--port={port}"],
        cwd=ROOT, env=stack_env(redis_server.url, FLOWER_UNAUTHENTICATED_API="true"), stdout=log,
        stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def up():
        try:
            return requests.get(f"{base}/healthcheck", timeout=1).ok
        except requests.RequestException:
            return process.poll() is not None  # exited: fail below rather than wait

    wait_for(up, timeout=30)
    assert process.poll() is None, (tmp_path / "flower.log").read_text()
    yield base
    process.terminate()
    process.wait(30)
    log.close()
    control = Celery(set_as_current=False)
    control.conf.update(celery_config(settings))
    control.control.disable_events()  # leave the shared worker as it was


def test_flower_sees_the_worker_and_its_tasks(flower, client, worker):
    workers = requests.get(f"{flower}/api/workers?refresh=1", timeout=30).json()
    assert any(name.startswith("ocrq@") for name in workers), workers
    wait_for(lambda: "Events of group {task} enabled by remote" in worker.log(), timeout=30)
    image = (io.BytesIO(render_png(["Flower 花"], size=32)), "f.png")
    posted = client.post("/v1/jobs", data={"image": image}, content_type="multipart/form-data")
    job_id = posted.get_json()["job_id"]
    assert client.get(f"/v1/jobs/{job_id}?wait=30").get_json()["status"] == "succeeded"

    def seen():
        task = requests.get(f"{flower}/api/tasks", timeout=10).json().get(job_id)
        return task if task and task["state"] == "SUCCESS" else None

    task = wait_for(seen, timeout=20)
    assert task["name"] == "ocrq.ocr" and task["worker"].startswith("ocrq@") and job_id in task["args"]

    png = render_png(["Cut short"], size=32)  # its header passes the API; its pixels do not decode
    posted = client.post("/v1/jobs", data={"image": (io.BytesIO(png[: len(png) // 2]), "cut.png")},
                         content_type="multipart/form-data")
    failed_id = posted.get_json()["job_id"]
    job = client.get(f"/v1/jobs/{failed_id}?wait=30").get_json()
    assert job["status"] == "failed" and job["error"]["code"] == "undecodable_image"

    def failure():
        task = requests.get(f"{flower}/api/tasks", timeout=10).json().get(failed_id)
        return task if task and task["state"] in ("SUCCESS", "FAILURE") else None

    task = wait_for(failure, timeout=20)
    assert task["state"] == "FAILURE" and "undecodable_image" in task["exception"]
