"""Scenario 2: a worker stopped while jobs are running and queued.

SIGTERM is Celery's warm shutdown: running jobs finish, queued ones stay for the next worker (in the
broker, or held over the open API's cap on tasks in flight: README, Fair sharing). An orchestrator that
loses patience (``docker stop`` sends SIGKILL after its grace period) kills the running jobs: they are
handed back (the job store notices their worker's heartbeat is gone) and finish on the next worker.
Nothing is lost either way.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import requests

from ocrq.store.shares import ShareStore
from ocrq.tasks import OCR_QUEUE
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

QUEUED = 10


def post_jobs(base: str, slow: int, sleep: float, queued: int) -> tuple[list[str], dict[str, int]]:
    with requests.Session() as http:

        def post(n: int, **fields: str) -> str:
            response = http.post(
                f"{base}/v1/jobs", files={"image": ("s.png", tiny_png(label(n)))}, data=fields, timeout=30
            )
            assert response.status_code == 202, response.text
            return response.json()["job_id"]

        slow_ids = [post(9000 + k, fault=f"sleep:{sleep:g}") for k in range(slow)]
        return slow_ids, {post(n): n for n in range(queued)}


def test_sigterm_finishes_running_jobs_and_leaves_queued_ones_for_the_next_worker(make_stack):
    stack = make_stack(concurrency=2)
    client, first = stack.redis(), stack.workers[0]
    figures = Figures("2a. worker SIGTERM (warm shutdown) with 2 running + 10 queued jobs")
    slow, quick = post_jobs(stack.url, slow=2, sleep=4, queued=QUEUED)
    wait_for(lambda: list(statuses(client, slow).values()) == ["running", "running"], timeout=60)
    started = time.monotonic()
    first.process.send_signal(signal.SIGTERM)
    first.process.wait(60)  # liveness bound: a warm shutdown ends once the running jobs are done
    shutdown_seconds = round(time.monotonic() - started, 1)
    at_exit = statuses(client, [*slow, *quick])
    in_queue = client.llen(OCR_QUEUE)
    held = len(ShareStore(client).held(""))

    stack.add_worker()
    final = wait_finished(client, [*slow, *quick], timeout=120)
    figures.stop_clock()
    docs = fetch_jobs(stack.url, [*slow, *quick])
    writes = writes_per_job(stack.worker_logs())
    figures.sent = figures.accepted = len(slow) + len(quick)
    figures.completed = sum(d["status"] == "succeeded" for d in docs.values())
    figures.failed = sum(d["status"] == "failed" for d in docs.values())
    figures.lost = sum(s != "succeeded" for s in final.values())
    figures.duplicated = sum(1 for j in docs if writes[j] > 1)
    figures.extra = {
        "shutdown_seconds": shutdown_seconds,
        "running_finished_before_exit": sum(at_exit[j] == "succeeded" for j in slow),
        "left_queued_in_broker": in_queue,
        "left_held": held,
    }
    figures.report()

    assert first.process.returncode == 0
    assert [at_exit[j] for j in slow] == ["succeeded", "succeeded"]  # warm shutdown let them finish
    assert all(at_exit[j] in ("queued", "succeeded") for j in quick)  # none half-run, none failed
    assert in_queue + held == sum(at_exit[j] == "queued" for j in quick) > 0  # in the broker, or held
    assert figures.completed == figures.sent and figures.lost == 0 and figures.duplicated == 0
    assert all(same_text(docs[j]["result"]["text"], label(n)) for j, n in quick.items())


def test_sigkill_after_a_short_grace_period_hands_running_jobs_back(make_stack):
    stack = make_stack(concurrency=2, OCRQ_RECONCILE_INTERVAL="2")
    client, first = stack.redis(), stack.workers[0]
    figures = Figures("2b. worker SIGTERM then SIGKILL after 2 s (running jobs killed) + 10 queued")
    slow, quick = post_jobs(stack.url, slow=2, sleep=6, queued=QUEUED)
    wait_for(lambda: list(statuses(client, slow).values()) == ["running", "running"], timeout=60)
    first.process.send_signal(signal.SIGTERM)
    time.sleep(2)
    os.killpg(first.process.pid, signal.SIGKILL)  # what an orchestrator does when the grace period ends
    first.process.wait(10)
    killed_at = time.monotonic()
    assert list(statuses(client, slow).values()) == ["running", "running"]  # they died mid-job

    stack.add_worker()
    final = wait_finished(client, [*slow, *quick], timeout=120)
    figures.stop_clock()
    docs = fetch_jobs(stack.url, [*slow, *quick])
    figures.sent = figures.accepted = len(slow) + len(quick)
    figures.completed = sum(d["status"] == "succeeded" for d in docs.values())
    figures.failed = sum(d["status"] == "failed" for d in docs.values())
    figures.lost = sum(s != "succeeded" for s in final.values())
    figures.duplicated = sum(1 for j in docs if writes_per_job(stack.worker_logs())[j] > 1)
    figures.extra = {
        "recovered_after_kill_seconds": round(time.monotonic() - killed_at, 1),
        "slow_attempts": [docs[j]["attempts"] for j in slow],
    }
    figures.report()

    assert figures.completed == figures.sent, {j: d["status"] for j, d in docs.items()}
    assert figures.lost == 0 and figures.duplicated == 0
    assert all(docs[j]["attempts"] == 2 for j in slow)  # the killed delivery, then the one that finished
    assert all(same_text(docs[j]["result"]["text"], label(n)) for j, n in quick.items())
