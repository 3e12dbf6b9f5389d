"""Scenario 3: Redis restarts during a run (append-only file on, as embedded and Compose run it).

While Redis is down the API answers 503 JSON quickly (no hang, no 500); when it is back, the API and the
workers recover by themselves and every job that was answered 202 completes.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

from ocrq.tasks import OCR_QUEUE
from tests.reliability.harness import (
    Figures,
    fetch_jobs,
    label,
    same_text,
    tiny_png,
    wait_finished,
    writes_per_job,
)
from tests.support.stack import wait_for

pytestmark = pytest.mark.reliability

CLIENTS, DOWN_SECONDS = 4, 6


def test_redis_restart_mid_run_loses_no_accepted_job(make_stack):
    stack = make_stack(concurrency=2)
    figures = Figures(f"3. Redis restarted mid-run (down {DOWN_SECONDS} s), 4 clients posting throughout")
    accepted: dict[str, int] = {}
    answers: list[tuple[int, float, str | None]] = []  # status, seconds, error code
    lock, stop = threading.Lock(), threading.Event()
    counter = iter(range(1_000_000))

    def client_loop() -> None:
        with requests.Session() as http:
            while not stop.is_set():
                with lock:
                    n = next(counter)
                started = time.monotonic()
                try:
                    response = http.post(
                        f"{stack.url}/v1/jobs", files={"image": ("r.png", tiny_png(label(n)))}, timeout=60
                    )
                except requests.RequestException as exc:
                    answers.append((0, time.monotonic() - started, type(exc).__name__))
                    continue
                elapsed = time.monotonic() - started
                body = response.json()  # always JSON, errors too
                with lock:
                    answers.append((response.status_code, elapsed, body.get("error", {}).get("code")))
                    if response.status_code == 202:
                        accepted[body["job_id"]] = n
                time.sleep(0.05)

    threads = [threading.Thread(target=client_loop) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(accepted) >= 40, timeout=60)

    stack.stop_redis()
    down_at = time.monotonic()
    time.sleep(1)
    with requests.Session() as http:  # reads and health while Redis is down
        some_job = next(iter(accepted))
        read_down = http.get(f"{stack.url}/v1/jobs/{some_job}", timeout=30)
        poll_down = http.get(f"{stack.url}/v1/jobs/{some_job}?wait=5", timeout=30)
        ready_down = http.get(f"{stack.url}/readyz", timeout=30)
        health_down = http.get(f"{stack.url}/healthz", timeout=30)
    time.sleep(max(0.0, DOWN_SECONDS - (time.monotonic() - down_at)))
    during = len(answers)
    stack.start_redis()
    up_at = time.monotonic()
    before_up = len(accepted)
    wait_for(lambda: len(accepted) >= before_up + 40, timeout=90)  # the API serves again, by itself
    first_accept_after_up = round(time.monotonic() - up_at, 1)
    stop.set()
    for thread in threads:
        thread.join(60)

    final = wait_finished(stack.redis(), list(accepted), timeout=150)
    figures.stop_clock()
    docs = fetch_jobs(stack.url, list(accepted))
    writes = writes_per_job(stack.worker_logs())
    statuses = [a[0] for a in answers]
    outage = answers[:during]
    figures.sent = len(answers)
    figures.accepted = len(accepted)
    figures.completed = sum(d["status"] == "succeeded" for d in docs.values())
    figures.failed = sum(d["status"] == "failed" for d in docs.values())
    figures.lost = sum(s != "succeeded" for s in final.values())
    figures.duplicated = sum(1 for j in accepted if writes[j] > 1)
    figures.extra = {
        "answers_503": statuses.count(503),
        "answers_5xx_other": sum(s >= 500 and s != 503 for s in statuses),
        "no_answer": statuses.count(0),
        "slowest_answer_s": round(max(a[1] for a in outage), 2),
        "recovered_within_s": first_accept_after_up,
    }
    figures.report()

    assert read_down.status_code == 503 and read_down.json()["error"]["code"] == "service_unavailable"
    assert poll_down.status_code == 503 and poll_down.json()["error"]["code"] == "service_unavailable"
    assert ready_down.status_code == 503 and health_down.status_code == 200
    assert statuses.count(503) > 0  # the outage was seen, and answered
    assert set(statuses) <= {202, 503}, sorted(set(statuses))
    assert all(a[2] == "service_unavailable" for a in answers if a[0] == 503)
    assert max(a[1] for a in answers) < 30  # liveness: every answer came, none hung
    assert figures.completed == figures.accepted and figures.lost == 0 and figures.duplicated == 0
    assert all(same_text(docs[j]["result"]["text"], label(n)) for j, n in accepted.items())
    assert all(w.process.poll() is None for w in stack.workers)


def test_a_job_whose_broker_message_was_lost_is_enqueued_again(make_stack):
    """A Redis crash can keep a job's record and lose its task message (or the other way round): the
    reconciler finds queued jobs with no message and enqueues them again."""
    # 5 tasks in flight for the open API, so that all 5 are sent (the default is 1 with no worker live)
    stack = make_stack(workers=0, OCRQ_RECONCILE_INTERVAL="1", OCRQ_KEY_IN_FLIGHT="5")
    client = stack.redis()
    figures = Figures("3b. broker messages lost while jobs were queued (reconciler re-enqueues)")
    with requests.Session() as http:
        jobs = {}
        for n in range(5):
            response = http.post(
                f"{stack.url}/v1/jobs", files={"image": ("m.png", tiny_png(label(n)))}, timeout=30
            )
            assert response.status_code == 202
            jobs[response.json()["job_id"]] = n
    assert client.llen(OCR_QUEUE) == 5
    client.delete(OCR_QUEUE)  # the messages are gone; the records remain
    lost_at = time.monotonic()
    stack.add_worker()
    final = wait_finished(client, list(jobs), timeout=90)
    figures.stop_clock()
    docs = fetch_jobs(stack.url, list(jobs))
    figures.sent = figures.accepted = len(jobs)
    figures.completed = sum(d["status"] == "succeeded" for d in docs.values())
    figures.lost = sum(s != "succeeded" for s in final.values())
    figures.extra = {
        "recovered_after_s": round(time.monotonic() - lost_at, 1),
        "reenqueued_logged": stack.worker_logs().count("has no task message: sent again"),
    }
    figures.report()

    assert figures.completed == len(jobs) and figures.lost == 0
    assert all(same_text(docs[j]["result"]["text"], label(n)) for j, n in jobs.items())
    assert all(d["attempts"] == 1 for d in docs.values())
    assert figures.extra["reenqueued_logged"] == len(jobs)
