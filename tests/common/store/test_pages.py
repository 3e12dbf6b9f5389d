"""Document pages in Redis: claims, results recorded once, the result assembled once by the last page, and
the reconciler's view of pages, against a real Redis (its own database)."""

from __future__ import annotations

import pytest
import redis

from ocrq.reconcile import Reconciler
from ocrq.store import BrokerView, JobStore, WorkerRegistry
from ocrq.store.keys import pages_key, upload_key
from ocrq.store.pages import PAGE_SEPARATOR, PageStore
from ocrq.tasks import WORKER_QUEUES, page_task_id
from tests.support.broker import RecordingSender, age, alive, hold

HEAD = {"format": "pdf", "page_count": 3, "dpi": 150}


@pytest.fixture
def stores(redis_server):
    client = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + "/8")
    client.flushdb()
    jobs = JobStore(client, job_ttl=60, upload_ttl=60)
    yield jobs, PageStore(client, job_ttl=60)
    client.flushdb()


def document(jobs: JobStore, job_id: str = "doc", pages: int = 3) -> None:
    jobs.create(job_id, b"%PDF-", {}, document={"format": "pdf", "pages": pages, "dpi": 150})
    assert jobs.claim(job_id, 3, "node-a").should_run  # the split's claim
    jobs.redis.hset(f"ocrq:job:{job_id}", "worker", "")  # the split has sent its pages


def page(n: int, text: str, lines: list | None = None) -> dict:
    return {"page": n, "width": 10, "height": 20, "text": text, "lines": lines if lines is not None else []}


def test_the_last_page_assembles_the_result_in_page_order_once(stores):
    jobs, pages = stores
    document(jobs)
    line = {"text": "二", "confidence": 0.9, "box": [[0, 0], [1, 0], [1, 1], [0, 1]]}
    for n in (3, 1):
        assert pages.claim("doc", n, 3, "node-a", 11).should_run
    assert pages.record("doc", 3, page(3, "three / 三"), HEAD) == "recorded"
    assert pages.record("doc", 1, page(1, ""), HEAD) == "recorded"
    assert pages.record("doc", 1, page(1, "again"), HEAD) == "duplicate"  # a second run changes nothing
    job = jobs.get("doc")
    assert job.status == "running" and job.public()["progress"] == {"done": 2, "total": 3}
    assert pages.claim("doc", 2, 3, "node-b", 12).should_run
    assert pages.record("doc", 2, page(2, "二", [line]), HEAD) == "assembled"

    job = jobs.get("doc")
    assert job.status == "succeeded" and job.public()["progress"] == {"done": 3, "total": 3}
    assert [p["page"] for p in job.result["pages"]] == [1, 2, 3]
    assert job.result["pages"][0]["lines"] == []  # an empty page keeps an empty list, not {}
    assert job.result["pages"][1]["lines"] == [line]
    assert job.result["text"] == PAGE_SEPARATOR.join(["", "二", "three / 三"])
    assert {k: job.result[k] for k in HEAD} == HEAD
    assert not jobs.redis.exists(pages_key("doc")) and not jobs.redis.exists(upload_key("doc"))
    # redelivered after the end: skipped, the result stays as it was
    assert pages.claim("doc", 2, 3, "node-b", 12).verdict == "finished"
    assert pages.record("doc", 2, page(2, "late"), HEAD) == "dropped"
    assert jobs.get("doc").result == job.result


def test_a_page_that_keeps_killing_its_worker_fails_the_document(stores):
    jobs, pages = stores
    document(jobs, pages=2)
    assert [pages.claim("doc", 2, 3).verdict for _ in range(4)] == ["run", "run", "run", "exhausted"]
    job = jobs.get("doc")
    assert job.status == "failed" and job.error["code"] == "worker_lost" and "page 2" in job.error["message"]
    assert pages.claim("doc", 1, 3).verdict == "finished"


def test_claims_refuse_pages_outside_the_document_and_canceled_documents(stores):
    jobs, pages = stores
    document(jobs, pages=2)
    assert {pages.claim("doc", n, 3).verdict for n in (0, 3, -1)} == {"invalid"}
    assert pages.record("doc", 7, page(7, "x"), HEAD) == "invalid"
    assert pages.claim("doc", 1, 3).should_run
    assert jobs.cancel("doc") == "canceled"
    assert pages.record("doc", 1, page(1, "x"), HEAD) == "dropped"
    assert not jobs.redis.exists(pages_key("doc"))
    assert pages.claim("nothing", 1, 3).verdict == "missing"


def test_reconciler_resends_pages_whose_node_is_gone_or_whose_message_is_lost(stores):
    jobs, pages = stores
    document(jobs, pages=4)
    pages.claim("doc", 1, 3, "node-dead")
    pages.claim("doc", 2, 3, "node-alive")
    pages.record("doc", 2, page(2, "done"), HEAD)
    pages.claim("doc", 3, 3, "node-alive")  # running on a live node; its message is held in unacked
    alive(jobs.redis, "node-alive")
    hold(jobs.redis, page_task_id("doc", 3), "node-alive")
    age(jobs, "doc", 5)
    sender = RecordingSender()
    reconciler = Reconciler(jobs, BrokerView(jobs.redis, WORKER_QUEUES, 60), WorkerRegistry(jobs.redis),
                            sender, "node-a", interval=1)
    reconciler.run_once()
    assert sender.sent == ["doc:p1"]  # page 4, never claimed, has no message: a suspect for now
    age(jobs, "doc", 5)
    alive(jobs.redis, "node-alive")
    reconciler.run_once()
    assert sender.sent == ["doc:p1", "doc:p4"]  # page 1 is not sent twice: its node was released
    assert pages.unfinished("doc", 4)[0].node == ""
