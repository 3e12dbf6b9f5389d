"""Scenario 1: a worker's child processes are killed with SIGKILL five times during a run of 200 jobs.

Celery's ``acks_late`` + ``reject_on_worker_lost`` hand each killed job back; the job store's claim and
write-once finish keep a redelivered job from being lost or written twice.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.reliability.harness import (
    Figures,
    fetch_jobs,
    label,
    same_text,
    statuses,
    tiny_png,
    wait_finished,
    writes_per_job,
)
from tests.support.stack import wait_for

pytestmark = pytest.mark.reliability

JOBS, KILLS = 200, 5


def submit_all(base: str, count: int, clients: int = 4) -> dict[str, int]:
    """POST ``count`` tiny jobs from ``clients`` threads; job id -> its number."""

    def post(n: int) -> tuple[str, int]:
        response = requests.post(
            f"{base}/v1/jobs", files={"image": ("a.png", tiny_png(label(n)))}, timeout=30
        )
        assert response.status_code == 202, response.text
        return response.json()["job_id"], n

    with ThreadPoolExecutor(clients) as pool:
        return dict(pool.map(post, range(count)))


def test_killing_worker_children_five_times_loses_nothing(make_stack):
    stack = make_stack(concurrency=2)
    worker, client = stack.workers[0], stack.redis()
    figures = Figures("1. worker children SIGKILLed x5 during 200 jobs")
    kills: list[int] = []

    jobs: dict[str, int] = {}
    submitter = threading.Thread(target=lambda: jobs.update(submit_all(stack.url, JOBS)))
    submitter.start()

    finished_at_kill = 0
    while len(kills) < KILLS * 2:  # two children per kill event
        # Kill while a job is running, once the pool has made some progress since the last kill.
        seen = statuses(client, list(jobs)) if jobs else {}
        done = sum(s == "succeeded" for s in seen.values())
        running = sum(s == "running" for s in seen.values())
        if running and done >= finished_at_kill + 5 and len(worker.children()) == 2:
            for pid in worker.children():
                os.kill(pid, signal.SIGKILL)
                kills.append(pid)
            finished_at_kill = done
        assert done < JOBS, f"the run ended after {len(kills) // 2} kill events"
        assert jobs or submitter.is_alive(), "the submissions failed"
        assert time.monotonic() - figures._start < 300, "no progress: not hung, but stuck"
        time.sleep(0.02)
    submitter.join(60)
    figures.sent = figures.accepted = len(jobs)

    final = wait_finished(client, list(jobs), timeout=180)
    figures.stop_clock()
    docs = fetch_jobs(stack.url, list(jobs))
    writes = writes_per_job(stack.worker_logs())
    figures.completed = sum(d["status"] == "succeeded" for d in docs.values())
    figures.failed = sum(d["status"] == "failed" for d in docs.values())
    figures.lost = sum(s not in ("succeeded", "failed") for s in final.values())
    figures.duplicated = sum(1 for job_id in jobs if writes[job_id] > 1)
    wrong = [
        job_id
        for job_id, n in jobs.items()
        if docs[job_id]["status"] == "succeeded" and not same_text(docs[job_id]["result"]["text"], label(n))
    ]
    redelivered = sum(1 for d in docs.values() if d.get("attempts", 0) > 1)
    figures.extra = {
        "kill_events": len(kills) // 2,
        "processes_killed": len(kills),
        "redelivered": redelivered,
        "wrong_text": len(wrong),
    }
    figures.report()

    assert figures.sent == JOBS
    assert figures.completed == JOBS, {j: d for j, d in docs.items() if d["status"] != "succeeded"}
    assert figures.lost == 0 and figures.failed == 0
    assert figures.duplicated == 0, [j for j in jobs if writes[j] > 1]
    # A result is written at most once (a child killed between the write and its log line logs none).
    assert all(writes[job_id] <= 1 for job_id in jobs)
    assert not wrong
    assert redelivered >= 1  # the kills did land on running jobs
    wait_for(lambda: len(worker.children()) == 2, timeout=30)  # the pool replaced every victim
    assert worker.process.poll() is None
