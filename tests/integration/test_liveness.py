"""No job is left ``running`` or ``queued`` for a task that is gone, with real workers on a real Redis
(a database of their own): each case ends well inside the bound the reconciler states (ocrq/reconcile.py).

- A pool process stopped (SIGSTOP) while it runs a job: Celery kills it at the hard time limit and
  acknowledges the message; the reconciler finds the job running on a live node with no message and sends
  it again, and the next attempt succeeds.
- A worker's main process SIGKILLed while one job runs and another waits, received but not started: both
  messages are in kombu's ``unacked`` hash; once the node's heartbeat is stale the reconciler of another
  node hands them back at once (not after the visibility timeout: 2 x 8 + 60 = 76 s here, 360 s by
  default) and both succeed.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis

from ocrq.config import Settings
from ocrq.queue import JobQueue
from ocrq.store import WorkerRegistry
from ocrq.store.keys import UNACKED, reservation_key
from tests.support.render import render_png
from tests.support.stack import WorkerProcess, wait_for

# Room for a `sleep:2` job plus a fresh node's first page (over 1 s) on a loaded machine.
LIMITS = {"OCRQ_TASK_SOFT_TIME_LIMIT": "5", "OCRQ_TASK_TIME_LIMIT": "8", "OCRQ_RECONCILE_INTERVAL": "2"}


@pytest.fixture
def database(redis_server):
    """(url, JobQueue) on a database no other worker uses; emptied before and after."""
    url = redis_server.url.rsplit("/", 1)[0] + "/11"
    client = redis.Redis.from_url(url)
    client.flushdb()
    settings = Settings(redis_url=url, task_soft_time_limit=5, task_time_limit=8, fault_injection=True)
    yield url, JobQueue(settings)
    client.flushdb()


def submit(queue: JobQueue, text: str, **options: str) -> str:
    return queue.submit(render_png([text], size=24), {"enhance": "off", **options}).job_id


def running(queue: JobQueue, job_id: str) -> bool:
    job = queue.store.get(job_id)
    return job is not None and job.status == "running"


def test_a_job_whose_process_was_stopped_past_the_hard_limit_runs_again(database, tmp_path):
    url, queue = database
    worker = WorkerProcess(url, tmp_path / "worker.log", concurrency=1, **LIMITS).start()
    try:
        job_id = submit(queue, "Stopped 1", fault="sleep:1")
        wait_for(lambda: running(queue, job_id), timeout=30)
        (child,) = worker.children()
        os.kill(child, signal.SIGSTOP)
        stopped = time.monotonic()
        job = wait_for(lambda: (j := queue.store.get(job_id)) is not None and j.finished and j, timeout=60)
        took = time.monotonic() - stopped
    finally:
        worker.stop()
    print(f"[liveness] SIGSTOP past the hard limit: succeeded on attempt {job.attempts}, {took:.1f} s later")
    assert job.status == "succeeded" and job.attempts == 2, job
    assert "Stopped" in job.result["text"]
    log = worker.log()
    assert "Hard time limit (8" in log and "ran on" in log and "ended without ending it: sent again" in log
    # hard limit 8 s + a stale interval 2 s + one suspect pass 2 s + the pass period 2 s + the rerun
    assert took < 8 + 3 * 2 + 10, took


def test_a_killed_nodes_running_and_reserved_jobs_are_handed_back_at_once(database, tmp_path):
    url, _ = database
    # two messages at a time for one process: the second is received and waits, not started (two tasks
    # in flight for the key, not the default one per process: README, Fair sharing)
    queue = JobQueue(Settings(redis_url=url, task_soft_time_limit=3, task_time_limit=6, fault_injection=True,
                              key_in_flight=2))
    client = queue.redis
    first = WorkerProcess(url, tmp_path / "first.log", concurrency=1, args=("--prefetch-multiplier", "2"),
                          OCRQ_KEY_IN_FLIGHT="2", **LIMITS).start()
    try:
        running_id = submit(queue, "Running 1", fault="sleep:2")
        wait_for(lambda: running(queue, running_id), timeout=30)
        reserved_id = submit(queue, "Reserved 2")
        wait_for(lambda: client.exists(reservation_key(reserved_id)), timeout=30)
        assert queue.store.get(reserved_id).status == "queued" and client.hlen(UNACKED) == 2
        os.kill(first.process.pid, signal.SIGKILL)
        killed = time.monotonic()
        first.process.wait()
        second = WorkerProcess(url, tmp_path / "second.log", concurrency=1, OCRQ_KEY_IN_FLIGHT="2",
                               **LIMITS).start()
        try:
            jobs = {job_id: wait_for(lambda j=job_id: (d := queue.store.get(j)) is not None and d.finished
                                     and d, timeout=60)
                    for job_id in (running_id, reserved_id)}
            took = time.monotonic() - killed
        finally:
            second.stop()
    finally:
        first.stop()
        for pid in first.children():  # the killed node's orphaned pool process, if it lingers
            os.kill(pid, signal.SIGKILL)
    print(f"[liveness] SIGKILL of the main process: running and reserved jobs succeeded {took:.1f} s after")
    assert {j: d.status for j, d in jobs.items()} == {running_id: "succeeded", reserved_id: "succeeded"}
    assert jobs[running_id].attempts == 2 and jobs[reserved_id].attempts == 1
    assert not client.hlen(UNACKED)  # both messages were handed back, not left for the visibility timeout
    assert second.log().count("which is gone") >= 2
    assert WorkerRegistry(client).live() == set()
    # the node is stale 15 s after its last heartbeat, then a pass (2 s), then the jobs run (2 s + 1 s)
    assert took < 15 + 2 * 2 + 15, took
