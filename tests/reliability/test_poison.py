"""Scenario 4: a job whose processing kills its worker process every time.

It ends ``failed`` (``worker_lost``) after OCRQ_MAX_ATTEMPTS deliveries, and the jobs queued behind it,
on a single-process worker, all complete.
"""

from __future__ import annotations

import pytest
import requests

from tests.reliability.harness import (
    Figures,
    fetch_jobs,
    label,
    same_text,
    tiny_png,
    wait_finished,
    writes_per_job,
)

pytestmark = pytest.mark.reliability

BEHIND = 30


def test_poison_job_fails_after_max_attempts_and_the_queue_keeps_flowing(make_stack):
    stack = make_stack(concurrency=1, OCRQ_MAX_ATTEMPTS="3")
    figures = Figures("4. poison job (kills its worker process every time) + 30 jobs behind it")
    with requests.Session() as http:

        def post(n: int, **fields: str) -> str:
            response = http.post(
                f"{stack.url}/v1/jobs",
                files={"image": ("p.png", tiny_png(label(n)))},
                data=fields,
                timeout=30,
            )
            assert response.status_code == 202, response.text
            return response.json()["job_id"]

        poison = post(9999, fault="crash")
        behind = {post(n): n for n in range(BEHIND)}
    figures.sent = figures.accepted = 1 + BEHIND
    final = wait_finished(stack.redis(), [poison, *behind], timeout=150)
    figures.stop_clock()
    docs = fetch_jobs(stack.url, [poison, *behind])
    writes = writes_per_job(stack.worker_logs())
    figures.completed = sum(docs[j]["status"] == "succeeded" for j in behind)
    figures.failed = sum(d["status"] == "failed" for d in docs.values())
    figures.lost = sum(s not in ("succeeded", "failed") for s in final.values())
    figures.duplicated = sum(1 for j in behind if writes[j] > 1)
    crashes = stack.worker_logs().count("exited with 'signal 9 (SIGKILL)'")
    figures.extra = {
        "poison_status": docs[poison]["status"],
        "poison_attempts": docs[poison]["attempts"],
        "poison_error": (docs[poison]["error"] or {}).get("code"),
        "worker_processes_lost": crashes,
    }
    figures.report()

    assert docs[poison]["status"] == "failed"
    assert docs[poison]["error"]["code"] == "worker_lost" and "3 times" in docs[poison]["error"]["message"]
    assert docs[poison]["attempts"] == 4  # three deliveries killed the process; the fourth gave it up
    assert crashes == 3
    assert figures.completed == BEHIND and figures.lost == 0 and figures.duplicated == 0
    assert all(same_text(docs[j]["result"]["text"], label(n)) for j, n in behind.items())
    assert stack.workers[0].process.poll() is None and len(stack.workers[0].children()) == 1
