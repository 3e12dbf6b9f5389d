"""Scenario 7: uploads and results disappear after their TTLs, and Redis returns to its baseline.

TTLs are shortened for the run (results 12 s, uploads 5 s). A worker busy with a slow job lets three
uploads expire in the queue: those jobs end ``failed`` with ``upload_expired`` instead of waiting
forever. In the end no job key, upload, pending entry or broker message is left behind.
"""

from __future__ import annotations

import time

import pytest
import requests

from ocrq.store.keys import PENDING, UNACKED
from ocrq.tasks import OCR_QUEUE
from tests.reliability.harness import Figures, label, tiny_png, wait_finished
from tests.support.stack import wait_for

pytestmark = pytest.mark.reliability

JOB_TTL, UPLOAD_TTL = 12, 5


def test_uploads_and_results_expire_and_redis_returns_to_its_baseline(make_stack):
    stack = make_stack(
        concurrency=1,
        OCRQ_JOB_TTL_SECONDS=str(JOB_TTL),
        OCRQ_UPLOAD_TTL_SECONDS=str(UPLOAD_TTL),
        OCRQ_RECONCILE_INTERVAL="2",
    )
    client = stack.redis()
    figures = Figures(f"7. expiry (results {JOB_TTL} s, uploads {UPLOAD_TTL} s) and Redis baseline")
    time.sleep(3)  # let the worker's heartbeat and the reconciler's lock settle into the baseline
    baseline_keys = client.dbsize()
    baseline_memory = client.info("memory")["used_memory"]

    with requests.Session() as http:

        def post(n: int, **fields: str) -> str:
            response = http.post(
                f"{stack.url}/v1/jobs",
                files={"image": ("e.png", tiny_png(label(n)))},
                data=fields,
                timeout=30,
            )
            assert response.status_code == 202, response.text
            return response.json()["job_id"]

        done = [post(n) for n in range(10)]
        assert set(wait_finished(client, done, timeout=60).values()) == {"succeeded"}
        uploads_after_success = sum(client.exists(f"ocrq:upload:{j}") for j in done)

        blocker = post(100, fault=f"sleep:{UPLOAD_TTL + 3}")
        starved = [post(n) for n in range(200, 203)]
        uploads_while_queued = sum(client.exists(f"ocrq:upload:{j}") for j in starved)
        final = wait_finished(client, [blocker, *starved], timeout=90)
        starved_docs = [http.get(f"{stack.url}/v1/jobs/{j}", timeout=30).json() for j in starved]

        everything = [*done, blocker, *starved]
        readable = sum(
            http.get(f"{stack.url}/v1/jobs/{j}", timeout=30).status_code == 200 for j in everything
        )
        wait_for(
            lambda: not any(client.exists(f"ocrq:job:{j}") for j in everything),
            timeout=JOB_TTL + 30,
            interval=0.5,
        )
        gone = sum(http.get(f"{stack.url}/v1/jobs/{j}", timeout=30).status_code == 404 for j in everything)
    wait_for(lambda: not client.exists(PENDING), timeout=30)
    leftovers = sorted(
        k.decode()
        for k in client.scan_iter(match="ocrq:*")
        if k not in (b"ocrq:workers", b"ocrq:workers:processes", b"ocrq:reconciler")
    )
    after_keys = client.dbsize()
    after_memory = client.info("memory")["used_memory"]
    figures.stop_clock()
    figures.sent = figures.accepted = len(everything)
    figures.completed = len(done) + (final[blocker] == "succeeded")
    figures.failed = sum(d["status"] == "failed" for d in starved_docs)
    figures.extra = {
        "uploads_left_after_success": uploads_after_success,
        "uploads_while_queued": uploads_while_queued,
        "starved_jobs_error": sorted({(d.get("error") or {}).get("code") for d in starved_docs}),
        "404_after_ttl": gone,
        "redis_keys": [baseline_keys, after_keys],
        "redis_used_memory_kb": [round(baseline_memory / 1024), round(after_memory / 1024)],
    }
    figures.report()

    assert uploads_after_success == len(done)  # kept with the result (OCRQ_KEEP_UPLOADS), gone with it
    assert uploads_while_queued == 3
    assert final[blocker] == "succeeded"
    assert [d["status"] for d in starved_docs] == ["failed"] * 3
    assert all(d["error"]["code"] == "upload_expired" for d in starved_docs)
    assert readable == len(everything)  # results are there until their TTL...
    assert gone == len(everything)  # ...and gone after it
    assert leftovers == [] and client.llen(OCR_QUEUE) == 0 and not client.exists(UNACKED)
    assert after_keys <= baseline_keys
    assert after_memory - baseline_memory < 1024 * 1024
