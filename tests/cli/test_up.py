"""``ocrq up``: the one-command default starts Redis, the API and a worker, and Ctrl-C stops all of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from ocrq.embedded_redis import free_port
from tests.support.render import render_png
from tests.support.stack import answer_text, wait_for


def descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        path = Path(f"/proc/{current}/task/{current}/children")
        children = [int(p) for p in path.read_text().split()] if path.exists() else []
        found.update(children)
        todo.extend(children)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_up_serves_jobs_and_ctrl_c_stops_everything(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({"OCRQ_DATA_DIR": str(tmp_path / "state"), "OCRQ_WORKER_CONCURRENCY": "1",
                "OCRQ_ORT_THREADS": "1", "OCRQ_API_WORKERS": "1", "PYTHONUNBUFFERED": "1"})
    metrics_dirs = set(Path(tempfile.gettempdir()).glob("ocrq-metrics-up-*"))
    flower_port = free_port()
    up = subprocess.Popen([str(Path(sys.executable).with_name("ocrq")), "up", "--port", str(port),
                           "--flower", str(flower_port)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = ""
        deadline = time.monotonic() + 90
        while "ocrq is up" not in banner and time.monotonic() < deadline:
            banner = up.stdout.readline()
            assert up.poll() is None, banner
        assert f"http://127.0.0.1:{port}" in banner and "embedded" in banner
        assert (tmp_path / "state" / "redis" / "appendonly.aof").exists() or \
            (tmp_path / "state" / "redis" / "appendonlydir").exists()

        base = f"http://127.0.0.1:{port}"
        ready = None
        for _ in range(100):
            ready = requests.get(f"{base}/readyz", timeout=5)
            if ready.status_code == 200:
                break
            time.sleep(0.2)
        assert ready.status_code == 200, ready.text
        # `ocrq up --flower` (README, Flower): Flower on the embedded Redis, stopped with the rest
        flower = f"http://127.0.0.1:{flower_port}"
        assert wait_for(lambda: answer_text(f"{flower}/healthcheck"), timeout=30) == "OK"
        image = ("a.png", render_png(["一键启动 up"], size=32))
        posted = requests.post(f"{base}/v1/jobs", files={"image": image},
                               timeout=10)
        assert posted.status_code == 202
        doc = requests.get(base + posted.headers["Location"] + "?wait=30", timeout=40).json()
        assert doc["status"] == "succeeded" and doc["result"]["text"].replace(" ", "") == "一键启动up"

        def scrape() -> dict:  # one metrics directory for every process: the API's /metrics has the worker's
            text = requests.get(f"{base}/metrics", timeout=10).text
            return {(s.name, tuple(sorted(s.labels.items()))): s.value
                    for family in text_string_to_metric_families(text) for s in family.samples}

        succeeded = ("ocrq_jobs_finished_total", (("code", ""), ("status", "succeeded")))
        metrics = wait_for(lambda: (found := scrape()).get(succeeded) == 1 and found, timeout=10)
        assert metrics[("ocrq_jobs_submitted_total", (("endpoint", "jobs"),))] == 1
        assert metrics[("ocrq_worker_model_load_seconds_count", (("model", "ppocrv6"),))] == 1

        children = descendants(up.pid)
        assert len(children) >= 5  # redis-server, gunicorn master + worker, celery main + child, Flower
        up.send_signal(signal.SIGINT)
        assert up.wait(timeout=60) == 0
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in children if alive(pid)]
        assert set(Path(tempfile.gettempdir()).glob("ocrq-metrics-up-*")) == metrics_dirs  # removed
    finally:
        if up.poll() is None:
            up.kill()
        for pid in descendants(up.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        up.wait()
        up.stdout.close()
