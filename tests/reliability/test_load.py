"""Scenario 6: 1,000 jobs from 50 concurrent clients, each posting then long-polling its jobs.

The queue limit is set low (OCRQ_MAX_QUEUE_DEPTH=20) so that back-pressure happens: a client that gets
429 waits as ``Retry-After`` says (capped at 1 s here) and posts again. No other error is allowed, and
every accepted job completes.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests

from tests.reliability.harness import Figures, label, percentile, same_text, tiny_png, writes_per_job

pytestmark = pytest.mark.reliability

CLIENTS, PER_CLIENT = 50, 20


def test_a_thousand_jobs_from_fifty_clients(make_stack):
    stack = make_stack(concurrency=2, OCRQ_MAX_QUEUE_DEPTH="20")
    for n in range(CLIENTS * PER_CLIENT):
        tiny_png(label(n))  # rendered before the clock starts
    figures = Figures(f"6. load: {CLIENTS * PER_CLIENT} jobs from {CLIENTS} concurrent clients")
    lock = threading.Lock()
    submit_seconds: list[float] = []
    codes: Counter = Counter()
    outcomes: dict[str, tuple[int, dict]] = {}
    failures: list[str] = []

    def client(k: int) -> None:
        with requests.Session() as http:
            for i in range(PER_CLIENT):
                n = k * PER_CLIENT + i
                while True:
                    started = time.monotonic()
                    response = http.post(
                        f"{stack.url}/v1/jobs", files={"image": ("l.png", tiny_png(label(n)))}, timeout=60
                    )
                    with lock:
                        submit_seconds.append(time.monotonic() - started)
                        codes[response.status_code] += 1
                    if response.status_code != 429:
                        break
                    assert response.json()["error"]["code"] == "queue_full"
                    time.sleep(min(float(response.headers["Retry-After"]), 1.0))
                if response.status_code != 202:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                    continue
                job_id = response.json()["job_id"]
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    doc = http.get(f"{stack.url}/v1/jobs/{job_id}?wait=30", timeout=60).json()
                    if doc["status"] in ("succeeded", "failed", "canceled"):
                        break
                with lock:
                    outcomes[job_id] = (n, doc)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    figures.stop_clock()
    writes = writes_per_job(stack.worker_logs())
    accepted = codes[202]
    figures.sent = CLIENTS * PER_CLIENT
    figures.accepted = accepted
    figures.completed = sum(doc["status"] == "succeeded" for _, doc in outcomes.values())
    figures.failed = sum(doc["status"] == "failed" for _, doc in outcomes.values())
    figures.lost = accepted - figures.completed - figures.failed
    figures.duplicated = sum(1 for j in outcomes if writes[j] > 1)
    figures.extra = {
        "answers": dict(sorted(codes.items())),
        "submit_p50_ms": round(percentile(submit_seconds, 50) * 1000, 1),
        "submit_p99_ms": round(percentile(submit_seconds, 99) * 1000, 1),
        "submit_max_ms": round(max(submit_seconds) * 1000, 1),
        "jobs_per_s": round(figures.completed / figures.seconds, 1),
    }
    figures.report()

    assert not any(thread.is_alive() for thread in threads)
    assert not failures, failures[:5]
    assert set(codes) <= {202, 429}, codes
    assert codes[429] > 0  # back-pressure did happen, and the clients got through it
    assert accepted == CLIENTS * PER_CLIENT  # every job got in, after back-pressure
    assert figures.completed == accepted and figures.lost == 0 and figures.duplicated == 0
    assert all(same_text(doc["result"]["text"], label(n)) for n, doc in outcomes.values())
